import type { FailureRecord } from '../shared/contracts.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { isRecord } from '../shared/guards.js';

/**
 * Builds the message the workflow sends to the dead-letter queue from the record the
 * `*Failed` Pass states put together, so that the send cannot fail on its content:
 *
 * - `failure.cause` is the plain error message: when Step Functions hands over a
 *   Lambda error payload (`{"errorType","errorMessage","trace"}`), its `errorMessage`;
 *   any other cause as it is;
 * - every character SQS refuses in a message (U+FFFE, U+FFFF, lone surrogates;
 *   controls are escaped by JSON already), and every character from U+10000 up (real
 *   SQS takes those, some emulators do not), is written as a JSON `\uXXXX` escape: the
 *   text is a different spelling of the very same JSON value, so the starter's
 *   `JSON.parse` reads back every key and cause exactly;
 * - the body is at most MAX_MESSAGE_BODY_BYTES; a longer cause is cut, with a note in
 *   the cause and in `failure.cut` saying what was cut.
 */

/**
 * Largest message body, in UTF-8 bytes: a quarter of SQS's 256 KiB limit. The builder's
 * output (the body, re-escaped as a JSON string, and the failure) must also stay below
 * Step Functions' 256 KiB state limit: 64 KiB × 2 (escaping quotes and backslashes
 * again) + 64 KiB leaves room to spare. Step Functions keeps at most 32,768 characters
 * of a cause, so only causes of mostly non-ASCII text reach it.
 */
export const MAX_MESSAGE_BODY_BYTES = 64 * 1024;

/** Longest `error` message attribute: SQS attribute values share the body's limit, names stay short. */
const MAX_ATTRIBUTE_CHARS = 256;

/** What the workflow sends, and what its Fail state reports. */
export interface BuiltFailureRecord {
  /** The record as SQS-safe JSON text, the `MessageBody` of SendToDeadLetterQueue. */
  readonly messageBody: string;
  /** The error name for the `error` message attribute (SQS-safe, at most 256 characters). */
  readonly errorAttribute: string;
  /** The failure as the body holds it (plain cause), for the execution's Fail state. */
  readonly failure: FailureRecord['failure'] & { readonly cut?: readonly string[] };
  /** UTF-8 size of `messageBody`. */
  readonly bytes: number;
}

// Characters SQS refuses, and everything from U+10000 up (a surrogate pair in JS text):
// #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD are all a message may hold.
const NOT_SQS_SAFE = /[\uFFFE\uFFFF\uD800-\uDFFF]/g;

const escapeUnit = (unit: string) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * `JSON.stringify(value)` with every character outside SQS's allowed set, and every
 * character from U+10000 up, written as a `\uXXXX` escape. Those characters can only
 * occur inside JSON strings, where the escape means the same character, so
 * `JSON.parse` of the result equals `JSON.parse(JSON.stringify(value))`.
 */
export function sqsSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(NOT_SQS_SAFE, escapeUnit);
}

// Outside what SQS allows, or from U+10000 up (a surrogate, in JS text): what fauxqs refuses.
const REFUSED_BY_SQS_OR_EMULATORS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/g;

/** True when SQS (and the local emulator) accept `text` as a message body or attribute value. */
export function isSqsSafe(text: string): boolean {
  return !new RegExp(REFUSED_BY_SQS_OR_EMULATORS.source).test(text);
}

/**
 * The plain message of a Step Functions error cause: the `errorMessage` of a Lambda
 * error payload, otherwise the cause itself (an empty cause says so).
 */
export function plainCause(cause: unknown): string {
  if (typeof cause !== 'string') return cause === undefined ? '' : JSON.stringify(cause);
  const text = cause.trim();
  if (text.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (isRecord(parsed) && typeof parsed.errorMessage === 'string') return parsed.errorMessage;
    } catch {
      // Not JSON after all: the text is the message.
    }
  }
  return cause;
}

/** The record the `*Failed` Pass states build: S3 records, failure, anything else passed through. */
interface RawFailureRecord {
  readonly Records: readonly unknown[];
  readonly failure: Record<string, unknown>;
  readonly [field: string]: unknown;
}

function parseInput(event: unknown): RawFailureRecord {
  const problems: string[] = [];
  if (!isRecord(event)) {
    throw new InvalidTaskInputError(
      'Invalid BuildFailureRecord input: must be an object { Records, failure }',
    );
  }
  if (!Array.isArray(event.Records)) problems.push('Records must be an array');
  if (!isRecord(event.failure)) problems.push('failure must be an object');
  else if (typeof event.failure.error !== 'string') problems.push('failure.error must be a string');
  if (problems.length > 0) {
    throw new InvalidTaskInputError(`Invalid BuildFailureRecord input: ${problems.join('; ')}`);
  }
  return event as RawFailureRecord;
}

/** The fields of an S3 record the starter needs to redrive it (s3-event.ts, start.ts). */
function redriveFieldsOf(record: unknown): unknown {
  if (!isRecord(record) || !isRecord(record.s3)) return record;
  const { bucket, object } = record.s3;
  const keep = (source: unknown, fields: readonly string[]): Record<string, unknown> =>
    isRecord(source)
      ? Object.fromEntries(fields.filter((field) => field in source).map((f) => [f, source[f]]))
      : {};
  return {
    ...keep(record, ['eventVersion', 'eventSource', 'awsRegion', 'eventTime', 'eventName']),
    s3: {
      ...keep(record.s3, ['s3SchemaVersion', 'configurationId']),
      bucket: keep(bucket, ['name', 'arn']),
      object: keep(object, ['key', 'size', 'eTag', 'versionId', 'sequencer']),
    },
  };
}

const bytesOf = (text: string) => Buffer.byteLength(text, 'utf8');

/**
 * Builds the SQS-safe failure record (see the module comment). Throws
 * InvalidTaskInputError when the input is not a failure record, or when even without
 * its cause and with its S3 records reduced to what a redrive needs it would not fit
 * `maxBytes` (the workflow then fails with FailureRecordLostError, naming the file).
 */
export function buildFailureRecord(
  event: unknown,
  maxBytes: number = MAX_MESSAGE_BODY_BYTES,
): BuiltFailureRecord {
  const input = parseInput(event);
  const { Records, failure: raw, ...rest } = input;
  const error = raw.error as string;
  const cause = plainCause(raw.cause) || `${error} (Step Functions gave no cause)`;
  const failure = {
    ...raw,
    error,
    cause,
    executionArn: String(raw.executionArn ?? ''),
    state: String(raw.state ?? ''),
    time: String(raw.time ?? ''),
  };
  const cut: string[] = [];
  const body = (records: readonly unknown[], causeText: string) =>
    sqsSafeJson({
      ...rest,
      Records: records,
      failure: { ...failure, cause: causeText, ...(cut.length > 0 ? { cut } : {}) },
    });

  let records: readonly unknown[] = Records;
  let text = body(records, cause);
  let keptCause = cause;
  if (bytesOf(text) > maxBytes) {
    const note = (kept: number, total: number) =>
      `\n… [cut: ${kept.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} characters shown; the whole cause is in the execution's history]`;
    const codePoints = [...cause];
    const total = codePoints.length;
    const causeCut = (kept: number) =>
      `cause: ${kept.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} characters kept`;
    // Sized with every character kept: the final note, with fewer, is never longer.
    cut.push(causeCut(total));
    if (bytesOf(body(records, note(total, total))) > maxBytes) {
      records = Records.map(redriveFieldsOf);
      cut.push('Records: only the fields a redrive needs');
    }
    const overhead = bytesOf(body(records, note(total, total)));
    if (overhead > maxBytes) {
      throw new InvalidTaskInputError(
        `The failure record would be ${overhead} bytes even without its cause (limit ${maxBytes}): its S3 records or other fields are too large to send`,
      );
    }
    // Keep as many leading code points as fit, counted as the body spells them.
    let room = maxBytes - overhead;
    let kept = 0;
    for (const codePoint of codePoints) {
      const size = bytesOf(sqsSafeJson(codePoint)) - 2;
      if (size > room) break;
      room -= size;
      kept += 1;
    }
    cut[0] = causeCut(kept);
    keptCause = codePoints.slice(0, kept).join('') + note(kept, total);
    text = body(records, keptCause);
  }
  return {
    messageBody: text,
    errorAttribute: [...error]
      .slice(0, MAX_ATTRIBUTE_CHARS)
      .join('')
      .replace(REFUSED_BY_SQS_OR_EMULATORS, '?'),
    failure: { ...failure, cause: keptCause, ...(cut.length > 0 ? { cut } : {}) },
    bytes: bytesOf(text),
  };
}
