import { GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { LocalStack } from '../../local/stack.js';
import { peekMessages } from '../../local/wiring/redrive.js';
import type { BatchOutcome } from '../../local/wiring/sqs-event-source.js';
import { executionsOf, sample, startTestStack, uploadAndWait, waitFor } from './helpers.js';

// The SQS → start-ingestion wiring on its own stack: a short visibility timeout (still
// longer than the batching window plus an invocation, as AWS requires) and two
// receives before the DLQ, so redelivery and redrive happen within seconds.
const MAX_RECEIVE_COUNT = 2;

let stack: LocalStack;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ stack, stop } = await startTestStack({
    visibilityTimeoutSeconds: 3,
    context: { maxReceiveCount: MAX_RECEIVE_COUNT },
  }));
}, 60_000);

afterAll(async () => {
  await stop?.();
}, 30_000);

describe('SQS event source of start-ingestion', () => {
  it('keeps only the failed message of a batch and moves it to the DLQ after maxReceiveCount receives', async () => {
    // A real notification, to send again next to a malformed one in one batch.
    const loaded = await uploadAndWait(stack, 'batch/books.csv', await sample('books.csv'));
    const { Records } = JSON.parse(loaded.input) as { Records: unknown[] };

    const outcomes: BatchOutcome[] = [];
    stack.onBatch((outcome) => outcomes.push(outcome));
    await stack.clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.endpoints.queueUrl,
        Entries: [
          { Id: 'good', MessageBody: JSON.stringify({ Records }) },
          { Id: 'bad', MessageBody: 'not an S3 event' },
        ],
      }),
    );

    const [dead] = await waitFor(
      'the malformed message in the DLQ',
      async () => {
        const messages = await peekMessages(stack.clients.sqs, stack.endpoints.dlqUrl);
        return messages.length > 0 ? messages : undefined;
      },
      20_000,
    );
    expect(dead?.Body).toBe('not an S3 event');
    expect(Number(dead?.Attributes?.ApproximateReceiveCount)).toBeGreaterThanOrEqual(
      MAX_RECEIVE_COUNT,
    );
    const attributes = await stack.clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: stack.endpoints.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(attributes.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
    });
    // Both messages came in one batch, whose partial response kept only the bad one.
    expect(outcomes[0]).toMatchObject({ received: 2, deleted: 1, failed: 1 });
    // The good message of the batch was processed once (a duplicate: no second execution).
    expect(executionsOf(stack, 'batch/books.csv')).toHaveLength(1);
  }, 60_000);
});
