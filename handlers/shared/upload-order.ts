import type { S3EventRecord } from 'aws-lambda';
import { MalformedFileEventError } from './errors.js';

/**
 * The place of one file version in the upload order, and where its rows come from.
 * Fixed when S3 reports the upload (a pure function of the S3 record), carried by
 * the execution input and the failure record, so a redrive keeps its original place.
 *
 * The order is the tuple (uploadedAt, key, sequencer), compared field by field:
 * - `uploadedAt`: S3's eventTime (when S3 finished the PUT), to the millisecond;
 * - `key`: the object key, compared by its UTF-8 bytes, as DynamoDB compares strings;
 * - `sequencer`: S3's ordering token of events on one key, right-padded with zeros
 *   (S3's rule for comparing sequencers of different lengths).
 * For two versions of one key the sequencer decides whenever their event times tie
 * to the millisecond; see docs/workflow.md for why one tuple (a total order) is
 * compared rather than "sequencer for one key, time across keys" (not transitive).
 */
export interface UploadStamp {
  /** S3's eventTime, normalized to `YYYY-MM-DDTHH:mm:ss.sssZ`. */
  readonly uploadedAt: string;
  /** The object key, URL-decoded. */
  readonly key: string;
  /** S3's sequencer, upper-case hex right-padded with zeros to SEQUENCER_WIDTH; empty when S3 sent none. */
  readonly sequencer: string;
  /** The object version: its versionId, else its ETag (quotes stripped), else empty. */
  readonly version: string;
}

/** Width sequencers are padded to (S3's are 16–20 hex digits today). */
export const SEQUENCER_WIDTH = 32;

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const HEX = /^[0-9A-Fa-f]+$/;

/**
 * The upload stamp of one S3 record (its key already URL-decoded by the caller).
 * Throws MalformedFileEventError when the record's eventTime or sequencer cannot
 * be ordered.
 */
export function uploadStampOf(
  record: S3EventRecord,
  decodedKey: string,
  where = 'Records[0]',
): UploadStamp {
  const { object } = record.s3;
  const version = object.versionId || (object.eTag ?? '').replaceAll('"', '');
  return {
    uploadedAt: normalizeEventTime(record.eventTime, `${where}.eventTime`),
    key: decodedKey,
    sequencer: normalizeSequencer(object.sequencer ?? '', `${where}.s3.object.sequencer`),
    version,
  };
}

/** S3's eventTime as a fixed-width UTC timestamp with milliseconds. */
export function normalizeEventTime(value: unknown, where = 'eventTime'): string {
  if (typeof value !== 'string' || !isCalendarTime(value)) {
    throw new MalformedFileEventError(
      `${where} must be an ISO 8601 time such as 2026-11-28T10:00:00.000Z (it fixes the file's place in the upload order), got ${JSON.stringify(value)}`,
    );
  }
  const iso = new Date(value).toISOString();
  // toISOString widens years past 9999 to ±YYYYYY, which no longer sorts as text.
  if (iso.length !== 24) throw new MalformedFileEventError(`${where} is out of range: ${value}`);
  return iso;
}

/** True for an ISO 8601 time whose fields name a real moment (Date.parse rolls 02-30 over to March). */
function isCalendarTime(value: string): boolean {
  const match = ISO_TIME.exec(value);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as number[];
  const date = new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day ?? 1, hour, minute, second));
  return (
    date.getUTCMonth() === (month ?? 1) - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second
  );
}

/** A sequencer as comparable text: upper-case, right-padded with zeros; empty stays empty. */
export function normalizeSequencer(value: string, where = 'sequencer'): string {
  if (value === '') return '';
  if (!HEX.test(value)) {
    throw new MalformedFileEventError(`${where} must be hexadecimal, got ${JSON.stringify(value)}`);
  }
  return value.toUpperCase().padEnd(SEQUENCER_WIDTH, '0');
}

/** Compares two strings by their UTF-8 bytes, as DynamoDB orders strings. */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The fields of a stamp that decide its place in the upload order. */
export type UploadOrder = Pick<UploadStamp, 'uploadedAt' | 'key' | 'sequencer'>;

/** Negative when `a` was uploaded before `b`, positive after, 0 for the same upload. */
export function compareUploads(a: UploadOrder, b: UploadOrder): number {
  return (
    compareUtf8(a.uploadedAt, b.uploadedAt) ||
    compareUtf8(a.key, b.key) ||
    compareUtf8(a.sequencer, b.sequencer)
  );
}
