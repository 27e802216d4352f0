import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { LambdaRuntime } from '../lambda/runtime.js';
import type { TaskState } from './definition.js';

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A Task state's local implementation: gets the effective input (Parameters applied). */
export type TaskHandler = (input: JsonValue) => Promise<JsonValue>;

/**
 * An error as Step Functions reports a failed task: `name` is the `Error`
 * that Retry/Catch match, `message` the `Cause`.
 */
export class TaskError extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

/** A Task resource the local stack cannot run. */
export class UnsupportedResourceError extends Error {
  constructor(state: string, resource: string) {
    super(
      `Task state "${state}" uses ${resource}, which the local stack does not run ` +
        '(supported: Lambda function ARNs, arn:aws:states:::lambda:invoke, arn:aws:states:::sqs:sendMessage)',
    );
    this.name = 'UnsupportedResourceError';
  }
}

const LAMBDA_ARN =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$/;

/**
 * Binds every Task state to its local implementation by its resource, as the
 * service would: a Lambda function (direct ARN or the `lambda:invoke`
 * integration) runs its handler module; `sqs:sendMessage` sends a real message
 * to the local SQS. Throws for a resource it cannot run, at boot.
 */
export function bindTasks(
  tasks: readonly TaskState[],
  runtime: LambdaRuntime,
  sqs: SQSClient,
): Record<string, TaskHandler> {
  const handlers: Record<string, TaskHandler> = {};
  for (const task of tasks) {
    handlers[task.name] = bindTask(task, runtime, sqs);
  }
  return handlers;
}

function bindTask(task: TaskState, runtime: LambdaRuntime, sqs: SQSClient): TaskHandler {
  const resource = task.resource;
  if (LAMBDA_ARN.test(resource)) {
    const fn = runtime.find(resource);
    if (!fn) throw new UnsupportedResourceError(task.name, `unknown function ${resource}`);
    return async (input) => {
      const outcome = await runtime.invoke(fn, input);
      if (!outcome.ok) throw functionFailure(outcome.error);
      return outcome.result as JsonValue;
    };
  }
  if (resource === 'arn:aws:states:::lambda:invoke') {
    const functionName = task.parameters?.FunctionName;
    if (typeof functionName !== 'string' || !runtime.find(functionName)) {
      throw new UnsupportedResourceError(
        task.name,
        `lambda:invoke of ${String(functionName ?? task.parameters?.['FunctionName.$'])}`,
      );
    }
    return async (input) => {
      const request = (input ?? {}) as { FunctionName?: string; Payload?: JsonValue };
      const fn = runtime.find(request.FunctionName ?? functionName);
      if (!fn) {
        throw new TaskError(
          'Lambda.ResourceNotFoundException',
          `Function not found: ${request.FunctionName}`,
        );
      }
      const outcome = await runtime.invoke(fn, request.Payload ?? {});
      if (!outcome.ok) throw functionFailure(outcome.error);
      // The lambda:invoke integration wraps the function's result in the Invoke response.
      return {
        ExecutedVersion: '$LATEST',
        Payload: outcome.result as JsonValue,
        SdkHttpMetadata: { HttpStatusCode: 200 },
        SdkResponseMetadata: { RequestId: crypto.randomUUID() },
        StatusCode: 200,
      };
    };
  }
  if (resource === 'arn:aws:states:::sqs:sendMessage') {
    return async (input) => {
      const request = (input ?? {}) as {
        QueueUrl?: string;
        MessageBody?: JsonValue;
        DelaySeconds?: number;
        MessageGroupId?: string;
        MessageDeduplicationId?: string;
        MessageAttributes?: Record<string, { DataType?: string; StringValue?: string }>;
      };
      try {
        const sent = await sqs.send(
          new SendMessageCommand({
            QueueUrl: request.QueueUrl,
            // The integration serialises a JSON MessageBody to its text.
            MessageBody:
              typeof request.MessageBody === 'string'
                ? request.MessageBody
                : JSON.stringify(request.MessageBody),
            ...(request.DelaySeconds === undefined ? {} : { DelaySeconds: request.DelaySeconds }),
            ...(request.MessageAttributes
              ? {
                  MessageAttributes: Object.fromEntries(
                    Object.entries(request.MessageAttributes).map(([name, value]) => [
                      name,
                      { DataType: value.DataType ?? 'String', StringValue: value.StringValue },
                    ]),
                  ),
                }
              : {}),
            ...(request.MessageGroupId ? { MessageGroupId: request.MessageGroupId } : {}),
            ...(request.MessageDeduplicationId
              ? { MessageDeduplicationId: request.MessageDeduplicationId }
              : {}),
          }),
        );
        return {
          MessageId: sent.MessageId ?? '',
          Md5OfMessageBody: sent.MD5OfMessageBody ?? '',
          SdkHttpMetadata: { HttpStatusCode: 200 },
          SdkResponseMetadata: { RequestId: sent.$metadata.requestId ?? '' },
        };
      } catch (error) {
        const name = error instanceof Error ? error.name : 'Error';
        throw new TaskError(`SQS.${name}`, error instanceof Error ? error.message : String(error));
      }
    };
  }
  throw new UnsupportedResourceError(task.name, resource);
}

/** A function error as Step Functions reports it: Error = errorType, Cause = the error payload. */
function functionFailure(error: {
  errorType: string;
  errorMessage: string;
  trace: readonly string[];
}) {
  return new TaskError(
    error.errorType,
    JSON.stringify({
      errorType: error.errorType,
      errorMessage: error.errorMessage,
      trace: error.trace,
    }),
  );
}
