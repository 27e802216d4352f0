import {
  type BatchWriterTarget,
  type Clock,
  FailedAttempts,
  type RetryPolicy,
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
  const attempts = new FailedAttempts(target, operation, policy, clock);
  for (let retries = 0; ; retries++) {
    if (clock.remainingTimeMs() < policy.safetyMarginMs) throw attempts.giveUp(1, retries);
    try {
      return { value: await send(), retries };
    } catch (error) {
      const accepted = accept(error);
      if (accepted !== undefined) return { value: accepted, retries };
      attempts.record(error);
    }
    await attempts.backOff(retries + 1, 1);
  }
}

/** DynamoDB's answer to a write whose condition did not hold. */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
