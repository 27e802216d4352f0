import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { LambdaRuntime, LocalFunction } from '../lambda/runtime.js';

/** Settings of the event source mapping (as the CDK SqsEventSource sets them). */
export interface EventSourceSettings {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  /** Messages per invocation (1-10). */
  readonly batchSize: number;
  /** Concurrent pollers, i.e. concurrent invocations at most. */
  readonly maxConcurrency: number;
  /** Long-poll wait, in seconds (0-20). */
  readonly waitTimeSeconds: number;
  /** How long to gather messages into a fuller batch (MaximumBatchingWindowInSeconds). */
  readonly batchWindowSeconds: number;
}

/** What one poll did, for the caller's log. */
export interface BatchOutcome {
  readonly received: number;
  readonly deleted: number;
  /** Messages left for redelivery after their visibility timeout (or the DLQ). */
  readonly failed: number;
  readonly functionError?: string;
}

/** A running event source mapping. */
export interface EventSource {
  stop(): Promise<void>;
}

/**
 * Polls the queue and invokes the function like Lambda's SQS event source
 * mapping: batches of up to `batchSize` gathered for at most the batching
 * window, ReportBatchItemFailures (only the
 * failed messages stay in the queue), a function error keeps the whole batch.
 * Messages that stay become visible again after the queue's visibility timeout
 * and move to the DLQ after maxReceiveCount receives (the queue's RedrivePolicy).
 */
export function startEventSource(
  runtime: LambdaRuntime,
  fn: LocalFunction,
  sqs: SQSClient,
  settings: EventSourceSettings,
  onBatch: (outcome: BatchOutcome) => void,
  onError: (error: unknown) => void,
): EventSource {
  const abort = new AbortController();
  const poller = async () => {
    while (!abort.signal.aborted) {
      try {
        const received = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: settings.queueUrl,
            MaxNumberOfMessages: settings.batchSize,
            WaitTimeSeconds: settings.waitTimeSeconds,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        const messages = received.Messages ?? [];
        if (messages.length === 0) continue;
        // Like the batching window: keep gathering until the batch is full or the window ends.
        const windowEnd = Date.now() + settings.batchWindowSeconds * 1000;
        while (messages.length < settings.batchSize && Date.now() < windowEnd) {
          const more = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: settings.queueUrl,
              MaxNumberOfMessages: settings.batchSize - messages.length,
              WaitTimeSeconds: 0,
              MessageSystemAttributeNames: ['All'],
              MessageAttributeNames: ['All'],
            }),
          );
          if (more.Messages?.length) messages.push(...more.Messages);
          else await new Promise((resolve) => setTimeout(resolve, 50));
        }
        onBatch(await processBatch(runtime, fn, sqs, settings, messages));
      } catch (error) {
        if (abort.signal.aborted) return;
        onError(error);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  };
  const pollers = Array.from({ length: settings.maxConcurrency }, () => poller());
  return {
    async stop() {
      abort.abort();
      await Promise.allSettled(pollers);
    },
  };
}

/** Invokes the function with one batch and deletes what it processed. */
export async function processBatch(
  runtime: LambdaRuntime,
  fn: LocalFunction,
  sqs: SQSClient,
  settings: Pick<EventSourceSettings, 'queueUrl' | 'queueArn' | 'region'>,
  messages: readonly Message[],
): Promise<BatchOutcome> {
  const event: SQSEvent = { Records: messages.map((message) => toRecord(message, settings)) };
  const outcome = await runtime.invoke(fn, event);
  if (!outcome.ok) {
    return {
      received: messages.length,
      deleted: 0,
      failed: messages.length,
      functionError: `${outcome.error.errorType}: ${outcome.error.errorMessage}`,
    };
  }
  const failedIds = failedMessageIds(outcome.result, messages);
  const done = messages.filter((message) => !failedIds.has(message.MessageId ?? ''));
  if (done.length > 0) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: settings.queueUrl,
        Entries: done.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle,
        })),
      }),
    );
  }
  return { received: messages.length, deleted: done.length, failed: messages.length - done.length };
}

/**
 * The messages a partial batch response reports as failed. As in AWS, a
 * response naming an unknown or empty identifier fails the whole batch.
 */
export function failedMessageIds(result: unknown, messages: readonly Message[]): Set<string> {
  const all = new Set(messages.map((message) => message.MessageId ?? ''));
  const failures = (result as SQSBatchResponse | null)?.batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return all;
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = failure?.itemIdentifier;
    if (typeof id !== 'string' || !all.has(id)) return all;
    failed.add(id);
  }
  return failed;
}

function toRecord(
  message: Message,
  settings: Pick<EventSourceSettings, 'queueArn' | 'region'>,
): SQSRecord {
  const attributes = message.Attributes ?? {};
  const messageAttributes: SQSRecord['messageAttributes'] = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
      ...(value.BinaryValue === undefined
        ? {}
        : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? '000000000000',
      ApproximateFirstReceiveTimestamp:
        attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: settings.queueArn,
    awsRegion: settings.region,
  };
}
