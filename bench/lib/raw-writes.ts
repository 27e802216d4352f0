import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import pLimit from 'p-limit';
import { createHttpItemWriter } from '../../handlers/load-chunk/http-item-writer.js';
import type { ItemWriter } from '../../handlers/load-chunk/item-writer.js';
import type { ChunkPlan } from '../../handlers/shared/contracts.js';
import type { WireItem as Item } from '../../handlers/shared/rows.js';
import { SEQUENCER_WIDTH, type UploadStamp } from '../../handlers/shared/upload-order.js';
import { startDynamoDbProcess } from '../../local/emulators/dynamodb.js';
import type { RawWriterResult } from '../children/raw-writer.js';
import { runChild } from './child.js';
import { processCpuSeconds } from './cpu.js';

/** DynamoDB's BatchWriteItem limit. */
const BATCH_SIZE = 25;

/** The table a raw measurement writes into. */
export interface RawTable {
  readonly name: string;
  readonly key: string;
  readonly keyType: 'S' | 'N';
}

/** The provenance the raw side stamps: the same sizes as the pipeline's upload of the file. */
export const RAW_UPLOAD: UploadStamp = {
  uploadedAt: '2026-12-02T00:00:00.000Z',
  key: 'bench/books-1000000-seed7.csv',
  sequencer: '0018ED4C198969C680'.padEnd(SEQUENCER_WIDTH, '0'),
  version: '36070c73f94d95aaec192e851a1dcea8',
};

/** What one raw writer process is given (bench/children/raw-writer.ts). */
export interface RawWriterJob {
  /** The generated CSV file. */
  readonly file: string;
  readonly header: readonly string[];
  /** The planned chunks it writes (the pipeline's plan of the file, dealt out to the writers). */
  readonly chunks: readonly ChunkPlan[];
  readonly endpoint: number;
  readonly table: string;
  readonly concurrency: number;
}

/** One raw write of a file's rows into a fresh emulator. */
export interface RawPass {
  readonly writers: number;
  /** BatchWriteItem calls in flight per writer. */
  readonly concurrency: number;
  readonly rows: number;
  readonly rowsPerSec: number;
  /** CPU seconds of all writer processes while writing, and of the emulator. */
  readonly writerCpuSeconds: number;
  readonly emulatorCpuSeconds: number;
}

/**
 * Runs `work` against a fresh, empty, in-memory dynalite started exactly as the local
 * stack starts its own by default (local/emulators/dynamodb.ts: its own child process),
 * holding one empty on-demand table. Every raw measurement gets its own: dynalite slows down as
 * its store grows and deletes a dropped table's items in the background, so reusing
 * one instance would make each measurement pay for the ones before it.
 */
export async function withFreshEmulator<T>(
  table: RawTable,
  work: (emulator: { readonly port: number; readonly pid: number }) => Promise<T>,
): Promise<T> {
  const emulator = await startDynamoDbProcess({
    port: { service: 'bench DynamoDB (dynalite)', port: 0, flag: '(bench)' },
  });
  const client = new DynamoDBClient(clientConfig(emulator.port));
  try {
    await client.send(
      new CreateTableCommand({
        TableName: table.name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: table.key, AttributeType: table.keyType }],
        KeySchema: [{ AttributeName: table.key, KeyType: 'HASH' }],
      }),
    );
    await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: table.name });
    const { pid } = emulator;
    if (pid === undefined) throw new Error('the bench dynalite has no process id');
    return await work({ port: emulator.port, pid });
  } finally {
    client.destroy();
    await emulator.stop();
  }
}

/** Client settings for an emulator on this machine. */
export function clientConfig(port: number): DynamoDBClientConfig {
  return {
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
}

/**
 * Writes the file's planned rows into a fresh emulator with `writers` processes (the
 * planned chunks dealt out to them in turn, as the Map hands chunks to its loaders),
 * each with `concurrency` BatchWriteItem calls in flight, sent as the loader sends
 * them; every writer converts its rows before the clock starts. The time runs from
 * the common start to the last writer's last answer.
 */
export async function rawPass(
  table: RawTable,
  file: URL,
  plan: { readonly header: readonly string[]; readonly chunks: readonly ChunkPlan[] },
  writers: number,
  concurrency: number,
): Promise<RawPass> {
  const count = Math.max(1, Math.min(writers, plan.chunks.length));
  const shares = Array.from({ length: count }, (_, writer) =>
    plan.chunks.filter((_chunk, index) => index % count === writer),
  );
  const rows = plan.chunks.reduce((sum, chunk) => sum + chunk.rows - chunk.skip.length, 0);
  return withFreshEmulator(table, async (emulator) => {
    let ready = 0;
    let start = 0;
    let emulatorBefore = 0;
    const children = new Set<import('node:child_process').ChildProcess>();
    let allReady: () => void = () => undefined;
    const readyAll = new Promise<void>((resolve) => {
      allReady = resolve;
    });
    const results = shares.map((chunks) =>
      runChild<RawWriterResult>(
        new URL('../children/raw-writer.ts', import.meta.url),
        [
          JSON.stringify({
            file: fileURLToPath(file),
            header: plan.header,
            chunks,
            endpoint: emulator.port,
            table: table.name,
            concurrency,
          } satisfies RawWriterJob),
        ],
        {
          timeoutMs: 1_800_000,
          onMessage: (_message, child) => {
            children.add(child);
            ready++;
            if (ready === count) allReady();
          },
        },
      ),
    );
    await Promise.race([readyAll, Promise.all(results)]);
    emulatorBefore = await processCpuSeconds(emulator.pid);
    start = performance.now();
    for (const child of children) child.send('go');
    const done = await Promise.all(results);
    const ms = performance.now() - start;
    const emulatorCpuSeconds = (await processCpuSeconds(emulator.pid)) - emulatorBefore;
    const written = done.reduce((sum, result) => sum + result.items, 0);
    if (written !== rows) throw new Error(`the raw writers wrote ${written} of ${rows} rows`);
    return {
      writers: count,
      concurrency,
      rows,
      rowsPerSec: (rows / ms) * 1000,
      writerCpuSeconds: done.reduce((sum, result) => sum + result.cpuSeconds, 0),
      emulatorCpuSeconds,
    };
  });
}

/**
 * Writes `items` with BatchWriteItem, 25 per call, `concurrency` calls in flight, the
 * way the loader does but with nothing else around it (no S3, no parsing, no workflow):
 * wire-form items through the loader's own writer (http-item-writer.ts). Returns the elapsed ms.
 */
export async function writeAll(
  port: number,
  table: string,
  items: readonly Item[],
  concurrency: number,
): Promise<number> {
  const client = rawItemWriter(port);
  const limit = pLimit(concurrency);
  const start = performance.now();
  const batches: Promise<void>[] = [];
  for (let offset = 0; offset < items.length; offset += BATCH_SIZE) {
    const batch = items.slice(offset, offset + BATCH_SIZE);
    batches.push(limit(() => writeBatch(client, table, batch)));
  }
  await Promise.all(batches);
  return performance.now() - start;
}

/** The loader's own item writer, pointed at the emulator on `port`. */
function rawItemWriter(port: number): ItemWriter {
  const { credentials, region } = clientConfig(port) as {
    credentials: { accessKeyId: string; secretAccessKey: string };
    region: string;
  };
  return createHttpItemWriter({
    endpoint: new URL(`http://127.0.0.1:${port}/`),
    region,
    credentials: async () => credentials,
  });
}

async function writeBatch(
  client: ItemWriter,
  table: string,
  items: readonly Item[],
): Promise<void> {
  let requests = items.map((item) => ({ PutRequest: { Item: item } }));
  for (let attempt = 0; requests.length > 0; attempt += 1) {
    if (attempt > 8) throw new Error(`${requests.length} items still unprocessed after 8 retries`);
    if (attempt > 0) await sleep(Math.random() * Math.min(1000, 25 * 2 ** attempt));
    const output = await client.batchWriteItem({ RequestItems: { [table]: requests } });
    requests = (output.UnprocessedItems?.[table] ?? []).flatMap((request) =>
      request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item as Item } }] : [],
    );
  }
}

/** One point of the concurrency sweep. */
export interface SweepPoint extends RawPass {}

/**
 * Finds the concurrency at which the raw writers are fastest: each candidate (calls
 * in flight per writer) writes `plan`'s rows into its own fresh emulator.
 */
export async function sweepConcurrency(
  table: RawTable,
  file: URL,
  plan: { readonly header: readonly string[]; readonly chunks: readonly ChunkPlan[] },
  writers: number,
  candidates: readonly number[],
): Promise<{ best: SweepPoint; points: SweepPoint[] }> {
  const points: SweepPoint[] = [];
  for (const concurrency of candidates) {
    points.push(await rawPass(table, file, plan, writers, concurrency));
  }
  const best = points.reduce((a, b) => (b.rowsPerSec > a.rowsPerSec ? b : a));
  return { best, points };
}
