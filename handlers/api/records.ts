import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DatasetSchema } from '../shared/dataset.js';
import { NamedError } from '../shared/errors.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { canonicalOfAttribute, type ParsedKey } from './keys.js';

/** One record as read: attribute name → value (numbers are exact `NumberValue`s). */
export type Item = Record<string, unknown>;

/** Where the records live. */
export interface Table {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly schema: DatasetSchema;
}

/** How BatchGetItem's UnprocessedKeys are retried. */
export interface RetryPolicy {
  /** Total BatchGetItem calls, the first included. @default 8 */
  readonly maxAttempts: number;
  /** Upper bound of the first backoff, in ms; doubles per attempt. @default 50 */
  readonly baseDelayMs: number;
  /** Upper bound of any backoff, in ms. @default 2000 */
  readonly maxDelayMs: number;
  /** Waits `ms` milliseconds (injected so tests run instantly). */
  readonly sleep: (ms: number) => Promise<void>;
  /** A number in [0, 1) (injected so tests are deterministic). */
  readonly random: () => number;
}

/** The default retry policy: 8 attempts, full jitter from 50 ms doubling up to 2 s. */
export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 50,
  maxDelayMs: 2000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/** DynamoDB kept returning UnprocessedKeys (throttling) after every retry. */
export class ReadThrottledError extends NamedError {}

/**
 * The DocumentClient the API reads through. `wrapNumbers` keeps every number as
 * its exact decimal text (a `NumberValue`), so 19-digit integers and decimals
 * are never rounded through a float on their way to the JSON response.
 */
export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
    unmarshallOptions: { wrapNumbers: true },
  });
}

/** Reads one record by key; undefined when there is none. */
export async function getRecord(table: Table, key: ParsedKey): Promise<Item | undefined> {
  const output = await table.client.send(
    new GetCommand({
      TableName: table.tableName,
      Key: { [table.schema.key]: key.attribute },
    }),
  );
  return output.Item;
}

/** One requested key and its record. */
export interface KeyedItem {
  readonly key: ParsedKey;
  readonly item: Item;
}

/** Records found for the requested keys, in request order, and the keys that have none. */
export interface BatchResult {
  readonly found: readonly KeyedItem[];
  readonly missing: readonly ParsedKey[];
}

/**
 * Reads up to 100 distinct keys with BatchGetItem, retrying UnprocessedKeys
 * with exponential backoff and full jitter. Throws ReadThrottledError when keys
 * remain unprocessed after the last attempt.
 */
export async function batchGetRecords(
  table: Table,
  keys: readonly ParsedKey[],
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<BatchResult> {
  const found = new Map<string, Item>();
  let pending: Record<string, unknown>[] = keys.map((key) => ({
    [table.schema.key]: key.attribute,
  }));
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    if (attempt > 1) {
      if (attempt > retry.maxAttempts) {
        throw new ReadThrottledError(
          `${pending.length} of ${keys.length} keys still unprocessed after ${retry.maxAttempts} attempts`,
        );
      }
      // Full jitter (random in [0, cap)) spreads retries of concurrent callers apart.
      const cap = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 2));
      await retry.sleep(Math.floor(retry.random() * cap));
    }
    const output = await table.client.send(
      new BatchGetCommand({ RequestItems: { [table.tableName]: { Keys: pending } } }),
    );
    for (const item of output.Responses?.[table.tableName] ?? []) {
      const canonical = canonicalOfAttribute(item[table.schema.key]);
      if (canonical !== undefined) found.set(canonical, item);
    }
    pending = output.UnprocessedKeys?.[table.tableName]?.Keys ?? [];
  }
  const inOrder: KeyedItem[] = [];
  const missing: ParsedKey[] = [];
  for (const key of keys) {
    const item = found.get(key.canonical);
    if (item) inOrder.push({ key, item });
    else missing.push(key);
  }
  return { found: inOrder, missing };
}

/** One page of a listing and the cursor of the next one, if any. */
export interface Page {
  readonly items: readonly Item[];
  readonly cursor: string | undefined;
}

/**
 * Reads one page of records with Scan. Order is DynamoDB's hash order: stable
 * for a given table state, not sorted by key. A page may hold fewer than
 * `limit` items (Scan stops at 1 MB) and still have a next cursor.
 */
export async function listRecords(
  table: Table,
  limit: number,
  cursor: string | undefined,
): Promise<Page> {
  const output = await table.client.send(
    new ScanCommand({
      TableName: table.tableName,
      Limit: limit,
      ...(cursor === undefined ? {} : { ExclusiveStartKey: decodeCursor(table.schema, cursor) }),
    }),
  );
  return {
    items: output.Items ?? [],
    cursor: output.LastEvaluatedKey
      ? encodeCursor(table.schema, output.LastEvaluatedKey)
      : undefined,
  };
}
