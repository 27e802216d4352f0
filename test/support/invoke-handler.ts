/**
 * Runs one handler in this process, outside any test runner's VM context (so Node's
 * socket errors are the realm's own, as in Lambda): `tsx invoke-handler.ts <module>
 * <event JSON> <remaining ms>`. Prints `{ result }` or `{ error: { name, message } }`
 * as one JSON line; the handler's configuration comes from the environment.
 */
import { pathToFileURL } from 'node:url';

const [modulePath, eventJson, remainingMs] = process.argv.slice(2);
if (modulePath === undefined || eventJson === undefined) {
  throw new Error('usage: invoke-handler.ts <module> <event JSON> [remaining ms]');
}
const deadline = Date.now() + Number(remainingMs ?? 60_000);
const context = { getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) };
const { handler } = (await import(pathToFileURL(modulePath).href)) as {
  handler: (event: unknown, context: unknown) => Promise<unknown>;
};
try {
  process.stdout.write(
    `${JSON.stringify({ result: await handler(JSON.parse(eventJson), context) })}\n`,
  );
} catch (error) {
  const { name, message } = error as Error;
  process.stdout.write(`${JSON.stringify({ error: { name, message } })}\n`);
}
