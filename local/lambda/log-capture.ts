import type { Writable } from 'node:stream';

/**
 * Runs `load` (which imports handler modules) while process.stdout and
 * process.stderr point at `stream`. The Powertools Logger binds its Console to
 * the streams it finds at construction, so the handlers' structured logs go to
 * `stream` for good — like CloudWatch Logs, away from the terminal UI — while
 * the rest of the process keeps the real terminal.
 */
export async function importWithLogsTo<T>(stream: Writable, load: () => Promise<T>): Promise<T> {
  const original = {
    stdout: Object.getOwnPropertyDescriptor(process, 'stdout'),
    stderr: Object.getOwnPropertyDescriptor(process, 'stderr'),
  };
  const redirect = (name: 'stdout' | 'stderr') => {
    try {
      Object.defineProperty(process, name, { value: stream, configurable: true, writable: true });
    } catch {
      // A host that pins the property (some test runners): logs stay on the terminal.
    }
  };
  redirect('stdout');
  redirect('stderr');
  try {
    return await load();
  } finally {
    for (const name of ['stdout', 'stderr'] as const) {
      const descriptor = original[name];
      if (descriptor) {
        try {
          Object.defineProperty(process, name, descriptor);
        } catch {
          // see above
        }
      }
    }
  }
}
