import { backoffDelay, type Clock, DEFAULT_UNREACHABLE_BUDGET_MS } from '../shared/backoff.js';
import {
  ChunkTimeBudgetExceededError,
  ChunkWriteError,
  ConfigurationError,
  describeError,
  httpStatusOf,
  ServiceUnreachableError,
  THROTTLING_OR_TIMEOUT_ERRORS,
  unreachableCode,
} from '../shared/errors.js';
import { type KeyIdentity, keyIdentity, type WireItem } from '../shared/rows.js';
import type { ItemWriter } from './item-writer.js';

/** DynamoDB's limit on the number of requests in one BatchWriteItem call. */
export const BATCH_WRITE_LIMIT = 25;

/** One item to put, with the identity of its key (to match UnprocessedItems to it). */
export interface PendingPut {
  readonly item: WireItem;
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
  /**
   * How long DynamoDB may stay unreachable (no answer at all) before the batch fails
   * with ServiceUnreachableError. @default DEFAULT_UNREACHABLE_BUDGET_MS
   */
  readonly unreachableBudgetMs?: number;
}

export type { Clock } from '../shared/backoff.js';
export { DEFAULT_UNREACHABLE_BUDGET_MS } from '../shared/backoff.js';

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

/**
 * What a failed BatchWriteItem call means, which decides whether it is repeated and
 * which error ends the batch when the repeats run out:
 * - `throttled`: DynamoDB answered "too fast" (or timed the request out on its side);
 * - `server`: DynamoDB answered with a server fault (5xx);
 * - `unreachable`: no answer at all (refused, DNS, timeout, reset), not throttling;
 * - `refused`: DynamoDB rejected the request (a 4xx) or the error is a bug of ours:
 *   repeating it cannot help.
 */
export type WriteFault = 'throttled' | 'server' | 'unreachable' | 'refused';

/** Classifies a failed BatchWriteItem call (see WriteFault). */
export function classifyWriteFault(error: unknown): WriteFault {
  if (!(error instanceof Error)) return 'refused';
  if (THROTTLING_OR_TIMEOUT_ERRORS.has(error.name)) return 'throttled';
  if (unreachableCode(error) !== undefined) return 'unreachable';
  const { $fault, $retryable } = error as { $fault?: unknown; $retryable?: unknown };
  if (SERVER_ERRORS.has(error.name) || $fault === 'server') return 'server';
  if (typeof $retryable === 'object' && $retryable !== null) {
    return ($retryable as { throttling?: unknown }).throttling === true ? 'throttled' : 'server';
  }
  // An SDK error with no HTTP status never got an answer.
  if ('$metadata' in error && $fault !== 'client' && httpStatusOf(error) === undefined) {
    return 'unreachable';
  }
  return 'refused';
}

/**
 * True when a DynamoDB error means "try again" (throttling, a server fault, a dropped
 * or refused connection, no answer at all), not "this request is wrong" (a 4xx) and
 * not a bug of ours.
 */
export function isTransient(error: unknown): boolean {
  return classifyWriteFault(error) !== 'refused';
}

export { backoffDelay } from '../shared/backoff.js';

/**
 * Writes up to 25 items (with distinct keys) in one BatchWriteItem call, repeating
 * the UnprocessedItems and the throttled, failed or unanswered calls with backoff until
 * all are written. Throws ServiceUnreachableError when DynamoDB has not answered at all
 * for `policy.unreachableBudgetMs` (or the Lambda's time runs short while it does not
 * answer), ChunkTimeBudgetExceededError when the next wait would eat into the safety
 * margin of the Lambda's remaining time while DynamoDB throttles or fails, and
 * ChunkWriteError (naming `target.where`) when DynamoDB refuses the call for a reason
 * retrying cannot fix.
 */
export async function writeBatch(
  dynamo: ItemWriter,
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
  const attempts = new FailedAttempts(target, 'BatchWriteItem', policy, clock);
  while (pending.length > 0) {
    if (clock.remainingTimeMs() < policy.safetyMarginMs)
      throw attempts.giveUp(pending.length, retries);
    let unprocessed: readonly PendingPut[];
    try {
      // The items are in DynamoDB's wire form already: no marshalling per value.
      const output = await dynamo.batchWriteItem({
        RequestItems: {
          [target.tableName]: pending.map(({ item }) => ({ PutRequest: { Item: item } })),
        },
      });
      attempts.answered();
      unprocessed = matchUnprocessed(
        pending,
        output.UnprocessedItems?.[target.tableName] ?? [],
        target,
      );
    } catch (error) {
      attempts.record(error);
      unprocessed = pending;
    }
    pending = unprocessed;
    if (pending.length === 0) break;

    retries++;
    await attempts.backOff(retries, pending.length);
  }
  return { written: puts.length, retries };
}

/**
 * The failed attempts of one call (a BatchWriteItem, a PutItem, a control-table
 * update), and how they end: a refusal at once as ChunkWriteError; no answer for the
 * unreachable budget as ServiceUnreachableError; throttling or server errors until the
 * Lambda's time runs short as ChunkTimeBudgetExceededError. One bookkeeping for every
 * call the loader repeats, so each fault gets the same name wherever it happens.
 */
export class FailedAttempts {
  private server = 0;
  /** While DynamoDB does not answer: the Lambda time left when that began, and the last error. */
  private unreachable: { readonly since: number; attempts: number; last: unknown } | undefined;
  private readonly budgetMs: number;

  constructor(
    private readonly target: BatchWriterTarget,
    private readonly operation: WriteOperation,
    private readonly policy: RetryPolicy,
    private readonly clock: Clock,
  ) {
    this.budgetMs = policy.unreachableBudgetMs ?? DEFAULT_UNREACHABLE_BUDGET_MS;
  }

  /** DynamoDB answered (even with UnprocessedItems): an unanswered stretch is over. */
  answered(): void {
    this.unreachable = undefined;
  }

  /** Records a failed attempt; throws ChunkWriteError when retrying cannot help. */
  record(error: unknown): void {
    const fault = classifyWriteFault(error);
    if (fault === 'refused') {
      throw new ChunkWriteError(
        `${this.target.where}: ${this.operation} on table ${this.target.tableName} failed: ${describeError(error)}`,
        { cause: error },
      );
    }
    if (fault === 'unreachable') {
      this.unreachable ??= { since: this.clock.remainingTimeMs(), attempts: 0, last: error };
      this.unreachable.attempts++;
      this.unreachable.last = error;
      return;
    }
    this.unreachable = undefined;
    if (fault === 'server') this.server++;
  }

  /**
   * Waits before retry number `retry` (backoff with full jitter), or throws the error
   * that ends the call when the unreachable budget is spent or the wait would eat into
   * the Lambda's safety margin.
   */
  async backOff(retry: number, left: number): Promise<void> {
    const { clock, policy, unreachable } = this;
    if (unreachable !== undefined && unreachable.since - clock.remainingTimeMs() >= this.budgetMs) {
      throw this.giveUp(left, retry);
    }
    const delay = backoffDelay(retry, policy, clock.random);
    if (clock.remainingTimeMs() - delay < policy.safetyMarginMs) throw this.giveUp(left, retry);
    await clock.sleep(delay);
  }

  /** The error that ends the call now, with `left` items unwritten after `retries` retries. */
  giveUp(left: number, retries: number): Error {
    const remaining = this.clock.remainingTimeMs();
    const seen = { server: this.server };
    return this.unreachable === undefined
      ? budgetExceeded(this.target, left, retries, seen, remaining, this.operation)
      : unreachableError(this.target, this.unreachable, remaining, this.budgetMs, this.operation);
  }
}

/**
 * Maps the returned UnprocessedItems (AttributeValue maps: the low-level command
 * unmarshals nothing) back to the items we sent, by key, and resends our own objects.
 */
function matchUnprocessed(
  sent: readonly PendingPut[],
  returned: readonly { PutRequest?: { Item?: Record<string, unknown> } | undefined }[],
  target: BatchWriterTarget,
): PendingPut[] {
  if (returned.length === 0) return [];
  const byKey = new Map(sent.map((put) => [put.key, put]));
  return returned.map((request) => {
    const value = request.PutRequest?.Item?.[target.keyName];
    const identity = identityOfReturned(value);
    const put = identity === undefined ? undefined : byKey.get(identity);
    if (put === undefined) {
      throw new ConfigurationError('DynamoDB BatchWriteItem answer', [
        `an unprocessed item's key ${JSON.stringify(value)} matches no item sent`,
      ]);
    }
    return put;
  });
}

function identityOfReturned(value: unknown): KeyIdentity | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { N, S } = value as { N?: unknown; S?: unknown };
  if (typeof N === 'string') return keyIdentity({ number: N });
  if (typeof S === 'string') return keyIdentity(S);
  return undefined;
}

/** A DynamoDB call the loader repeats while it is throttled, fails or gets no answer. */
export type WriteOperation = 'BatchWriteItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query';

/** The error for items still unwritten when the Lambda's time runs short. */
export function budgetExceeded(
  target: BatchWriterTarget,
  left: number,
  retries: number,
  seen: { readonly server: number },
  remainingMs: number,
  operation: WriteOperation = 'BatchWriteItem',
): ChunkTimeBudgetExceededError {
  const partial = operation === 'BatchWriteItem';
  const calls =
    seen.server === 0
      ? partial
        ? 'throttled or partial'
        : 'throttled'
      : `${partial ? 'throttled, partial' : 'throttled'} or failed (${seen.server} with a server error)`;
  return new ChunkTimeBudgetExceededError(
    `${target.where}: ${left} item(s) still unwritten after ${retries} ${calls} ${operation} call(s) on table ${target.tableName}, and only ${remainingMs} ms of Lambda time remain; the workflow re-runs the chunk (idempotent). If this repeats, raise the table's write capacity or lower WRITE_CONCURRENCY / MapMaxConcurrency.`,
  );
}

/** The error for a table that did not answer for the budget (or the Lambda's time ran short). */
export function unreachableError(
  target: BatchWriterTarget,
  unreachable: { readonly since: number; readonly attempts: number; readonly last: unknown },
  remainingMs: number,
  budgetMs: number,
  operation: WriteOperation = 'BatchWriteItem',
): ServiceUnreachableError {
  const seconds = ((unreachable.since - remainingMs) / 1000).toFixed(1);
  const code = unreachableCode(unreachable.last) ?? 'no response';
  const stop =
    unreachable.since - remainingMs >= budgetMs
      ? `the loader's budget for an unreachable table (UNREACHABLE_BUDGET_MS=${budgetMs}) is spent`
      : `the Lambda's time ran short (${remainingMs} ms left)`;
  return new ServiceUnreachableError(
    `${target.where}: DynamoDB did not answer ${operation} on table ${target.tableName} for ${seconds} s (${unreachable.attempts} attempt(s), ${code}: ${describeError(unreachable.last)}) and ${stop}. Nothing answered, so this is not throttling: check the network path to DynamoDB (endpoint, DNS, VPC endpoint or security group) and the service's health, then redrive the failure record.`,
    { cause: unreachable.last },
  );
}
