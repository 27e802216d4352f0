import { DEFAULT_UNANSWERED_POLICY } from '../../handlers/plan-file/plan.js';
import { sendUntilS3Answers } from '../../handlers/shared/s3-calls.js';
import { VirtualClock } from '../support/workflow-fakes.js';

const policy = { ...DEFAULT_UNANSWERED_POLICY, unreachableBudgetMs: 10_000 };

/** What the SDK throws when no HTTP response arrives at all. */
function noAnswer(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:4566`), {
    code,
    $metadata: { attempts: 3 },
  });
}

/** A call that fails `failures` times with `error`, then answers `answer`. */
function flaky<T>(failures: number, error: () => unknown, answer: T) {
  let calls = 0;
  const send = async (): Promise<T> => {
    calls++;
    if (calls <= failures) throw error();
    return answer;
  };
  return { send, calls: () => calls };
}

describe('sendUntilS3Answers', () => {
  it('returns the first answer without waiting', async () => {
    const clock = new VirtualClock(60_000);
    const call = flaky(0, () => undefined, 'body');
    await expect(
      sendUntilS3Answers('GetObject of s3://b/k', call.send, policy, clock),
    ).resolves.toBe('body');
    expect(clock.sleeps).toEqual([]);
  });

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET'])(
    'repeats the call with backoff while S3 does not answer (%s), and returns once it does',
    async (code) => {
      const clock = new VirtualClock(60_000);
      const call = flaky(4, () => noAnswer(code), 'body');
      await expect(
        sendUntilS3Answers('GetObject of s3://b/k', call.send, policy, clock),
      ).resolves.toBe('body');
      expect(call.calls()).toBe(5);
      // Full jitter at random() = 0.5: half of 100, 200, 400, 800 ms.
      expect(clock.sleeps).toEqual([50, 100, 200, 400]);
    },
  );

  it('throws an answer from S3 (an error with an HTTP status) at once, unchanged', async () => {
    const clock = new VirtualClock(60_000);
    const denied = Object.assign(new Error('Access Denied'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    const call = flaky(1, () => denied, 'body');
    await expect(
      sendUntilS3Answers('GetObject of s3://b/k', call.send, policy, clock),
    ).rejects.toBe(denied);
    expect(call.calls()).toBe(1);
  });

  it('fails with ServiceUnreachableError naming the call, S3, the time and the network error once the budget is spent', async () => {
    const clock = new VirtualClock(600_000);
    const call = flaky(Number.POSITIVE_INFINITY, () => noAnswer('ECONNREFUSED'), 'body');
    const error = await sendUntilS3Answers(
      'HeadObject of s3://b/k',
      call.send,
      policy,
      clock,
    ).catch((thrown: unknown) => thrown as Error);
    expect(error).toMatchObject({
      name: 'ServiceUnreachableError',
      message: expect.stringMatching(
        /^HeadObject of s3:\/\/b\/k: S3 did not answer for 1\d\.\d s \(\d+ attempt\(s\), ECONNREFUSED: Error: connect ECONNREFUSED 127\.0\.0\.1:4566\) and the budget for an unreachable service \(UNREACHABLE_BUDGET_MS=10000\) is spent\. Nothing answered, so S3 neither refused nor throttled the call: check the network path to S3/,
      ),
    });
    // Waited at least the budget, and not much more (the last backoff ceiling is 10 s).
    const waited = 600_000 - clock.remainingTimeMs();
    expect(waited).toBeGreaterThanOrEqual(10_000);
    expect(waited).toBeLessThan(10_000 + policy.maxDelayMs);
  });

  it('fails with ServiceUnreachableError before the next wait would eat into the Lambda safety margin', async () => {
    const clock = new VirtualClock(policy.safetyMarginMs + 500);
    const call = flaky(Number.POSITIVE_INFINITY, () => noAnswer('ETIMEDOUT'), 'body');
    await expect(
      sendUntilS3Answers('the Range GET', call.send, policy, clock),
    ).rejects.toMatchObject({
      name: 'ServiceUnreachableError',
      message: expect.stringContaining("and the Lambda's time ran short ("),
    });
    expect(clock.remainingTimeMs()).toBeGreaterThanOrEqual(policy.safetyMarginMs);
  });
});
