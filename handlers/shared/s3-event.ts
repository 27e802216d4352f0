import type { S3EventRecord } from 'aws-lambda';
import type { FailureRecord, FileRef } from './contracts.js';
import { excerpt, MalformedFileEventError } from './errors.js';
import { isRecord } from './guards.js';

/**
 * Parsing of the messages on the file-events queue: S3 event notifications as S3
 * sends them, S3's one-off `s3:TestEvent`, and failure records moved back from the
 * DLQ (an S3 notification plus `failure`).
 */

/** A parsed file-events message. */
export type FileEventMessage =
  | { readonly kind: 'test' }
  | {
      readonly kind: 'records';
      /** ObjectCreated records, in message order, exactly as S3 sent them. */
      readonly records: readonly S3EventRecord[];
      /** Records of other event types (ignored, reported for logging). */
      readonly ignored: readonly string[];
      /** Present when the message is a redriven failure record. */
      readonly failure?: FailureRecord['failure'];
    };

/**
 * Decodes an object key as S3 writes it into event notifications: form-URL-encoded,
 * so `+` is a space and everything else is percent-encoded UTF-8.
 */
export function decodeS3Key(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replaceAll('+', ' '));
  } catch {
    throw new MalformedFileEventError(
      `object key "${encoded}" is not valid URL encoding (malformed percent escape)`,
    );
  }
}

/** Parses one SQS message body from the file-events queue, or explains what is wrong. */
export function parseFileEventMessage(body: string): FileEventMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new MalformedFileEventError(
      `message body is not JSON (${error instanceof Error ? error.message : String(error)}): ${excerpt(body, 200)}`,
    );
  }
  if (!isRecord(parsed)) {
    throw new MalformedFileEventError(`message body must be a JSON object: ${excerpt(body, 200)}`);
  }
  if (parsed.Event === 's3:TestEvent') return { kind: 'test' };
  if (!Array.isArray(parsed.Records)) {
    throw new MalformedFileEventError(
      `message body has no "Records" array: not an S3 event notification or failure record: ${excerpt(body, 200)}`,
    );
  }

  if (parsed.Records.length === 0) {
    // S3 never sends one; a hand-edited failure record would otherwise vanish unseen.
    throw new MalformedFileEventError(`message body's "Records" is empty: ${excerpt(body, 200)}`);
  }
  const records: S3EventRecord[] = [];
  const ignored: string[] = [];
  parsed.Records.forEach((record: unknown, index: number) => {
    const where = `Records[${index}]`;
    if (!isRecord(record)) throw new MalformedFileEventError(`${where} must be an object`);
    const eventName = record.eventName;
    if (typeof eventName !== 'string') {
      throw new MalformedFileEventError(`${where}.eventName must be a string`);
    }
    if (!eventName.startsWith('ObjectCreated:')) {
      ignored.push(eventName);
      return;
    }
    assertS3Record(record, where);
    records.push(record);
  });

  const failure = parsed.failure === undefined ? undefined : parseFailure(parsed.failure);
  return { kind: 'records', records, ignored, ...(failure === undefined ? {} : { failure }) };
}

/** The object version an S3 record announces, with the key URL-decoded. */
export function fileRefOf(record: S3EventRecord): FileRef {
  const { bucket, object } = record.s3;
  const eTag = object.eTag === undefined ? undefined : object.eTag.replaceAll('"', '');
  return {
    bucket: bucket.name,
    key: decodeS3Key(object.key),
    ...(object.versionId ? { versionId: object.versionId } : {}),
    ...(eTag ? { eTag } : {}),
    ...(typeof object.size === 'number' ? { size: object.size } : {}),
    ...(object.sequencer ? { sequencer: object.sequencer } : {}),
  };
}

function assertS3Record(
  record: Record<string, unknown>,
  where: string,
): asserts record is Record<string, unknown> & S3EventRecord {
  const s3 = record.s3;
  if (!isRecord(s3)) throw new MalformedFileEventError(`${where}.s3 must be an object`);
  if (!isRecord(s3.bucket) || typeof s3.bucket.name !== 'string' || s3.bucket.name === '') {
    throw new MalformedFileEventError(`${where}.s3.bucket.name must be a non-empty string`);
  }
  const object = s3.object;
  if (!isRecord(object)) throw new MalformedFileEventError(`${where}.s3.object must be an object`);
  if (typeof object.key !== 'string' || object.key === '') {
    throw new MalformedFileEventError(`${where}.s3.object.key must be a non-empty string`);
  }
  for (const field of ['eTag', 'versionId', 'sequencer'] as const) {
    const value = object[field];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw new MalformedFileEventError(`${where}.s3.object.${field} must be a string`);
    }
  }
  if (object.size !== undefined && typeof object.size !== 'number') {
    throw new MalformedFileEventError(`${where}.s3.object.size must be a number`);
  }
}

function parseFailure(raw: unknown): FailureRecord['failure'] {
  if (!isRecord(raw)) throw new MalformedFileEventError('"failure" must be an object');
  const fields = ['error', 'cause', 'executionArn', 'state', 'time'] as const;
  const problems = fields.filter((field) => typeof raw[field] !== 'string');
  if (problems.length > 0) {
    throw new MalformedFileEventError(
      `"failure" must carry string fields ${fields.join(', ')}; bad or missing: ${problems.join(', ')}`,
    );
  }
  return {
    error: raw.error as string,
    cause: raw.cause as string,
    executionArn: raw.executionArn as string,
    state: raw.state as string,
    time: raw.time as string,
  };
}
