import { ChunkWriteError, describeError } from '../shared/errors.js';
import {
  type BatchWriterTarget,
  backoffDelay,
  budgetExceeded,
  type Clock,
  classifyWriteFault,
  DEFAULT_UNREACHABLE_BUDGET_MS,
  type RetryPolicy,
  unreachableError,
  type WriteOperation,
} from './batch-writer.js';

/** What sending one call took. */
export interface CallOutcome<T> {
  readonly value: T;
  /** Attempts that were throttled, failed or unanswered and had to be repeated. */
  readonly retries: number;
}

/**
 * Sends one DynamoDB call (a conditional PutItem, a control-table update), repeating
 * it with backoff and full jitter while it is throttled, fails with a server error or
 * gets no answer, exactly as writeBatch repeats a BatchWriteItem: it ends with
 * ServiceUnreachableError when DynamoDB has not answered for the unreachable budget,
 * ChunkTimeBudgetExceededError when the Lambda's time runs short, and ChunkWriteError
 * when DynamoDB refuses the call, unless `accept` turns that refusal into a value
 * (a failed condition, for example).
 */
export async function sendWithRetries<T>(
  target: BatchWriterTarget,
  operation: WriteOperation,
  send: () => Promise<T>,
  policy: RetryPolicy,
  clock: Clock,
  accept: (refusal: unknown) => T | undefined = () => undefined,
): Promise<CallOutcome<T>> {
  const budgetMs = policy.unreachableBudgetMs ?? DEFAULT_UNREACHABLE_BUDGET_MS;
  const seen = { server: 0 };
  let unreachable: { readonly since: number; attempts: number; last: unknown } | undefined;
  const giveUp = (retries: number) =>
    unreachable === undefined
      ? budgetExceeded(target, 1, retries, seen, clock.remainingTimeMs(), operation)
      : unreachableError(target, unreachable, clock.remainingTimeMs(), budgetMs, operation);
  for (let retries = 0; ; retries++) {
    if (clock.remainingTimeMs() < policy.safetyMarginMs) throw giveUp(retries);
    try {
      return { value: await send(), retries };
    } catch (error) {
      const fault = classifyWriteFault(error);
      if (fault === 'refused') {
        const accepted = accept(error);
        if (accepted !== undefined) return { value: accepted, retries };
        throw new ChunkWriteError(
          `${target.where}: ${operation} on table ${target.tableName} failed: ${describeError(error)}`,
          { cause: error },
        );
      }
      if (fault === 'unreachable') {
        unreachable ??= { since: clock.remainingTimeMs(), attempts: 0, last: error };
        unreachable.attempts++;
        unreachable.last = error;
      } else {
        unreachable = undefined;
        if (fault === 'server') seen.server++;
      }
    }
    if (unreachable !== undefined && unreachable.since - clock.remainingTimeMs() >= budgetMs) {
      throw giveUp(retries + 1);
    }
    const delay = backoffDelay(retries + 1, policy, clock.random);
    if (clock.remainingTimeMs() - delay < policy.safetyMarginMs) throw giveUp(retries + 1);
    await clock.sleep(delay);
  }
}
