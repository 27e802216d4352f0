import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import type { Options as CsvParseOptions } from 'csv-parse';
import { type CsvRecord, CsvScanner } from './csv-scanner.js';
import { type FileProblem, MalformedCsvError } from './errors.js';

export type { CsvRecord } from './csv-scanner.js';

/**
 * The one CSV reader of the system, used by the planner (the whole file, header
 * included) and by the loader (one planned byte range, header known from the plan).
 * Both scan with the same dialect (csv-scanner.ts), so a chunk parses exactly as the
 * planner saw it. The dialect is csv-parse's with `csvParseOptions`, record for record
 * and problem for problem; the scanner is that dialect alone, and several times faster.
 *
 * API (stable, imported by handlers/plan-file and handlers/load-chunk):
 *
 * ```ts
 * for await (const record of readCsvRecords(body, { delimiter, maxRecordBytes, offset, firstLine })) {
 *   record.fields; // string[]: the cells, unquoted, verbatim (no trimming)
 *   record.line;   // 1-based physical line where the record starts
 *   record.start;  // absolute byte offset of the record's first byte
 *   record.end;    // absolute byte offset just past its line break (or the end of file)
 * }
 * for await (const records of readCsvBatches(body, options)) ... // the same records, in arrays
 * ```
 *
 * Malformed text (invalid UTF-8, an unclosed or stray quote, a record over
 * `maxRecordBytes`) ends the iteration with a MalformedCsvError naming the line.
 */

/**
 * Default of MAX_RECORD_BYTES, the largest record the planner and the loader parse.
 * One constant for both, so a chunk always parses as it was planned. A record larger
 * than DynamoDB's 400 KB item limit could never be stored anyway.
 */
export const DEFAULT_MAX_RECORD_BYTES = 400 * 1024;

/** Smallest MAX_RECORD_BYTES accepted: below it even a short header would not fit. */
export const MIN_MAX_RECORD_BYTES = 64;

/** How to read one file or one chunk of it. */
export interface CsvReadOptions {
  /** Single-character field delimiter (the dataset's `delimiter`). */
  readonly delimiter: string;
  /** Largest record accepted, in bytes of field content (as csv-parse's `max_record_size` counts it). */
  readonly maxRecordBytes: number;
  /** Absolute byte offset of the source's first byte in the file. @default 0 */
  readonly offset?: number;
  /** Physical line number of the source's first byte. @default 1 */
  readonly firstLine?: number;
}

const LF = 0x0a;
/** Bytes scanned into one batch at most, past a record's end (S3 and file streams deliver 16 to 64 KiB). */
const PARSE_SLICE_BYTES = 4 * 1024;

/**
 * The csv-parse options that parse a dataset's files exactly as readCsvRecords does
 * (test/unit/csv-scanner.test.ts checks the scanner against csv-parse with them, and
 * the bench measures csv-parse with them): RFC 4180 quoting with `""` escapes and no
 * relaxed quotes, CRLF or LF per line (a bare CR is data), no trimming, no comments,
 * blank lines kept (they are reported, not silently skipped), a BOM stripped only at
 * the start of the file, and an explicit record size cap.
 *
 * Column counts are checked by `rowToItem` (handlers/shared/rows.ts) against the
 * header, so every short or long row is reported with its line, not only the first.
 */
export function csvParseOptions(
  options: Pick<CsvReadOptions, 'delimiter' | 'maxRecordBytes'> & { readonly bom: boolean },
): CsvParseOptions {
  return {
    bom: options.bom,
    delimiter: options.delimiter,
    // Explicit, in this order: auto-detection would pick whatever the first line
    // used, so a chunk could split lines differently from the planner.
    record_delimiter: ['\r\n', '\n'],
    quote: '"',
    escape: '"',
    relax_quotes: false,
    relax_column_count: true,
    skip_empty_lines: false,
    skip_records_with_error: false,
    trim: false,
    ltrim: false,
    rtrim: false,
    cast: false,
    columns: false,
    encoding: 'utf8',
    max_record_size: options.maxRecordBytes,
  };
}

/**
 * Streams records with their line numbers and byte ranges out of `source`, which
 * is read once and never buffered whole. Throws MalformedCsvError on malformed
 * text, after yielding every complete record before it (so callers see rows in
 * order up to the problem, whatever the stream's chunk sizes).
 */
export async function* readCsvRecords(
  source: Readable | AsyncIterable<Uint8Array>,
  options: CsvReadOptions,
): AsyncGenerator<CsvRecord, void, undefined> {
  for await (const batch of readCsvBatches(source, options)) yield* batch;
}

/**
 * readCsvRecords in batches: the records each piece of the source completes, in
 * order (a batch may be empty). Hot loops use it to pay one await per piece of the
 * source instead of one per record; errors and ordering are those of readCsvRecords.
 */
export async function* readCsvBatches(
  source: Readable | AsyncIterable<Uint8Array>,
  options: CsvReadOptions,
): AsyncGenerator<CsvRecord[], void, undefined> {
  const offset = options.offset ?? 0;
  const firstLine = options.firstLine ?? 1;
  const scanner = new CsvScanner({
    delimiter: options.delimiter,
    maxRecordBytes: options.maxRecordBytes,
    offset,
    firstLine,
    bom: offset === 0,
  });
  const guard = new Utf8Guard(offset, firstLine);

  for await (const piece of source) {
    const checked = guard.check(asBuffer(piece));
    scanner.append(checked.valid);
    // The records that end before an invalid byte are still yielded (and a problem
    // in them comes first); no byte order mark can be completed past it.
    if (checked.problem) scanner.noMoreBytes();
    for (const batch of scan(scanner, false)) yield batch;
    if (checked.problem) throw new MalformedCsvError(checked.problem);
  }
  const endProblem = guard.end();
  if (endProblem) {
    scanner.noMoreBytes();
    for (const batch of scan(scanner, false)) yield batch;
    throw new MalformedCsvError(endProblem);
  }
  for (const batch of scan(scanner, true)) yield batch;
}

/**
 * The scanner's records a slice at a time, so the caller holds a slice's records at
 * once, not a whole piece's: fewer live objects each time the GC runs means less is
 * copied and promoted, and V8 has less reason to grow the young generation. Throws
 * the first problem after the records before it.
 */
function* scan(scanner: CsvScanner, end: boolean): Generator<CsvRecord[], void, undefined> {
  for (;;) {
    const scanned = scanner.scan(PARSE_SLICE_BYTES, end);
    yield scanned.records;
    if (scanned.problem) throw new MalformedCsvError(scanned.problem);
    if (scanned.drained) return;
  }
}

/** The bytes as a Buffer, without copying. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Checks bytes as a fatal, streaming UTF-8 decoder would, so invalid bytes fail
 * with their line instead of becoming U+FFFD, and says how much of each chunk is
 * valid. The bulk of each chunk is checked by `isUtf8` (native, allocation-free:
 * a decoder would build a string of every chunk only to throw it away); only a
 * character split between chunks is assembled by hand.
 */
class Utf8Guard {
  /** Absolute offset and line number of the next chunk's first byte. */
  private offset: number;
  private line: number;
  /**
   * The last bytes checked (at most 3, whatever the chunk sizes): a sequence
   * still incomplete started there.
   */
  private tail: Uint8Array = new Uint8Array(0);
  /** The bytes of a character that the last chunk started but did not finish (0 to 3). */
  private pending: Uint8Array = new Uint8Array(0);

  constructor(offset: number, firstLine: number) {
    this.offset = offset;
    this.line = firstLine;
  }

  /** The chunk's bytes before the first invalid one, and the problem if there is one. */
  check(chunk: Uint8Array): { valid: Uint8Array; problem?: FileProblem } {
    if (!this.accept(chunk)) {
      const { at, problem } = this.locate(chunk);
      return { valid: chunk.subarray(0, Math.max(0, at - this.tail.length)), problem };
    }
    this.offset += chunk.length;
    this.line += countBytes(chunk, LF, 0, chunk.length);
    const joined = chunk.length >= 3 ? chunk : Buffer.concat([this.tail, chunk]);
    this.tail = joined.subarray(Math.max(0, joined.length - 3));
    return { valid: chunk };
  }

  /**
   * True when the bytes so far plus `chunk` are valid UTF-8 or a valid prefix of it
   * (exactly when a fatal streaming decoder would not throw), keeping the unfinished
   * character, if any, for the next chunk.
   */
  private accept(chunk: Uint8Array): boolean {
    let rest = chunk;
    if (this.pending.length > 0) {
      const need = sequenceLength(this.pending[0] ?? 0) - this.pending.length;
      if (chunk.length < need) {
        // Still unfinished: at most 3 bytes, checked as a prefix below.
        rest = Buffer.concat([this.pending, chunk]);
      } else {
        const head = Buffer.concat([this.pending, chunk.subarray(0, need)]);
        if (!isUtf8(head)) return false;
        rest = chunk.subarray(need);
      }
    }
    const split = unfinishedStart(rest);
    if (!isUtf8(rest.subarray(0, split))) return false;
    const unfinished = rest.subarray(split);
    if (!isValidPrefix(unfinished)) return false;
    this.pending = unfinished;
    return true;
  }

  /** The problem when the input ends inside a multi-byte character. */
  end(): FileProblem | undefined {
    return this.pending.length === 0 ? undefined : this.locate(new Uint8Array(0)).problem;
  }

  /** Finds the first invalid byte in the previous chunk's tail plus `chunk`. */
  private locate(chunk: Uint8Array): { at: number; problem: FileProblem } {
    const joined = Buffer.concat([this.tail, chunk]);
    const tailOffset = this.offset - this.tail.length;
    const tailLine = this.line - countBytes(this.tail, LF, 0, this.tail.length);
    // Everything before this chunk decoded fine, so scanning may start at the
    // tail's first byte that is not a continuation byte.
    let from = 0;
    while (from < this.tail.length && isContinuation(joined[from] ?? 0)) from++;
    const found = firstInvalidUtf8(joined, from);
    const at = found === -1 ? joined.length : found;
    const offset = tailOffset + at;
    const line = tailLine + countBytes(joined, LF, 0, at);
    const byte = joined[at];
    const utf16 = offset === 0 && (byte === 0xff || byte === 0xfe);
    const where =
      byte === undefined
        ? 'at the end of the file'
        : `byte 0x${byte.toString(16).toUpperCase().padStart(2, '0')} at byte offset ${offset}`;
    return {
      at,
      problem: {
        line,
        reason: utf16
          ? 'the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8'
          : `invalid UTF-8 (${where}); save the file as UTF-8`,
      },
    };
  }
}

function isContinuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/** Bytes of the sequence a lead byte starts (1 for ASCII and for bytes that cannot lead one). */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 1;
}

/** Where the sequence cut off by the end of `bytes` starts, or `bytes.length` if none is. */
function unfinishedStart(bytes: Uint8Array): number {
  // A sequence is at most 4 bytes: its lead is among the last 3 if it is unfinished.
  for (let at = bytes.length - 1; at >= 0 && at >= bytes.length - 3; at--) {
    const byte = bytes[at] ?? 0;
    if (isContinuation(byte)) continue;
    return at + sequenceLength(byte) > bytes.length ? at : bytes.length;
  }
  return bytes.length;
}

/** True when `bytes` (shorter than its sequence) could still become a valid character. */
function isValidPrefix(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return true;
  // Complete the sequence with the smallest bytes allowed after its lead: it is
  // then valid exactly when the bytes present are.
  const lead = bytes[0] ?? 0;
  const completed = new Uint8Array(sequenceLength(lead)).fill(0x80);
  if (lead === 0xe0) completed[1] = 0xa0;
  if (lead === 0xf0) completed[1] = 0x90;
  completed.set(bytes);
  return firstInvalidUtf8(completed) === -1;
}

function countBytes(bytes: Uint8Array, value: number, from: number, to: number): number {
  let count = 0;
  let at = bytes.indexOf(value, from);
  while (at !== -1 && at < to) {
    count++;
    at = bytes.indexOf(value, at + 1);
  }
  return count;
}

/**
 * Index of the first byte of the first invalid or truncated UTF-8 sequence at or
 * after `from` (per the Unicode standard: no overlongs, surrogates or values above
 * U+10FFFF), or -1 when the bytes are valid.
 */
export function firstInvalidUtf8(bytes: Uint8Array, from = 0): number {
  let at = from;
  while (at < bytes.length) {
    const lead = bytes[at] ?? 0;
    if (lead < 0x80) {
      at++;
      continue;
    }
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else return at;
    if (at + length > bytes.length) return at;
    const second = bytes[at + 1] ?? 0;
    if (second < low || second > high) return at;
    for (let next = 2; next < length; next++) {
      if (!isContinuation(bytes[at + next] ?? 0)) return at;
    }
    at += length;
  }
  return -1;
}
