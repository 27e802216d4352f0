import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { redrive } from './redrive.js';

/**
 * SQS's message move tasks (StartMessageMoveTask, ListMessageMoveTasks,
 * CancelMessageMoveTask), which fauxqs lacks: the DLQ redrive the AWS docs and
 * `aws sqs start-message-move-task` use. Each task moves the messages that are in
 * the source DLQ when it starts (the local `redrive`: sent first, deleted after).
 */

/** An error SQS answers with: `code` is the `__type` the SDKs and the AWS CLI read. */
export class SqsApiError extends Error {
  constructor(
    readonly code: 'ResourceNotFoundException' | 'InvalidParameterValue' | 'UnsupportedOperation',
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

type Status = 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';

interface Task {
  readonly handle: string;
  readonly sourceArn: string;
  readonly destinationArn?: string;
  readonly maxPerSecond?: number;
  readonly startedAt: number;
  status: Status;
  moved: number;
  toMove?: number;
  failureReason?: string;
  readonly abort: AbortController;
  done: Promise<void>;
}

/** Tasks kept per source queue for ListMessageMoveTasks (AWS lists the latest 10). */
const LISTED_TASKS = 10;

/** Runs and lists message move tasks against one SQS endpoint. */
export class MessageMoveTasks {
  private readonly tasks: Task[] = [];

  constructor(private readonly sqs: SQSClient) {}

  /** StartMessageMoveTask. */
  async start(request: Record<string, unknown>): Promise<{ TaskHandle: string }> {
    const sourceArn = stringField(request, 'SourceArn', true) as string;
    const destinationArn = stringField(request, 'DestinationArn', false);
    const rate = request.MaxNumberOfMessagesPerSecond;
    if (
      rate !== undefined &&
      (!Number.isInteger(rate) || (rate as number) < 1 || (rate as number) > 500)
    ) {
      throw new SqsApiError(
        'InvalidParameterValue',
        'Value for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be an integer from 1 to 500.',
      );
    }
    const sourceUrl = await this.urlOf(sourceArn, 'SourceArn');
    const sources = await this.queuesRedrivingTo(sourceArn);
    if (sources.length === 0) {
      throw new SqsApiError(
        'InvalidParameterValue',
        `Source queue must be configured as a Dead Letter Queue: no queue names ${sourceArn} in its RedrivePolicy.`,
      );
    }
    const destinationUrl =
      destinationArn === undefined ? undefined : await this.urlOf(destinationArn, 'DestinationArn');
    if (this.tasks.some((task) => task.sourceArn === sourceArn && task.status === 'RUNNING')) {
      throw new SqsApiError(
        'UnsupportedOperation',
        'There is already a task running. Only one active task is allowed for each source queue arn at a given time.',
      );
    }
    const handle = Buffer.from(JSON.stringify({ taskId: crypto.randomUUID(), sourceArn })).toString(
      'base64',
    );
    const task: Task = {
      handle,
      sourceArn,
      ...(destinationArn === undefined ? {} : { destinationArn }),
      ...(typeof rate === 'number' ? { maxPerSecond: rate } : {}),
      startedAt: Date.now(),
      status: 'RUNNING',
      moved: 0,
      abort: new AbortController(),
      done: Promise.resolve(),
    };
    // Without a destination AWS returns each message to the queue it came from; fauxqs
    // does not record that, so the one queue that dead-letters to this DLQ is used.
    const target = destinationUrl ?? (sources.length === 1 ? sources[0]?.url : undefined);
    task.done = (async () => {
      if (target === undefined) {
        task.status = 'FAILED';
        task.failureReason = `${sources.length} queues dead-letter to ${sourceArn}: name one with DestinationArn`;
        return;
      }
      try {
        await redrive(this.sqs, sourceUrl, target, {
          signal: task.abort.signal,
          onStart: (count) => {
            task.toMove = count;
          },
          onMoved: (moved) => {
            task.moved = moved;
          },
          ...(task.maxPerSecond === undefined ? {} : { maxPerSecond: task.maxPerSecond }),
        });
        task.status = task.abort.signal.aborted ? 'CANCELLED' : 'COMPLETED';
      } catch (error) {
        task.status = 'FAILED';
        task.failureReason = error instanceof Error ? error.message : String(error);
      }
    })();
    this.tasks.unshift(task);
    return { TaskHandle: handle };
  }

  /** ListMessageMoveTasks: the latest tasks of a source queue, newest first. */
  async list(request: Record<string, unknown>): Promise<{ Results: Record<string, unknown>[] }> {
    const sourceArn = stringField(request, 'SourceArn', true) as string;
    await this.urlOf(sourceArn, 'SourceArn');
    const max = request.MaxResults ?? 1;
    if (!Number.isInteger(max) || (max as number) < 1 || (max as number) > LISTED_TASKS) {
      throw new SqsApiError(
        'InvalidParameterValue',
        `Value for parameter MaxResults is invalid. Reason: must be an integer from 1 to ${LISTED_TASKS}.`,
      );
    }
    const results = this.tasks
      .filter((task) => task.sourceArn === sourceArn)
      .slice(0, max as number)
      .map((task) => ({
        ...(task.status === 'RUNNING' ? { TaskHandle: task.handle } : {}),
        Status: task.status,
        SourceArn: task.sourceArn,
        ...(task.destinationArn === undefined ? {} : { DestinationArn: task.destinationArn }),
        ...(task.maxPerSecond === undefined
          ? {}
          : { MaxNumberOfMessagesPerSecond: task.maxPerSecond }),
        ApproximateNumberOfMessagesMoved: task.moved,
        ...(task.toMove === undefined ? {} : { ApproximateNumberOfMessagesToMove: task.toMove }),
        ...(task.failureReason === undefined ? {} : { FailureReason: task.failureReason }),
        StartedTimestamp: task.startedAt,
      }));
    return { Results: results };
  }

  /** CancelMessageMoveTask: stops a running task; what it moved stays moved. */
  async cancel(
    request: Record<string, unknown>,
  ): Promise<{ ApproximateNumberOfMessagesMoved: number }> {
    const handle = stringField(request, 'TaskHandle', true) as string;
    const task = this.tasks.find((candidate) => candidate.handle === handle);
    if (!task) {
      throw new SqsApiError(
        'ResourceNotFoundException',
        `No message move task has the handle ${handle}.`,
      );
    }
    if (task.status !== 'RUNNING') {
      throw new SqsApiError(
        'UnsupportedOperation',
        `The task is ${task.status}: only a RUNNING task can be cancelled.`,
      );
    }
    task.status = 'CANCELLING';
    task.abort.abort();
    await task.done;
    return { ApproximateNumberOfMessagesMoved: task.moved };
  }

  /** Cancels every running task and waits for them (the stack is stopping). */
  async stop(): Promise<void> {
    for (const task of this.tasks) if (task.status === 'RUNNING') task.abort.abort();
    await Promise.allSettled(this.tasks.map((task) => task.done));
  }

  /** The URL of the queue an ARN names, or ResourceNotFoundException. */
  private async urlOf(arn: string, field: string): Promise<string> {
    const match = /^arn:aws[a-z-]*:sqs:([a-z0-9-]+):(\d{12}):(.+)$/.exec(arn);
    if (!match) {
      throw new SqsApiError(
        'InvalidParameterValue',
        `Value ${arn} for parameter ${field} is invalid: not a queue ARN.`,
      );
    }
    try {
      const found = await this.sqs.send(
        new GetQueueUrlCommand({ QueueName: match[3], QueueOwnerAWSAccountId: match[2] }),
      );
      if (found.QueueUrl) return found.QueueUrl;
    } catch (error) {
      if (!(error instanceof Error && /QueueDoesNotExist|NonExistentQueue/.test(error.name)))
        throw error;
    }
    throw new SqsApiError(
      'ResourceNotFoundException',
      `The resource that you specified for the ${field} parameter doesn't exist: ${arn}`,
    );
  }

  /** The queues whose RedrivePolicy sends their dead letters to `dlqArn`. */
  private async queuesRedrivingTo(dlqArn: string): Promise<{ url: string }[]> {
    const listed = await this.sqs.send(new ListQueuesCommand({}));
    const sources: { url: string }[] = [];
    for (const url of listed.QueueUrls ?? []) {
      const attributes = await this.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['RedrivePolicy'] }),
      );
      const policy = attributes.Attributes?.RedrivePolicy;
      if (!policy) continue;
      try {
        if (
          (JSON.parse(policy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn === dlqArn
        ) {
          sources.push({ url });
        }
      } catch {
        // A policy that is not JSON names no DLQ.
      }
    }
    return sources;
  }
}

function stringField(
  request: Record<string, unknown>,
  field: string,
  required: boolean,
): string | undefined {
  const value = request[field];
  if (value === undefined || value === null) {
    if (!required) return undefined;
    throw new SqsApiError(
      'InvalidParameterValue',
      `The request must contain the parameter ${field}.`,
    );
  }
  if (typeof value !== 'string' || value === '') {
    throw new SqsApiError(
      'InvalidParameterValue',
      `Value for parameter ${field} must be a non-empty string.`,
    );
  }
  return value;
}
