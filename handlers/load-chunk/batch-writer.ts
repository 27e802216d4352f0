import { BatchWriteCommand, type DynamoDBDocumentClient, NumberValue } from '@aws-sdk/lib-dynamodb';
import {
  ChunkTimeBudgetExceededError,
  ChunkWriteError,
  ConfigurationError,
  describeError,
  httpStatusOf,
  THROTTLING_OR_TIMEOUT_ERRORS,
} from '../shared/errors.js';
import { type Item, type KeyIdentity, keyIdentity } from '../shared/rows.js';

/** DynamoDB's limit on the number of requests in one BatchWriteItem call. */
export const BATCH_WRITE_LIMIT = 25;

/** One item to put, with the identity of its key (to match UnprocessedItems to it). */
export interface PendingPut {
  readonly item: Item;
  readonly key: KeyIdentity;
}

/** How long to wait between attempts, and when to give up. */
export interface RetryPolicy {
  /** First backoff ceiling, doubled per attempt (exponential backoff with full jitter). */
  readonly baseDelayMs: number;
  /** Largest backoff ceiling. */
  readonly maxDelayMs: number;
  /** Stop retrying when less than this much Lambda time would remain after the wait. */
  readonly safetyMarginMs: number;
}

/** Time and randomness, injectable so tests are fast and deterministic. */
export interface Clock {
  /** Milliseconds the invocation has left (the Lambda context's `getRemainingTimeInMillis`). */
  readonly remainingTimeMs: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** A number in [0, 1). */
  readonly random: () => number;
}

/** What writing one batch took. */
export interface BatchOutcome {
  readonly written: number;
  /** Calls that were throttled or left items unprocessed and had to be repeated. */
  readonly retries: number;
}

/** Who is writing, for error messages. */
export interface BatchWriterTarget {
  readonly tableName: string;
  readonly keyName: string;
  /** Human-readable place of the batch, e.g. `chunk 3 (line 4001, bytes …) of s3://b/k, rows on lines 4001–4025`. */
  readonly where: string;
}

/** DynamoDB's transient server errors (throttling is in THROTTLING_OR_TIMEOUT_ERRORS). */
const SERVER_ERRORS = new Set(['InternalServerError', 'ServiceUnavailable']);

/** Network-level failures that outlived the SDK's own retries. */
const NETWORK_ERRORS = new Set(['TimeoutError', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/**
 * True when a DynamoDB error means "slow down and try again" (throttling, a server
 * fault, a dropped or refused connection, no answer at all), not "this request is
 * wrong" (a 4xx) and not a bug of ours.
 */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { $fault, $retryable, code } = error as {
    $fault?: unknown;
    $retryable?: unknown;
    code?: unknown;
  };
  return (
    THROTTLING_OR_TIMEOUT_ERRORS.has(error.name) ||
    SERVER_ERRORS.has(error.name) ||
    NETWORK_ERRORS.has(error.name) ||
    (typeof code === 'string' && NETWORK_ERRORS.has(code)) ||
    $fault === 'server' ||
    Boolean($retryable) ||
    // An SDK error with no HTTP status never got an answer (refused, DNS, reset).
    ('$metadata' in error && $fault !== 'client' && httpStatusOf(error) === undefined)
  );
}

/**
 * The wait before retry number `attempt` (1-based): exponential backoff with full
 * jitter, a uniformly random delay between 0 and min(max, base × 2^(attempt-1)).
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Writes up to 25 items (with distinct keys) in one BatchWriteItem call, repeating
 * the UnprocessedItems and throttled calls with backoff until all are written. Throws
 * ChunkTimeBudgetExceededError when the next wait would eat into the safety margin
 * of the Lambda's remaining time, and ChunkWriteError (naming `target.where`) when
 * DynamoDB refuses the call for a reason retrying cannot fix.
 */
export async function writeBatch(
  dynamo: DynamoDBDocumentClient,
  target: BatchWriterTarget,
  puts: readonly PendingPut[],
  policy: RetryPolicy,
  clock: Clock,
): Promise<BatchOutcome> {
  if (puts.length > BATCH_WRITE_LIMIT) {
    throw new RangeError(`a batch holds at most ${BATCH_WRITE_LIMIT} items, got ${puts.length}`);
  }
  let pending = puts;
  let retries = 0;
  while (pending.length > 0) {
    if (clock.remainingTimeMs() < policy.safetyMarginMs) {
      throw budgetExceeded(target, pending.length, retries, clock.remainingTimeMs());
    }
    let unprocessed: readonly PendingPut[];
    try {
      const output = await dynamo.send(
        new BatchWriteCommand({
          RequestItems: {
            [target.tableName]: pending.map(({ item }) => ({ PutRequest: { Item: item } })),
          },
        }),
      );
      unprocessed = matchUnprocessed(
        pending,
        output.UnprocessedItems?.[target.tableName] ?? [],
        target,
      );
    } catch (error) {
      if (!isTransient(error)) {
        throw new ChunkWriteError(
          `${target.where}: BatchWriteItem on table ${target.tableName} failed: ${describeError(error)}`,
          { cause: error },
        );
      }
      unprocessed = pending;
    }
    if (unprocessed.length === 0) break;

    retries++;
    const delay = backoffDelay(retries, policy, clock.random);
    if (clock.remainingTimeMs() - delay < policy.safetyMarginMs) {
      throw budgetExceeded(target, unprocessed.length, retries, clock.remainingTimeMs());
    }
    await clock.sleep(delay);
    pending = unprocessed;
  }
  return { written: puts.length, retries };
}

/**
 * Maps the returned UnprocessedItems back to the items we sent, by key, and resends
 * our own objects: the returned copies went through unmarshalling, where a client
 * without `wrapNumbers` would have turned exact numbers into floats.
 */
function matchUnprocessed(
  sent: readonly PendingPut[],
  returned: readonly { PutRequest?: { Item?: Record<string, unknown> } }[],
  target: BatchWriterTarget,
): PendingPut[] {
  if (returned.length === 0) return [];
  const byKey = new Map(sent.map((put) => [put.key, put]));
  return returned.map((request) => {
    const value = request.PutRequest?.Item?.[target.keyName];
    const identity = identityOfReturned(value);
    const put = identity === undefined ? undefined : byKey.get(identity);
    if (put === undefined) {
      throw new ConfigurationError('DynamoDB document client', [
        `an unprocessed item's key ${String(value)} matches no item sent; create the client with unmarshallOptions.wrapNumbers = true (see createDocumentClient)`,
      ]);
    }
    return put;
  });
}

function identityOfReturned(value: unknown): KeyIdentity | undefined {
  if (value instanceof NumberValue) return keyIdentity({ number: value.value });
  if (typeof value === 'number' || typeof value === 'bigint') {
    return keyIdentity({ number: String(value) });
  }
  if (typeof value === 'string') return keyIdentity(value);
  return undefined;
}

/** The error for items still unwritten when the Lambda's time runs short. */
export function budgetExceeded(
  target: BatchWriterTarget,
  left: number,
  retries: number,
  remainingMs: number,
  operation: 'BatchWriteItem' | 'PutItem' = 'BatchWriteItem',
): ChunkTimeBudgetExceededError {
  const failed = operation === 'BatchWriteItem' ? 'throttled or partial' : 'throttled or failed';
  return new ChunkTimeBudgetExceededError(
    `${target.where}: ${left} item(s) still unwritten after ${retries} ${failed} ${operation} call(s) on table ${target.tableName}, and only ${remainingMs} ms of Lambda time remain; the workflow re-runs the chunk (idempotent). If this repeats, raise the table's write capacity or lower WRITE_CONCURRENCY / MapMaxConcurrency.`,
  );
}
