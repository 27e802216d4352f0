import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DeleteTableCommand,
  type DynamoDBClient,
  waitUntilTableExists,
  waitUntilTableNotExists,
} from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';

/** A DynamoDB item as the DocumentClient takes it. */
export type Item = Record<string, unknown>;

/** DynamoDB's BatchWriteItem limit. */
const BATCH_SIZE = 25;

/** One point of the concurrency sweep. */
export interface SweepPoint {
  readonly concurrency: number;
  readonly rows: number;
  readonly rowsPerSec: number;
}

/** Deletes `table` if it exists. */
export async function deleteBenchTable(client: DynamoDBClient, table: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: table })).catch((error: unknown) => {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
  });
  await waitUntilTableNotExists({ client, maxWaitTime: 30 }, { TableName: table });
}

/** Creates an empty on-demand table with `key` as its partition key, replacing any left-over one. */
export async function createBenchTable(
  client: DynamoDBClient,
  table: string,
  key: string,
  keyType: 'S' | 'N',
): Promise<void> {
  await deleteBenchTable(client, table);
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: key, AttributeType: keyType }],
      KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: table });
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
    const output = await client.send(
      new BatchWriteCommand({ RequestItems: { [table]: requests } }),
    );
    requests = (output.UnprocessedItems?.[table] ?? []).flatMap((request) =>
      request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item } }] : [],
    );
  }
}

/**
 * Finds the concurrency at which raw BatchWriteItem is fastest against this emulator:
 * each candidate writes the same `sample` of items into a freshly created (empty)
 * table, so no candidate pays for overwriting another's items; the best is the
 * highest rows/s.
 */
export async function sweepConcurrency(
  client: DynamoDBDocumentClient,
  fresh: () => Promise<void>,
  table: string,
  sample: readonly Item[],
  candidates: readonly number[],
): Promise<{ best: SweepPoint; points: SweepPoint[] }> {
  const points: SweepPoint[] = [];
  for (const concurrency of candidates) {
    await fresh();
    const ms = await writeAll(client, table, sample, concurrency);
    points.push({ concurrency, rows: sample.length, rowsPerSec: (sample.length / ms) * 1000 });
  }
  const best = points.reduce((a, b) => (b.rowsPerSec > a.rowsPerSec ? b : a));
  return { best, points };
}
