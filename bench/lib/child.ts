import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The message a child sends back over IPC. */
type ChildMessage<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

/** Options for one measurement child. */
export interface ChildOptions {
  /** Extra environment on top of the parent's. */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill the child and fail after this long. */
  readonly timeoutMs: number;
  /** Run plain JavaScript without the TypeScript loader (import-time measurements). */
  readonly plain?: boolean;
  /** Extra Node.js flags, e.g. `--expose-gc`. */
  readonly nodeArgs?: readonly string[];
  /** Messages other than the result (a child's progress, e.g. `{ ready: true }`), with the child. */
  readonly onMessage?: (message: unknown, child: ChildProcess) => void;
}

/**
 * Runs `module` (a bench child) in a fresh Node.js process (the same Node 24 binary)
 * and resolves with the value it reports over IPC. A fresh process is the only
 * honest way to measure peak RSS and cold import time. Handler logs on the child's
 * stdout are discarded; stderr is kept for the error message.
 */
export function runChild<T>(
  module: URL,
  args: readonly string[],
  options: ChildOptions,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = fork(fileURLToPath(module), [...args], {
      execArgv: [...(options.plain ? [] : ['--import', 'tsx']), ...(options.nodeArgs ?? [])],
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let stderr = '';
    let settled = false;
    child.stdout?.resume();
    child.stderr?.on('data', (data: Buffer) => {
      stderr = (stderr + data.toString('utf8')).slice(-4000);
    });
    const timer = setTimeout(() => {
      finish(new Error(`${describe(module)} did not finish within ${options.timeoutMs} ms`));
      child.kill('SIGKILL');
    }, options.timeoutMs);

    function finish(error: Error | undefined, value?: T): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(value as T);
    }

    child.on('message', (message: ChildMessage<T>) => {
      if (typeof message !== 'object' || message === null || !('ok' in message)) {
        options.onMessage?.(message, child);
        return;
      }
      if (message.ok) finish(undefined, message.value);
      else finish(new Error(`${describe(module)} failed: ${message.error}`));
    });
    child.on('error', (error) => finish(error));
    child.on('exit', (code, signal) => {
      finish(
        new Error(
          `${describe(module)} exited (${signal ?? `code ${code}`}) without a result${stderr ? `:\n${stderr}` : ''}`,
        ),
      );
    });
  });
}

/**
 * The child side: runs `work`, reports its value (or error) to the parent and exits,
 * so lingering handles (SDK sockets, timers) never keep a measurement process alive.
 */
export async function reportToParent<T>(work: () => Promise<T>): Promise<void> {
  if (!process.send) throw new Error('a bench child must be started by runChild (no IPC channel)');
  let message: ChildMessage<T>;
  try {
    message = { ok: true, value: await work() };
  } catch (error) {
    message = {
      ok: false,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
  process.send(message, () => process.exit(message.ok ? 0 : 1));
}

function describe(module: URL): string {
  return fileURLToPath(module).split('/bench/').pop() ?? module.href;
}
