import { type ChildProcess, fork } from 'node:child_process';
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
  /** The child process's id, when dynalite runs in its own process. */
  readonly pid?: number;
  /** How many times the supervisor restarted a dead dynalite. */
  readonly restarts: number;
  /** Stops it; LevelDB is closed cleanly, so data on disk stays intact. */
  stop(): Promise<void>;
}

/** The supervisor's reports about a dynalite child that died. */
export interface DynamoDbSupervision {
  /** It died and was started again on the same port and data. */
  readonly onRestart?: (message: string) => void;
  /** It died and cannot come back (in memory, or restarts keep failing): stop the stack. */
  readonly onFatal?: (error: EmulatorDiedError) => void;
}

/** dynalite exited by itself and could not be brought back. */
export class EmulatorDiedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmulatorDiedError';
  }
}

/** Restarts allowed within RESTART_WINDOW_MS before a crash loop is fatal. */
const MAX_RESTARTS_IN_WINDOW = 5;
const RESTART_WINDOW_MS = 60_000;

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
  return { port, restarts: 0, stop: () => close(server) };
}

/**
 * Starts dynalite in a child process. On two cores this keeps its request
 * handling off the event loop that runs the handlers (measured in docs/local.md).
 * The child exits when this process does, even if this one is killed.
 *
 * The child is supervised: if it dies on its own (killed, crashed), it is started
 * again on the same port and the same LevelDB directory, so clients see a short
 * outage (refused connections, which the loader retries) and then the same data.
 * In memory its data died with it, and a crash loop cannot be fixed by restarting:
 * both are reported to `supervision.onFatal` instead.
 */
export async function startDynamoDbProcess(
  options: DynamoDbOptions,
  supervision: DynamoDbSupervision = {},
): Promise<DynamoDbEmulator> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  let stopping = false;
  let restarts = 0;
  const recent: number[] = [];
  let child = await forkDynalite(options.port, options.dataDir);
  const port = child.port;

  const supervise = (running: Forked) => {
    running.process.once('exit', (code, signal) => {
      if (stopping) return;
      const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
      void revive(how);
    });
  };
  const revive = async (how: string): Promise<void> => {
    if (!options.dataDir) {
      supervision.onFatal?.(
        new EmulatorDiedError(
          `DynamoDB (dynalite) ${how}. It kept its data in memory, so the table is gone: the local stack stops. Start it again; without --in-memory a dead dynalite is restarted on its data.`,
        ),
      );
      return;
    }
    const now = Date.now();
    recent.push(now);
    while ((recent[0] ?? now) < now - RESTART_WINDOW_MS) recent.shift();
    if (recent.length > MAX_RESTARTS_IN_WINDOW) {
      supervision.onFatal?.(
        new EmulatorDiedError(
          `DynamoDB (dynalite) ${how}, the ${recent.length}th time within a minute: the local stack stops. Look for the cause (disk full? ${options.dataDir} damaged?) before starting again.`,
        ),
      );
      return;
    }
    try {
      child = await forkDynalite({ ...options.port, port }, options.dataDir);
    } catch (error) {
      supervision.onFatal?.(
        new EmulatorDiedError(
          `DynamoDB (dynalite) ${how} and could not be started again on port ${port} with the data in ${options.dataDir}: ${error instanceof Error ? error.message : String(error)}. The local stack stops.`,
        ),
      );
      return;
    }
    restarts += 1;
    supervise(child);
    supervision.onRestart?.(
      `DynamoDB (dynalite) ${how}; restarted on port ${port} with the same data (restart ${restarts}).`,
    );
  };
  supervise(child);

  return {
    port,
    get pid() {
      return child.process.pid;
    },
    get restarts() {
      return restarts;
    },
    stop: async () => {
      stopping = true;
      const running = child.process;
      if (running.exitCode !== null || running.signalCode !== null) return;
      const exited = once(running, 'exit');
      running.disconnect();
      const timer = setTimeout(() => running.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface Forked {
  readonly process: ChildProcess;
  readonly port: number;
}

/** Forks dynalite and waits until it listens. */
async function forkDynalite(spec: PortSpec, dataDir: string | undefined): Promise<Forked> {
  const child = fork(
    fileURLToPath(new URL('./dynamodb-child.mjs', import.meta.url)),
    [String(spec.port), dataDir ?? ''],
    { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`dynalite exited with code ${code}`));
    child.once('exit', onExit);
    child.once('message', (message: { port?: number; error?: string }) => {
      child.off('exit', onExit);
      if (message.port !== undefined) resolve(message.port);
      else if (message.error === 'EADDRINUSE') reject(bindError(spec, { code: 'EADDRINUSE' }));
      else reject(new Error(`dynalite failed to start: ${message.error}`));
    });
  });
  return { process: child, port };
}
