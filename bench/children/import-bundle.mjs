// Bench child (plain JavaScript, no TypeScript loader, so nothing but Node.js itself
// is on the import path): imports one handler bundle in this fresh process and reports
// how long the import took, i.e. the init-phase cost the bundle adds to a cold start.
import { pathToFileURL } from 'node:url';

const [bundlePath] = process.argv.slice(2);
if (!bundlePath || !process.send) {
  throw new Error('usage: forked by bench/lib/child.ts with the bundle path as argument');
}

let message;
try {
  const start = performance.now();
  const module = await import(pathToFileURL(bundlePath).href);
  const importMs = performance.now() - start;
  if (typeof module.handler !== 'function') throw new Error(`${bundlePath} exports no handler`);
  message = { ok: true, value: { importMs } };
} catch (error) {
  message = {
    ok: false,
    error: error instanceof Error ? (error.stack ?? error.message) : String(error),
  };
}
process.send(message, () => process.exit(message.ok ? 0 : 1));
