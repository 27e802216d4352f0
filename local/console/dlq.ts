import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { readableCause } from '../cli/format.js';
import { firstProblem, parseFailure } from '../cli/report.js';
import { peekMessages, redrive } from '../wiring/redrive.js';
import type { DlqMessageView, DlqView, RedriveResult } from './model.js';

/** The messages of the DLQ, oldest first, each read as a failure record when it is one. */
export async function listDlq(sqs: SQSClient, dlqUrl: string, queueUrl: string): Promise<DlqView> {
  const messages = (await peekMessages(sqs, dlqUrl)).map(toView);
  messages.sort((a, b) => (a.sentAt ?? '').localeCompare(b.sentAt ?? ''));
  return { queueUrl: dlqUrl, sourceQueueUrl: queueUrl, messages };
}

/**
 * Moves messages back to the file-events queue: the ones named, or every one
 * that is in the DLQ now. Each starts exactly one new execution.
 */
export async function redriveDlq(
  sqs: SQSClient,
  dlqUrl: string,
  queueUrl: string,
  messageIds?: readonly string[],
): Promise<RedriveResult> {
  const only = messageIds === undefined ? undefined : new Set(messageIds);
  const moved = await redrive(sqs, dlqUrl, queueUrl, only === undefined ? {} : { only });
  return { moved, requested: only?.size ?? moved };
}

function toView(message: Message): DlqMessageView {
  const body = message.Body ?? '';
  const record = parseFailure(body);
  const key = record?.Records[0]?.s3?.object?.key;
  const failure = record?.failure;
  const sent = Number(message.Attributes?.SentTimestamp);
  const received = Number(message.Attributes?.ApproximateReceiveCount);
  return {
    messageId: message.MessageId ?? '',
    // S3 writes keys form-URL-encoded in its events.
    ...(key ? { file: decodeURIComponent(key.replaceAll('+', ' ')) } : {}),
    ...(failure?.error ? { error: failure.error } : {}),
    ...(failure?.cause
      ? {
          cause: failure.cause,
          readableCause: readableCause(failure.cause),
          problem: firstProblem(failure.cause),
        }
      : {}),
    ...(failure?.state ? { state: failure.state } : {}),
    ...(failure?.time ? { time: failure.time } : {}),
    ...(failure?.executionArn ? { executionArn: failure.executionArn } : {}),
    ...(Number.isFinite(sent) ? { sentAt: new Date(sent).toISOString() } : {}),
    ...(Number.isFinite(received) ? { receiveCount: received } : {}),
    body,
  };
}
