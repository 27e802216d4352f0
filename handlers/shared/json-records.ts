import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import { type FileProblem, MalformedJsonError } from './errors.js';
import {
  describeJsonValue,
  isJsonObject,
  type JsonObject,
  JsonSyntaxError,
  type JsonValue,
  parseJson,
} from './json-value.js';

/**
 * The one reader of JSON Lines and JSON array files, used by the planner (the whole
 * file) and by the loader (one planned byte range): the bytes are streamed once,
 * never held whole, and each record comes with its exact place in the file.
 *
 * ```ts
 * for await (const records of readJsonBatches(body, 'jsonl', { maxRecordBytes, offset, firstLine })) {
 *   record.value;   // the parsed object (numbers as JsonNumber: exact text), or undefined
 *   record.problem; // JSON Lines only: why this line is not a record (validation goes on)
 *   record.line;    // 1-based physical line of the record's first character
 *   record.start;   // absolute byte offset of its first byte (an array element's `{`)
 *   record.end;     // absolute byte offset just past it (JSON Lines: past its line feed)
 * }
 * ```
 *
 * - JSON Lines: one object per line (LF or CRLF); a line that is blank, malformed
 *   or not an object is a problem of that line, and the lines after it are still read.
 * - JSON array: `[` objects separated by commas `]`. A chunk (offset > 0) is a run
 *   of elements and the commas between them, without the brackets. Malformed text
 *   ends the iteration with a MalformedJsonError: nothing after it can be trusted.
 *
 * A byte order mark is skipped at the very start of the file only.
 */
export type JsonFormat = 'jsonl' | 'json';

/** How to read one file or one chunk of it. */
export interface JsonReadOptions {
  /** Largest record accepted, in bytes. */
  readonly maxRecordBytes: number;
  /** Absolute byte offset of the source's first byte in the file. @default 0 */
  readonly offset?: number;
  /** Physical line number of the source's first byte. @default 1 */
  readonly firstLine?: number;
}

/** One record of a JSON file with its exact place. */
export interface JsonRecord {
  /** The record's object; undefined when `problem` says why there is none. */
  readonly value: JsonObject | undefined;
  /** JSON Lines: why this line is not a record (blank, malformed, not an object). */
  readonly problem?: FileProblem;
  /** The record's text, for locating a member in an error message. */
  readonly text: string;
  /** 1-based physical line of the record's first character. */
  readonly line: number;
  /** 1-based column (in characters) of the record's first character on that line. */
  readonly column: number;
  /** JSON path of the record: `$` for a JSON Lines record, `$[41]` for an array element. */
  readonly path: string;
  readonly start: number;
  readonly end: number;
}

const LF = 0x0a;
/** Bytes of a piece whose records are handed over at once. */
const BATCH_BYTES = 8 * 1024;
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Streams the records of `source` in batches (the records each piece of it completes). */
export function readJsonBatches(
  source: Readable | AsyncIterable<Uint8Array>,
  format: JsonFormat,
  options: JsonReadOptions,
): AsyncGenerator<JsonRecord[], void, undefined> {
  return format === 'jsonl' ? readLines(source, options) : readArray(source, options);
}

/** The place of `offset` (a UTF-16 index into the record's text) in the file. */
export function placeIn(
  record: Pick<JsonRecord, 'text' | 'line' | 'column'>,
  offset: number,
): { line: number; column: number } {
  const before = record.text.slice(0, offset);
  const lastLf = before.lastIndexOf('\n');
  let line = record.line;
  for (let at = before.indexOf('\n'); at !== -1; at = before.indexOf('\n', at + 1)) line++;
  return lastLf === -1
    ? { line, column: record.column + codePoints(before) }
    : { line, column: codePoints(before.slice(lastLf + 1)) + 1 };
}

function codePoints(text: string): number {
  let count = 0;
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code < 0xdc00 || code > 0xdfff || at === 0) count++;
    else if (text.charCodeAt(at - 1) < 0xd800 || text.charCodeAt(at - 1) > 0xdbff) count++;
  }
  return count;
}

async function* readLines(
  source: Readable | AsyncIterable<Uint8Array>,
  options: JsonReadOptions,
): AsyncGenerator<JsonRecord[], void, undefined> {
  const { maxRecordBytes } = options;
  let offset = options.offset ?? 0;
  let line = options.firstLine ?? 1;
  let carry: Buffer[] = [];
  let carried = 0;
  const fileStart = offset === 0;

  const record = (bytes: Buffer, start: number, end: number): JsonRecord => {
    const bom = start === 0 && fileStart && bytes.subarray(0, 3).equals(BOM) ? 3 : 0;
    let last = bytes.length;
    if (last > bom && bytes[last - 1] === CR) last--;
    const content = bom === 0 && last === bytes.length ? bytes : bytes.subarray(bom, last);
    if (!isUtf8(content)) {
      return badLine('', line, start, end, invalidUtf8(content, line, start + bom));
    }
    const text = content.toString('utf8');
    // Most lines start with their `{`: only others can be blank.
    if (text.charCodeAt(0) !== 0x7b && text.trim() === '') {
      return badLine(text, line, start, end, { line, reason: 'blank line (remove it)' });
    }
    let value: JsonValue;
    try {
      value = parseJson(text);
    } catch (error) {
      if (!(error instanceof JsonSyntaxError)) throw error;
      return badLine(text, line, start, end, lineProblem(text, line, error.offset, error.reason));
    }
    if (!isJsonObject(value)) {
      const reason = `expected an object (one record per line), found ${describeJsonValue(value)}`;
      const offset = text.length - text.trimStart().length;
      return badLine(text, line, start, end, lineProblem(text, line, offset, reason));
    }
    return { value, text, line, column: 1, path: '$', start, end };
  };
  const tooLong = (): MalformedJsonError =>
    new MalformedJsonError({
      line,
      reason: `line is longer than ${maxRecordBytes} bytes (MAX_RECORD_BYTES): is this really one record per line?`,
    });

  for await (const piece of source) {
    const bytes = asBuffer(piece);
    let batch: JsonRecord[] = [];
    let from = 0;
    let sliceEnd = BATCH_BYTES;
    for (let lf = bytes.indexOf(LF, from); lf !== -1; lf = bytes.indexOf(LF, from)) {
      if (lf >= sliceEnd) {
        // A batch per slice of the piece, as readCsvBatches does: fewer live records
        // each time the young generation is collected, so fewer are copied or promoted.
        yield batch;
        batch = [];
        sliceEnd = lf + BATCH_BYTES;
      }
      let lineBytes = bytes.subarray(from, lf);
      if (carried > 0) {
        carry.push(lineBytes);
        lineBytes = Buffer.concat(carry, carried + lineBytes.length);
        carry = [];
        carried = 0;
      }
      if (lineBytes.length > maxRecordBytes) {
        yield batch;
        throw tooLong();
      }
      const end = offset + lineBytes.length + 1;
      batch.push(record(lineBytes, offset, end));
      offset = end;
      line++;
      from = lf + 1;
    }
    if (from < bytes.length) {
      carry.push(bytes.subarray(from));
      carried += bytes.length - from;
      if (carried > maxRecordBytes) {
        yield batch;
        throw tooLong();
      }
    }
    yield batch;
  }
  if (carried > 0) {
    const last = Buffer.concat(carry, carried);
    yield [record(last, offset, offset + last.length)];
  }
}

/** Where the array reader is between elements. */
enum At {
  /** Before the `[` (the file's start, whitespace and a BOM allowed). */
  Open,
  /** Just after `[`: an element or `]`. */
  First,
  /** After an element: `,` or `]`. */
  After,
  /** After a comma: an element. */
  Next,
  /** After the closing `]`: whitespace only. */
  Closed,
}

async function* readArray(
  source: Readable | AsyncIterable<Uint8Array>,
  options: JsonReadOptions,
): AsyncGenerator<JsonRecord[], void, undefined> {
  const { maxRecordBytes } = options;
  const chunk = (options.offset ?? 0) > 0;
  let state: At = chunk ? At.Next : At.Open;
  /** Absolute offset of the current piece's first byte. */
  let base = options.offset ?? 0;
  let line = options.firstLine ?? 1;
  // Character column bookkeeping: `columnCount` characters lie between the line's
  // start and absolute offset `columnAt` (counted only when an element starts).
  let columnAt = base;
  let columnCount = 0;
  let elements = 0;
  // The element being read: its parts so far, where it started, its nesting.
  let parts: Buffer[] = [];
  let partBytes = 0;
  let inElement = false;
  let elementStart = 0;
  let elementLine = 0;
  let elementColumn = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let sawBom = false;

  const malformed = (problem: FileProblem) => new MalformedJsonError(problem);
  const here = (reason: string, bytes: Buffer, at: number): MalformedJsonError => {
    const column = columnCount + countCharacters(bytes, Math.max(0, columnAt - base), at) + 1;
    return malformed({ line, column, reason });
  };
  const finish = (bytes: Buffer, end: number): JsonRecord => {
    parts.push(bytes.subarray(Math.max(0, elementStart - base), end - base));
    const whole = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    parts = [];
    partBytes = 0;
    const path = `$[${elements}]`;
    const at = { line: elementLine, column: elementColumn, path, start: elementStart, end };
    if (!isUtf8(whole)) throw new MalformedJsonError(invalidUtf8(whole, elementLine, elementStart));
    const text = whole.toString('utf8');
    let value: JsonObject | undefined;
    try {
      const parsed = parseJson(text);
      if (isJsonObject(parsed)) value = parsed;
      else {
        throw malformed({
          line: elementLine,
          column: elementColumn,
          field: path,
          reason: `expected an object, found ${describeJsonValue(parsed)}: a JSON array file holds one object per element`,
        });
      }
    } catch (error) {
      if (!(error instanceof JsonSyntaxError)) throw error;
      throw malformed({
        ...placeIn({ text, line: elementLine, column: elementColumn }, error.offset),
        field: path,
        reason: error.reason,
      });
    }
    elements++;
    return { ...at, value, text };
  };
  /** The element read so far does not end well: its own parse names the first problem. */
  const unfinished = (reason: string): MalformedJsonError => {
    const text = Buffer.concat(parts).toString('utf8');
    try {
      parseJson(text);
    } catch (error) {
      if (error instanceof JsonSyntaxError) {
        return malformed({
          ...placeIn({ text, line: elementLine, column: elementColumn }, error.offset),
          field: `$[${elements}]`,
          reason: error.reason,
        });
      }
    }
    return malformed({ line: elementLine, column: elementColumn, field: `$[${elements}]`, reason });
  };

  for await (const piece of source) {
    const bytes = asBuffer(piece);
    let batch: JsonRecord[] = [];
    let batchStart = base;
    const length = bytes.length;
    let at = 0;
    try {
      while (at < length) {
        if (inElement) {
          // The hot loop: find the element's end, tracking strings and nesting.
          for (; at < length; at++) {
            const byte = bytes[at] as number;
            if (inString) {
              if (escaped) escaped = false;
              else if (byte === 0x5c) escaped = true;
              else if (byte === 0x22) inString = false;
              else if (byte === LF) newLine(at);
              continue;
            }
            if (byte === 0x22) inString = true;
            else if (byte === 0x7b || byte === 0x5b) depth++;
            else if (byte === 0x7d || byte === 0x5d) {
              if (--depth === 0) break;
            } else if (byte === LF) newLine(at);
          }
          if (at === length) break;
          at++;
          inElement = false;
          state = At.After;
          batch.push(finish(bytes, base + at));
          if (base + at - batchStart >= BATCH_BYTES) {
            // As readLines: a batch per slice of the piece, fewer live records per GC.
            yield batch;
            batch = [];
            batchStart = base + at;
          }
          continue;
        }
        const byte = bytes[at] as number;
        if (byte === 0x20 || byte === 0x09 || byte === CR) {
          at++;
          continue;
        }
        if (byte === LF) {
          newLine(at);
          at++;
          continue;
        }
        if (state === At.Open && (base + at === 0 ? byte === 0xef : sawBom && base + at < 3)) {
          // A BOM at the very start of the file (its three bytes may come in pieces): skip it.
          sawBom = true;
          at++;
          columnAt = base + at;
          continue;
        }
        if (byte === 0xef) {
          throw here(
            'a byte order mark (U+FEFF) in the middle of the file: only the very start of a file may hold one',
            bytes,
            at,
          );
        }
        switch (state) {
          case At.Open:
            if (byte !== 0x5b) {
              throw here(
                byte === 0x7b
                  ? 'expected [ : a JSON array file holds one array of objects ([{...}, {...}]); name a file of one object per line .jsonl'
                  : `expected [ to open the array of records, found ${shown(bytes, at)}`,
                bytes,
                at,
              );
            }
            state = At.First;
            at++;
            continue;
          case At.After:
            if (byte === 0x2c) state = At.Next;
            else if (byte === 0x5d && !chunk) state = At.Closed;
            else
              throw here(
                `expected , or ] after element $[${elements - 1}], found ${shown(bytes, at)}`,
                bytes,
                at,
              );
            at++;
            continue;
          case At.Closed:
            throw here(
              `text after the end of the top-level array (${shown(bytes, at)}): a file holds one array, not two values`,
              bytes,
              at,
            );
          case At.First:
          case At.Next:
            if (byte === 0x5d && state === At.First && !chunk) {
              state = At.Closed;
              at++;
              continue;
            }
            if (byte === 0x5d) {
              throw here(
                'a trailing comma before ] (remove the comma after the last element)',
                bytes,
                at,
              );
            }
            if (byte !== 0x7b) {
              throw here(
                `expected an object as element $[${elements}], found ${shown(bytes, at)}: a JSON array file holds one object per element`,
                bytes,
                at,
              );
            }
            inElement = true;
            depth = 0;
            inString = false;
            escaped = false;
            elementStart = base + at;
            elementLine = line;
            elementColumn =
              columnCount + countCharacters(bytes, Math.max(0, columnAt - base), at) + 1;
            columnAt = base + at;
            columnCount = elementColumn - 1;
            continue;
        }
      }
    } catch (error) {
      yield batch;
      throw error;
    }
    if (inElement) {
      const from = Math.max(0, elementStart - base);
      parts.push(bytes.subarray(from));
      partBytes += length - from;
      if (partBytes > maxRecordBytes) {
        yield batch;
        throw unfinished(
          `element $[${elements}] is larger than ${maxRecordBytes} bytes (MAX_RECORD_BYTES)`,
        );
      }
    }
    // The line goes on into the next piece: count this piece's characters of it now.
    columnCount += countCharacters(bytes, Math.max(0, columnAt - base), length);
    columnAt = base + length;
    base += length;
    yield batch;
  }
  if (inElement) {
    throw unfinished(
      inString
        ? 'a string that is never closed (the file ends inside it)'
        : 'an object that is never closed (missing })',
    );
  }
  if (chunk) return;
  if (state === At.Open) {
    throw malformed({
      line,
      reason: sawBom ? 'the file holds only a byte order mark' : 'the file holds only whitespace',
    });
  }
  if (state !== At.Closed) {
    throw malformed({
      line,
      reason: 'the array is never closed (missing ] at the end of the file)',
    });
  }

  function newLine(at: number): void {
    line++;
    columnAt = base + at + 1;
    columnCount = 0;
  }
}

/** A JSON Lines record that is not one: its line with the problem. */
function badLine(
  text: string,
  line: number,
  start: number,
  end: number,
  problem: FileProblem,
): JsonRecord {
  return { value: undefined, problem, text, line, column: 1, path: '$', start, end };
}

/** A problem at `offset` of a JSON Lines record's text. */
function lineProblem(text: string, line: number, offset: number, reason: string): FileProblem {
  return { ...placeIn({ text, line, column: 1 }, offset), field: '$', reason };
}

/** Characters (UTF-8 sequences) in bytes[from, to). */
function countCharacters(bytes: Uint8Array, from: number, to: number): number {
  let count = 0;
  for (let at = from; at < to; at++) if (((bytes[at] as number) & 0xc0) !== 0x80) count++;
  return count;
}

/** The byte at `at`, for messages: its character in quotes, or its hex value. */
function shown(bytes: Buffer, at: number): string {
  const byte = bytes[at] as number;
  return byte >= 0x20 && byte < 0x7f
    ? JSON.stringify(String.fromCharCode(byte))
    : `byte 0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** The problem of bytes that are not UTF-8: where the first invalid byte is. */
function invalidUtf8(bytes: Buffer, firstLine: number, start: number): FileProblem {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let at = 0;
  try {
    for (; at < bytes.length; at++) decoder.decode(bytes.subarray(at, at + 1), { stream: true });
    decoder.decode();
  } catch {
    // `at` is the byte at which the decoder saw the sequence was invalid: when that
    // byte starts something new, the invalid one is the unfinished sequence before it.
    if (at > 0 && ((bytes[at] ?? 0) & 0xc0) !== 0x80) {
      let lead = at - 1;
      while (lead > at - 4 && lead > 0 && ((bytes[lead] as number) & 0xc0) === 0x80) lead--;
      const first = bytes[lead] as number;
      const needs = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 1;
      if (at - lead < needs) at = lead;
    }
  }
  let line = firstLine;
  for (let scan = 0; scan < at; scan++) if (bytes[scan] === LF) line++;
  const byte = bytes[at];
  const where =
    byte === undefined
      ? 'at the end of the record'
      : `byte 0x${byte.toString(16).toUpperCase().padStart(2, '0')} at byte offset ${start + at}`;
  return { line, reason: `invalid UTF-8 (${where}); save the file as UTF-8` };
}

/** The bytes as a Buffer, without copying. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
