import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import { createDocumentClient, inWireForm } from '../../handlers/load-chunk/client.js';
import type { Item } from '../../handlers/shared/rows.js';
import { startDynamoDbProcess } from '../../local/emulators/dynamodb.js';

/** DynamoDB's BatchWriteItem limit. */
const BATCH_SIZE = 25;

/** One point of the concurrency sweep. */
export interface SweepPoint {
  readonly concurrency: number;
  readonly rows: number;
  readonly rowsPerSec: number;
}

/** The table a raw measurement writes into. */
export interface RawTable {
  readonly name: string;
  readonly key: string;
  readonly keyType: 'S' | 'N';
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
  work: (client: DynamoDBDocumentClient) => Promise<T>,
): Promise<T> {
  const emulator = await startDynamoDbProcess({
    port: { service: 'bench DynamoDB (dynalite)', port: 0, flag: '(bench)' },
  });
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${emulator.port}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
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
    // The loader's own document client settings (exact numbers, omitted empty cells).
    return await work(createDocumentClient(client));
  } finally {
    client.destroy();
    await emulator.stop();
  }
}

/**
 * Writes `items` with BatchWriteItem, 25 per call, `concurrency` calls in flight, the
 * way the loader does but with nothing else around it (no S3, no parsing, no workflow):
 * the floor the pipeline is compared with. Returns the elapsed milliseconds.
 */
export async function writeAll(
  client: DynamoDBDocumentClient,
  table: string,
  items: readonly Item[],
  concurrency: number,
): Promise<number> {
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

async function writeBatch(
  client: DynamoDBDocumentClient,
  table: string,
  items: readonly Item[],
): Promise<void> {
  let requests = items.map((item) => ({ PutRequest: { Item: item } }));
  for (let attempt = 0; requests.length > 0; attempt += 1) {
    if (attempt > 8) throw new Error(`${requests.length} items still unprocessed after 8 retries`);
    if (attempt > 0) await sleep(Math.random() * Math.min(1000, 25 * 2 ** attempt));
    // As the loader sends them: wire-form items, the body one JSON.stringify (client.ts).
    const output = await client.send(
      new BatchWriteItemCommand(inWireForm({ RequestItems: { [table]: requests } })),
    );
    requests = (output.UnprocessedItems?.[table] ?? []).flatMap((request) =>
      request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item as Item } }] : [],
    );
  }
}

/**
 * Finds the concurrency at which raw BatchWriteItem is fastest: each candidate writes
 * the same `sample` into its own fresh emulator; the best is the highest rows/s.
 */
export async function sweepConcurrency(
  table: RawTable,
  sample: readonly Item[],
  candidates: readonly number[],
): Promise<{ best: SweepPoint; points: SweepPoint[] }> {
  const points: SweepPoint[] = [];
  for (const concurrency of candidates) {
    const ms = await withFreshEmulator(table, (client) =>
      writeAll(client, table.name, sample, concurrency),
    );
    points.push({ concurrency, rows: sample.length, rowsPerSec: (sample.length / ms) * 1000 });
  }
  const best = points.reduce((a, b) => (b.rowsPerSec > a.rowsPerSec ? b : a));
  return { best, points };
}
