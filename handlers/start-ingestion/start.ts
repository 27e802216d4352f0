import { createHash } from 'node:crypto';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { S3EventRecord } from 'aws-lambda';
import type { ExecutionInput, FailureRecord, FileRef } from '../shared/contracts.js';
import { fileRefOf, parseFileEventMessage } from '../shared/s3-event.js';
import { uploadStampOf } from '../shared/upload-order.js';

/** Configuration of the starter. */
export interface StartIngestionConfig {
  /** ARN of the ingest-file state machine. */
  readonly stateMachineArn: string;
}

/** One execution the starter asked for. */
export interface StartedExecution {
  readonly name: string;
  readonly file: FileRef;
  /** `already-started`: a duplicate notification; the named execution exists (running or done). */
  readonly status: 'started' | 'already-started';
  /** Present when this execution redrives a failed one. */
  readonly redriveOf?: string;
}

/** What the starter did with one SQS message. */
export type MessageOutcome =
  | { readonly kind: 'test-event' }
  | {
      readonly kind: 'records';
      readonly executions: readonly StartedExecution[];
      /** Event names of records that are not ObjectCreated (skipped). */
      readonly ignored: readonly string[];
    };

/** Step Functions limits execution names to 80 characters from this set. */
const NAME_MAX_LENGTH = 80;
const SLUG_MAX_LENGTH = 38;
const HASH_LENGTH = 32;

/**
 * The execution input for one S3 record: a pure function of the record (and of the
 * failure it redrives), never of the SQS message or a clock, so a duplicate delivery
 * yields the same name AND the same input (which Step Functions requires to treat a
 * repeated StartExecution of a running execution as idempotent). A redriven failure
 * record holds the original S3 record, so the redrive keeps its place in the upload
 * order: a redrive is a retry, not a new upload.
 */
export function executionInputFor(
  record: S3EventRecord,
  failure?: FailureRecord['failure'],
): ExecutionInput {
  const file = fileRefOf(record);
  return {
    file,
    upload: uploadStampOf(record, file.key),
    Records: [record],
    ...(failure === undefined ? {} : { redriveOf: failure.executionArn }),
  };
}

/**
 * The deterministic execution name of a file version: a readable slug of the key
 * plus a hash of bucket, key, version (versionId, else ETag) and sequencer. A redrive
 * also hashes the failed execution's ARN and failure time, so it gets a new name that
 * is still the same for every delivery of the same failure record.
 */
export function executionNameFor(file: FileRef, failure?: FailureRecord['failure']): string {
  const identity = [file.bucket, file.key, file.versionId ?? file.eTag ?? '', file.sequencer ?? ''];
  if (failure !== undefined) identity.push(failure.executionArn, failure.time);
  const hash = createHash('sha256')
    .update(JSON.stringify(identity))
    .digest('hex')
    .slice(0, HASH_LENGTH);
  const baseName = file.key.slice(file.key.lastIndexOf('/') + 1);
  const slug = baseName
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, SLUG_MAX_LENGTH)
    .replace(/-+$/, '');
  const name = [failure === undefined ? '' : 'redrive', slug, hash]
    .filter((part) => part !== '')
    .join('-');
  return name.slice(0, NAME_MAX_LENGTH);
}

/**
 * Starts one execution per ObjectCreated record of one file-events message. Throws on
 * a malformed message or a failed StartExecution; executions already started by an
 * earlier delivery count as success, so retrying the whole message is safe.
 */
export async function startIngestionForMessage(
  sfn: SFNClient,
  config: StartIngestionConfig,
  body: string,
): Promise<MessageOutcome> {
  const message = parseFileEventMessage(body);
  if (message.kind === 'test') return { kind: 'test-event' };

  const executions: StartedExecution[] = [];
  // Sequential on purpose: a message holds one record in practice, and on a failure
  // the records before it are already started, so the redelivery skips them.
  for (const record of message.records) {
    const input = executionInputFor(record, message.failure);
    const name = executionNameFor(input.file, message.failure);
    const status = await startExecution(sfn, config.stateMachineArn, name, input);
    executions.push({
      name,
      file: input.file,
      status,
      ...(input.redriveOf === undefined ? {} : { redriveOf: input.redriveOf }),
    });
  }
  return { kind: 'records', executions, ignored: message.ignored };
}

async function startExecution(
  sfn: SFNClient,
  stateMachineArn: string,
  name: string,
  input: ExecutionInput,
): Promise<StartedExecution['status']> {
  try {
    await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
    );
    return 'started';
  } catch (error) {
    // The name is taken: this file version was already handed to the workflow.
    if (error instanceof Error && error.name === 'ExecutionAlreadyExists') return 'already-started';
    throw error;
  }
}
