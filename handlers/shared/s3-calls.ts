import { type BackoffPolicy, backoffDelay, type Clock } from './backoff.js';
import { describeError, ServiceUnreachableError, unreachableCode } from './errors.js';

/** How long an S3 call is repeated while S3 does not answer at all. */
export interface UnansweredPolicy extends BackoffPolicy {
  /** How long S3 may not answer before the call fails with ServiceUnreachableError. */
  readonly unreachableBudgetMs: number;
  /** Stop repeating when less than this much Lambda time would remain after the wait. */
  readonly safetyMarginMs: number;
}

/**
 * Sends one S3 call, repeating it with backoff and full jitter while S3 gives no
 * answer at all (connection refused, DNS, a timeout, a reset: see unreachableCode).
 * Any answer ends the repeats: a result is returned and an S3 error (a 4xx, a 5xx
 * after the SDK's own retries) is thrown unchanged for the caller to classify. When
 * S3 has not answered for `unreachableBudgetMs`, or the next wait would eat into the
 * Lambda's safety margin, throws ServiceUnreachableError naming `call`, the time,
 * the attempts and the last network error, so the remedy is the network path.
 */
export async function sendUntilS3Answers<T>(
  call: string,
  send: () => Promise<T>,
  policy: UnansweredPolicy,
  clock: Clock,
): Promise<T> {
  let since: number | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      const code = unreachableCode(error);
      if (code === undefined) throw error;
      since ??= clock.remainingTimeMs();
      const remaining = clock.remainingTimeMs();
      const silentMs = since - remaining;
      const delay = backoffDelay(attempt, policy, clock.random);
      const spent = silentMs >= policy.unreachableBudgetMs;
      if (spent || remaining - delay < policy.safetyMarginMs) {
        const stop = spent
          ? `the budget for an unreachable service (UNREACHABLE_BUDGET_MS=${policy.unreachableBudgetMs}) is spent`
          : `the Lambda's time ran short (${remaining} ms left)`;
        throw new ServiceUnreachableError(
          `${call}: S3 did not answer for ${(silentMs / 1000).toFixed(1)} s (${attempt} attempt(s), ${code}: ${describeError(error)}) and ${stop}. Nothing answered, so S3 neither refused nor throttled the call: check the network path to S3 (endpoint, DNS, VPC endpoint or security group) and the service's health, then redrive the failure record.`,
          { cause: error },
        );
      }
      await clock.sleep(delay);
    }
  }
}
