import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import {
  classifyWriteFault,
  DEFAULT_UNREACHABLE_BUDGET_MS,
  type PendingPut,
  type RetryPolicy,
  type WriteFault,
  writeBatch,
} from '../../handlers/load-chunk/batch-writer.js';
import { createDocumentClient } from '../../handlers/load-chunk/client.js';
import { sdkItemWriter } from '../../handlers/load-chunk/item-writer.js';
import { keyIdentity } from '../../handlers/shared/rows.js';
import { FakeTable, VirtualClock } from '../support/workflow-fakes.js';

// writeBatch on its own: how each kind of failed call is retried, and which error ends it.

const dynamo = mockClient(DynamoDBDocumentClient);
// A real client: mockClient replaced `send` on its prototype, so nothing leaves the process.
const client = sdkItemWriter(createDocumentClient(new DynamoDBClient({ region: 'eu-west-1' })));
let table: FakeTable;

beforeEach(() => {
  dynamo.reset();
  table = new FakeTable('books', 'isbn');
  table.attach(dynamo);
});

const policy: RetryPolicy = {
  baseDelayMs: 100,
  maxDelayMs: 2_000,
  safetyMarginMs: 5_000,
  unreachableBudgetMs: 10_000,
};
const target = { tableName: 'books', keyName: 'isbn', where: 'chunk 3 of s3://uploads/b.csv' };
const puts: PendingPut[] = ['a', 'b', 'c'].map((key) => ({
  item: { isbn: { S: key } },
  key: keyIdentity(key),
}));

/** An error as the SDK throws it when no HTTP answer arrived after its own attempts. */
function noAnswer(code: string, name = 'Error'): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:4567`), {
    name,
    code,
    $metadata: { attempts: 3, totalRetryDelay: 150 },
  });
}

const throttled = () =>
  Object.assign(new Error('Rate exceeded'), {
    name: 'ProvisionedThroughputExceededException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });

describe('writeBatch when DynamoDB does not answer', () => {
  it.each([
    ['connection refused', noAnswer('ECONNREFUSED')],
    ['an unknown host', noAnswer('ENOTFOUND')],
    ['a DNS failure', noAnswer('EAI_AGAIN')],
    ['a connection timeout', Object.assign(noAnswer('ETIMEDOUT'), { name: 'TimeoutError' })],
    ['a reset connection', noAnswer('ECONNRESET')],
  ])(
    'fails with ServiceUnreachableError naming the cause once %s lasted the budget',
    async (_what, error) => {
      table.behaviour = () => {
        throw error;
      };
      const clock = new VirtualClock(300_000, () => 0.5);

      const failure = await writeBatch(client, target, puts, policy, clock).catch(
        (e: unknown) => e,
      );

      expect(failure).toMatchObject({
        name: 'ServiceUnreachableError',
        cause: error,
        message: expect.stringMatching(
          /^chunk 3 of s3:\/\/uploads\/b\.csv: DynamoDB did not answer BatchWriteItem on table books for 1\d\.\d s \(\d+ attempt\(s\), (ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET): .*UNREACHABLE_BUDGET_MS=10000\) is spent\. Nothing answered, so this is not throttling: check the network path to DynamoDB/,
        ),
      });
      // It waited the budget out, and not much longer (one backoff at most).
      const waited = clock.sleeps.reduce((sum, ms) => sum + ms, 0);
      expect(waited).toBeGreaterThanOrEqual(policy.unreachableBudgetMs ?? 0);
      expect(waited).toBeLessThan((policy.unreachableBudgetMs ?? 0) + policy.maxDelayMs);
      expect(table.items.size).toBe(0);
    },
  );

  it('writes everything when DynamoDB answers again within the budget', async () => {
    table.behaviour = (_requests, call) => {
      if (call < 6) throw noAnswer('ECONNREFUSED');
      return [];
    };
    const outcome = await writeBatch(client, target, puts, policy, new VirtualClock(300_000));

    expect(outcome).toEqual({ written: 3, retries: 6 });
    expect(table.items.size).toBe(3);
  });

  it('starts the budget again after any answer, even a throttled one', async () => {
    // Waits of 50, 100 … 1000 ms (random 0.5): calls 0–9 go unanswered for 6.6 s, call 10
    // is throttled, calls 11–19 go unanswered for 8 s: 15.6 s in all, never 10 s in a row.
    table.behaviour = (_requests, call) => {
      if (call === 10) throw throttled();
      if (call < 20) throw noAnswer('ECONNREFUSED');
      return [];
    };
    const clock = new VirtualClock(300_000, () => 0.5);

    await expect(writeBatch(client, target, puts, policy, clock)).resolves.toEqual({
      written: 3,
      retries: 20,
    });
    expect(clock.sleeps.reduce((sum, ms) => sum + ms, 0)).toBeGreaterThan(
      policy.unreachableBudgetMs ?? 0,
    );
  });

  it('fails with ServiceUnreachableError, not ChunkTimeBudgetExceededError, when the Lambda time runs short first', async () => {
    table.behaviour = () => {
      throw noAnswer('ECONNREFUSED');
    };
    const clock = new VirtualClock(8_000, () => 0.5);

    const failure = await writeBatch(
      client,
      target,
      puts,
      { ...policy, unreachableBudgetMs: 120_000 },
      clock,
    ).catch((e: unknown) => e);

    expect(failure).toMatchObject({
      name: 'ServiceUnreachableError',
      message: expect.stringContaining("the Lambda's time ran short"),
    });
    expect(clock.remainingTimeMs()).toBeGreaterThanOrEqual(policy.safetyMarginMs);
  });

  it('waits two minutes by default', () => {
    expect(DEFAULT_UNREACHABLE_BUDGET_MS).toBe(120_000);
  });
});

describe('writeBatch when DynamoDB throttles or fails', () => {
  it('keeps ChunkTimeBudgetExceededError for throttling, with a remedy about capacity', async () => {
    table.behaviour = () => {
      throw throttled();
    };
    const failure = await writeBatch(client, target, puts, policy, new VirtualClock(8_000)).catch(
      (e: unknown) => e,
    );

    expect(failure).toMatchObject({
      name: 'ChunkTimeBudgetExceededError',
      message: expect.stringContaining("raise the table's write capacity"),
    });
  });

  it('counts server errors apart from throttling in ChunkTimeBudgetExceededError', async () => {
    table.behaviour = (_requests, call) => {
      if (call % 2 === 0) throw throttled();
      throw Object.assign(new Error('internal'), {
        name: 'InternalServerError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      });
    };
    const failure = await writeBatch(client, target, puts, policy, new VirtualClock(8_000)).catch(
      (e: unknown) => e,
    );

    expect(failure).toMatchObject({
      name: 'ChunkTimeBudgetExceededError',
      message: expect.stringMatching(/throttled, partial or failed \(\d+ with a server error\)/),
    });
  });
});

describe('classifyWriteFault', () => {
  it.each<[string, Record<string, unknown>, WriteFault]>([
    ['ProvisionedThroughputExceededException', { $metadata: { httpStatusCode: 400 } }, 'throttled'],
    ['ThrottlingException', { $metadata: { httpStatusCode: 400 } }, 'throttled'],
    ['RequestLimitExceeded', {}, 'throttled'],
    ['InternalServerError', { $fault: 'server', $metadata: { httpStatusCode: 500 } }, 'server'],
    ['ServiceUnavailable', { $metadata: { httpStatusCode: 503 } }, 'server'],
    ['Error', { code: 'ECONNREFUSED', $metadata: { attempts: 3 } }, 'unreachable'],
    ['Error', { code: 'ENOTFOUND' }, 'unreachable'],
    ['Error', { code: 'EAI_AGAIN' }, 'unreachable'],
    ['TimeoutError', {}, 'unreachable'],
    ['Error', { code: 'ECONNRESET' }, 'unreachable'],
    [
      'AggregateError',
      { errors: [Object.assign(new Error('a'), { code: 'ECONNREFUSED' })] },
      'unreachable',
    ],
    // No HTTP status on an SDK error: no answer arrived.
    ['Error', { $metadata: { attempts: 3 } }, 'unreachable'],
    ['ValidationException', { $fault: 'client', $metadata: { httpStatusCode: 400 } }, 'refused'],
    ['ResourceNotFoundException', { $fault: 'client' }, 'refused'],
    ['AccessDeniedException', { $fault: 'client', $metadata: { httpStatusCode: 400 } }, 'refused'],
    // A bug in our own code is not worth a retry.
    ['TypeError', {}, 'refused'],
  ])('%s %j → %s', (name, extra, expected) => {
    expect(classifyWriteFault(Object.assign(new Error('x'), { name, ...extra }))).toBe(expected);
  });
});
