import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import dynalite from 'dynalite';
import { bindError, close, listen, type PortSpec } from '../ports.js';

/** Options of the DynamoDB emulator. */
export interface DynamoDbOptions {
  readonly port: PortSpec;
  /** LevelDB directory; in memory when undefined. */
  readonly dataDir?: string;
}

/** A running dynalite server. */
export interface DynamoDbEmulator {
  readonly port: number;
  /** Stops it; LevelDB is closed cleanly, so data on disk stays intact. */
  stop(): Promise<void>;
}

/** Starts dynalite on 127.0.0.1, persisted under `dataDir` unless in memory. */
export async function startDynamoDb(options: DynamoDbOptions): Promise<DynamoDbEmulator> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  // Tables become ACTIVE quickly: nothing here models provisioning delays.
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dataDir ? { path: options.dataDir } : {}),
  });
  const port = await listen(server, options.port);
  return { port, stop: () => close(server) };
}

/**
 * Starts dynalite in a child process. On two cores this keeps its request
 * handling off the event loop that runs the handlers (measured in docs/local.md).
 * The child exits when this process does, even if this one is killed.
 */
export async function startDynamoDbProcess(options: DynamoDbOptions): Promise<DynamoDbEmulator> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const child = fork(
    fileURLToPath(new URL('./dynamodb-child.mjs', import.meta.url)),
    [String(options.port.port), options.dataDir ?? ''],
    { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`dynalite exited with code ${code}`));
    child.once('exit', onExit);
    child.once('message', (message: { port?: number; error?: string }) => {
      child.off('exit', onExit);
      if (message.port !== undefined) resolve(message.port);
      else if (message.error === 'EADDRINUSE')
        reject(bindError(options.port, { code: 'EADDRINUSE' }));
      else reject(new Error(`dynalite failed to start: ${message.error}`));
    });
  });
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
