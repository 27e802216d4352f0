import { PassThrough } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import {
  CancelMessageMoveTaskCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS } from '../../local/config.js';
import { generateCsv } from '../../local/generate-csv.js';
import type { LocalStack } from '../../local/stack.js';
import { closed, keyOf, nextEvent, startTestStack, waitFor } from './helpers.js';

// The AWS APIs the docs name for operating the pipeline, against the local stack's
// public endpoints with the SDK the AWS CLI's calls match: SQS message move tasks (the
// DLQ redrive) and Step Functions StopExecution.

let stack: LocalStack;
let stop: () => Promise<void>;
let sqs: SQSClient;
let sfn: SFNClient;

beforeAll(async () => {
  ({ stack, stop } = await startTestStack({
    // Small chunks and one at a time: a file takes long enough to be stopped mid-load.
    context: { chunkTargetBytes: 64 * 1024, maxRecordBytes: 64 * 1024, mapMaxConcurrency: 1 },
  }));
  // The endpoints a user (or the AWS CLI with --endpoint-url) gets from endpoints.json.
  const client = { region: stack.endpoints.region, credentials: LOCAL_CREDENTIALS };
  sqs = new SQSClient({ ...client, endpoint: stack.endpoints.sqs });
  sfn = new SFNClient({ ...client, endpoint: stack.endpoints.stepfunctions });
}, 60_000);

afterAll(async () => {
  sqs?.destroy();
  sfn?.destroy();
  await stop?.();
}, 30_000);

const arnOf = (name: string) => `arn:aws:sqs:${stack.endpoints.region}:000000000000:${name}`;

/** A queue and its DLQ of their own, with `count` messages waiting in the DLQ. */
async function queuePair(name: string, count: number): Promise<{ source: string; dlq: string }> {
  const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl ?? '';
  const source =
    (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: {
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: arnOf(`${name}-dlq`),
              maxReceiveCount: '3',
            }),
          },
        }),
      )
    ).QueueUrl ?? '';
  for (let index = 0; index < count; index += 1) {
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: `message ${index}` }));
  }
  return { source, dlq };
}

async function visible(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

async function latestTask(sourceArn: string): Promise<ListMessageMoveTasksResultEntry | undefined> {
  return (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn }))).Results?.[0];
}

describe('SQS message move tasks (the DLQ redrive) on the local endpoint', () => {
  it('moves every message of a DLQ back to the queue that dead-letters to it', async () => {
    const { source, dlq } = await queuePair('move-all', 3);

    const { TaskHandle } = await sqs.send(
      new StartMessageMoveTaskCommand({ SourceArn: arnOf('move-all-dlq') }),
    );

    expect(TaskHandle).toEqual(expect.any(String));
    const task = await waitFor('the task to complete', async () => {
      const latest = await latestTask(arnOf('move-all-dlq'));
      return latest?.Status === 'RUNNING' ? undefined : latest;
    });
    expect(task).toMatchObject({
      Status: 'COMPLETED',
      SourceArn: arnOf('move-all-dlq'),
      ApproximateNumberOfMessagesMoved: 3,
      ApproximateNumberOfMessagesToMove: 3,
    });
    expect(task).not.toHaveProperty('TaskHandle');
    expect(await visible(dlq)).toBe(0);
    expect(await visible(source)).toBe(3);
  }, 60_000);

  it('cancels a running task: what it moved stays moved, the rest stays in the DLQ', async () => {
    const { source, dlq } = await queuePair('move-some', 4);

    const { TaskHandle } = await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: arnOf('move-some-dlq'),
        DestinationArn: arnOf('move-some'),
        MaxNumberOfMessagesPerSecond: 1,
      }),
    );
    await expect(
      sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arnOf('move-some-dlq') })),
    ).rejects.toMatchObject({ name: 'UnsupportedOperation' });
    const running = await latestTask(arnOf('move-some-dlq'));
    expect(running).toMatchObject({
      Status: 'RUNNING',
      TaskHandle,
      MaxNumberOfMessagesPerSecond: 1,
    });

    const { ApproximateNumberOfMessagesMoved: moved = -1 } = await sqs.send(
      new CancelMessageMoveTaskCommand({ TaskHandle }),
    );

    expect(moved).toBeLessThan(4);
    expect(await latestTask(arnOf('move-some-dlq'))).toMatchObject({
      Status: 'CANCELLED',
      ApproximateNumberOfMessagesMoved: moved,
    });
    expect(await visible(source)).toBe(moved);
    expect(await visible(dlq)).toBe(4 - moved);
  }, 60_000);

  it.each<[string, () => string, string]>([
    [
      'a source queue that does not exist',
      () => arnOf('no-such-queue'),
      'ResourceNotFoundException',
    ],
    ['a source that is no queue’s DLQ', () => arnOf(stack.names.queue), 'InvalidParameterValue'],
    ['a source that is not a queue ARN', () => 'books-dlq', 'InvalidParameterValue'],
  ])('refuses %s', async (_what, source, code) => {
    await expect(
      sqs.send(new StartMessageMoveTaskCommand({ SourceArn: source() })),
    ).rejects.toMatchObject({ name: code });
  });

  it('answers ResourceNotFoundException for an unknown task handle', async () => {
    await expect(
      sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: 'bm8tc3VjaC10YXNr' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('gives queue URLs on the public port and serves the other SQS calls through it', async () => {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: stack.names.dlq }));
    expect(QueueUrl).toBe(stack.endpoints.dlqUrl);
    expect(new URL(QueueUrl ?? '').port).toBe(new URL(stack.endpoints.sqs).port);
  });
});

describe('StopExecution on the local endpoint', () => {
  it('aborts a running execution with the given error and cause', async () => {
    const key = 'stop/generated.csv';
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (chunk: Buffer) => chunks.push(chunk));
    await generateCsv({ rows: 20_000, seed: 3 }, sink);
    const loading = nextEvent(
      stack,
      'the first chunk to start loading',
      (execution, event) => keyOf(execution) === key && event.type === 'MapIterationStarted',
    );
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: stack.names.bucket, Key: key, Body: Buffer.concat(chunks) }),
    );
    const { execution } = await loading;

    const { stopDate } = await sfn.send(
      new StopExecutionCommand({
        executionArn: execution.executionArn,
        error: 'Operator.Stop',
        cause: 'stopped by hand',
      }),
    );

    await closed(execution);
    expect(stopDate).toEqual(expect.any(Date));
    const described = await sfn.send(
      new DescribeExecutionCommand({ executionArn: execution.executionArn }),
    );
    expect(described).toMatchObject({
      status: 'ABORTED',
      error: 'Operator.Stop',
      cause: 'stopped by hand',
    });
    expect(execution.events.at(-1)).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Operator.Stop', cause: 'stopped by hand' },
    });
    // Stopping a closed execution changes nothing.
    await expect(
      sfn.send(new StopExecutionCommand({ executionArn: execution.executionArn })),
    ).resolves.toMatchObject({ stopDate: described.stopDate });
    await expect(
      sfn.send(new StopExecutionCommand({ executionArn: `${execution.executionArn}-none` })),
    ).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
  }, 60_000);
});
