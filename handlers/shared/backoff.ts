/**
 * Waiting between attempts, shared by every call a handler repeats itself (DynamoDB
 * writes in the loader, S3 calls in the planner and the loader): exponential backoff
 * with full jitter, bounded by the Lambda's remaining time.
 */

/** Time and randomness, injectable so tests are fast and deterministic. */
export interface Clock {
  /** Milliseconds the invocation has left (the Lambda context's `getRemainingTimeInMillis`). */
  readonly remainingTimeMs: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** A number in [0, 1). */
  readonly random: () => number;
}

/**
 * How long DynamoDB or S3 may give no answer at all before a call fails with
 * ServiceUnreachableError (UNREACHABLE_BUDGET_MS): two minutes, long enough to ride out
 * a blip or an emulator restart, short enough to fail fast.
 */
export const DEFAULT_UNREACHABLE_BUDGET_MS = 120_000;

/** The two ceilings of the backoff. */
export interface BackoffPolicy {
  /** First backoff ceiling, doubled per attempt (exponential backoff with full jitter). */
  readonly baseDelayMs: number;
  /** Largest backoff ceiling. */
  readonly maxDelayMs: number;
}

/**
 * The wait before retry number `attempt` (1-based): exponential backoff with full
 * jitter, a uniformly random delay between 0 and min(max, base × 2^(attempt-1)).
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/** The Lambda context's one method a Clock needs. */
interface RemainingTime {
  getRemainingTimeInMillis(): number;
}

/** Lambda's longest timeout: the deadline assumed when a handler is called without a context. */
const MAX_LAMBDA_MS = 15 * 60 * 1000;

/**
 * The clock of one invocation: the context's remaining time, real sleeps and
 * Math.random. Without a context (a benchmark calling the handler), the deadline is
 * Lambda's longest timeout from now.
 */
export function invocationClock(context?: RemainingTime): Clock {
  const deadline = Date.now() + MAX_LAMBDA_MS;
  return {
    remainingTimeMs: context
      ? () => context.getRemainingTimeInMillis()
      : () => Math.max(0, deadline - Date.now()),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    random: Math.random,
  };
}
