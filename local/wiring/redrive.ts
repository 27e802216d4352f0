import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/**
 * Seconds until a listed message is visible again. Not 0: fauxqs 2.4 fails a
 * visibility change to 0 on a persisted queue (its SQLite row loses the
 * receive count, a NOT NULL column).
 */
const RESHOW_SECONDS = 1;

/**
 * Reads every message of a queue without consuming it: each is received with a
 * visibility timeout (so one listing never sees a message twice), then made
 * visible again after one second. For the DLQ listing.
 */
export async function peekMessages(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const seen = new Map<string, Message>();
  // Messages another listing made invisible for a moment are waited for, twice at most.
  let waits = 2;
  for (let round = 0; round < 100; round += 1) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 30,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) {
      if (waits === 0 || (await inFlight(sqs, queueUrl)) <= seen.size) break;
      waits -= 1;
      await new Promise((resolve) => setTimeout(resolve, RESHOW_SECONDS * 1000 + 100));
      continue;
    }
    for (const message of messages) seen.set(message.MessageId ?? '', message);
  }
  const all = [...seen.values()];
  for (let start = 0; start < all.length; start += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: all.slice(start, start + 10).map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: RESHOW_SECONDS,
        })),
      }),
    );
  }
  return all;
}

/** How a redrive reports progress, can be cancelled and paced (a message move task). */
export interface RedriveOptions {
  /** Called once the messages to move are known (those in the DLQ when it started). */
  readonly onStart?: (toMove: number) => void;
  /** Called after each message moved, with the count so far. */
  readonly onMoved?: (moved: number) => void;
  /** Stops moving (messages not yet moved stay in the DLQ). */
  readonly signal?: AbortSignal;
  /** At most this many messages per second. @default unlimited */
  readonly maxPerSecond?: number;
  /** Move only the messages with these ids (the others stay). @default every message */
  readonly only?: ReadonlySet<string>;
}

/**
 * Moves the messages that are in the DLQ now back to the source queue (what
 * SQS's DLQ redrive does): each is sent first and deleted after, so nothing is
 * lost. Failure records that arrive while it runs (a redriven file failing
 * again) stay for the next redrive; so do the others when `only` names the
 * message ids to move. Returns the number of messages moved.
 */
export async function redrive(
  sqs: SQSClient,
  dlqUrl: string,
  queueUrl: string,
  options: RedriveOptions = {},
): Promise<number> {
  const { only } = options;
  const pending = new Set(
    (await peekMessages(sqs, dlqUrl))
      .map((message) => message.MessageId)
      .filter((id) => only === undefined || (id !== undefined && only.has(id))),
  );
  options.onStart?.(pending.size);
  const started = Date.now();
  let moved = 0;
  for (let round = 0; pending.size > 0 && round < 1000; round += 1) {
    if (options.signal?.aborted) break;
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 30,
        // Long-poll: messages just listed reappear after RESHOW_SECONDS.
        WaitTimeSeconds: RESHOW_SECONDS + 1,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) break;
    for (const message of messages) {
      if (!pending.has(message.MessageId) || options.signal?.aborted) {
        // Arrived after the redrive started: leave it visible in the DLQ.
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: dlqUrl,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: RESHOW_SECONDS,
          }),
        );
        continue;
      }
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: message.Body ?? '',
          ...(message.MessageAttributes ? { MessageAttributes: message.MessageAttributes } : {}),
        }),
      );
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle }),
      );
      pending.delete(message.MessageId);
      moved += 1;
      options.onMoved?.(moved);
      if (options.maxPerSecond !== undefined) {
        const due = started + (moved / options.maxPerSecond) * 1000;
        if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      }
    }
  }
  return moved;
}

async function inFlight(sqs: SQSClient, queueUrl: string): Promise<number> {
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}
