import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type FauxqsServer, startFauxqs } from 'fauxqs';

/** Options of the S3 + SQS emulator. */
export interface FauxqsOptions {
  readonly port: number;
  readonly region: string;
  /** Directory for SQLite state and S3 object files; in memory when undefined. */
  readonly dataDir?: string;
}

/**
 * Starts fauxqs (S3 and SQS on one endpoint). Message spies are on: the S3
 * "uploaded" events they record are the hook the notification bridge uses.
 */
export async function startS3AndSqs(options: FauxqsOptions): Promise<FauxqsServer> {
  const persistence = options.dataDir
    ? { dataDir: join(options.dataDir, 'sqs'), s3StorageDir: join(options.dataDir, 's3') }
    : {};
  if (options.dataDir) {
    await mkdir(join(options.dataDir, 'sqs'), { recursive: true });
    await mkdir(join(options.dataDir, 's3'), { recursive: true });
  }
  return startFauxqs({
    port: options.port,
    logger: false,
    defaultRegion: options.region,
    // Range GETs of every chunk are recorded too; keep enough history that a
    // burst of uploads is never evicted before the bridge has seen it.
    messageSpies: { bufferSize: 10_000 },
    ...persistence,
  });
}
