import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { MAX_ITEM_BYTES } from '../shared/rows.js';

/** The loader's defaults; every one can be overridden by an environment variable. */
export const DEFAULT_LOADER_SETTINGS = {
  /** WRITE_CONCURRENCY: BatchWriteItem calls in flight per chunk. */
  writeConcurrency: 4,
  /** MAX_RECORD_BYTES: the planner's record size cap (one item can never exceed 400 KB). */
  maxRecordBytes: MAX_ITEM_BYTES,
  /** WRITE_BACKOFF_BASE_MS: first backoff ceiling after a throttled or partial call. */
  baseDelayMs: 100,
  /** WRITE_BACKOFF_MAX_MS: largest backoff ceiling. */
  maxDelayMs: 10_000,
  /** TIME_SAFETY_MARGIN_MS: Lambda time kept in reserve to fail cleanly instead of timing out. */
  safetyMarginMs: 10_000,
} as const;

/**
 * The document client the loader needs: exact numbers both ways (NumberValue in,
 * `wrapNumbers` out, so UnprocessedItems never come back as floats) and omitted
 * empty optional attributes.
 */
export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: true },
  });
}
