import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import dynalite from 'dynalite';
import { listen, type PortSpec } from '../ports.js';

/** Options of the DynamoDB emulator. */
export interface DynamoDbOptions {
  readonly port: PortSpec;
  /** LevelDB directory; in memory when undefined. */
  readonly dataDir?: string;
}

/** A running dynalite server. */
export interface DynamoDbEmulator {
  readonly server: Server;
  readonly port: number;
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
  return { server, port };
}
