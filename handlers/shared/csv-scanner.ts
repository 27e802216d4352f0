import type { FileProblem } from './errors.js';

/**
 * The CSV dialect of every dataset file, scanned byte by byte: RFC 4180 quoting with
 * `""` escapes, records ended by CRLF or LF (a bare CR is data), a single-character
 * delimiter of one to four UTF-8 bytes, no trimming, no comments, blank lines kept as
 * one empty field, a UTF-8 BOM skipped only at the start of the file, and a record
 * size cap.
 *
 * It splits, unquotes and reports exactly as csv-parse (the pinned version) does with
 * `csvParseOptions` (csv.ts), which test/unit/csv-scanner.test.ts checks on
 * generated input, problems included: the same records, the same fields, the same
 * byte offsets, and the same first problem of a record. It is faster because it
 * does that one dialect only: it finds a field's end and decodes the field once,
 * where csv-parse handles every byte through its general state machine and copies
 * it into a field buffer.
 *
 * The scanner is synchronous and knows nothing of streams: bytes are appended as they
 * arrive (already checked to be UTF-8, see csv.ts) and records are scanned out of
 * them. A record cut off by the end of the bytes so far is scanned again, from its
 * current field, when more bytes arrive, so the bytes it keeps are at most one field
 * (which the record size cap bounds) plus the piece just appended.
 */

/** One parsed record with its exact place in the file. */
export interface CsvRecord {
  readonly fields: string[];
  /** 1-based physical line where the record starts (line breaks inside quotes count). */
  readonly line: number;
  /** Absolute byte offset of the record's first byte (for the file's first record: 0, before any BOM). */
  readonly start: number;
  /** Absolute byte offset just past the record's line break, or the end of the file. */
  readonly end: number;
}

/** What a scanner reads and where its bytes sit in the file. */
export interface CsvScannerOptions {
  /** The single-character field delimiter. */
  readonly delimiter: string;
  /** Largest record accepted, in bytes of field content (as csv-parse's `max_record_size` counts it). */
  readonly maxRecordBytes: number;
  /** Absolute byte offset of the first byte appended. */
  readonly offset: number;
  /** Physical line number of the first byte appended. */
  readonly firstLine: number;
  /** Whether a UTF-8 byte order mark at the very start is skipped (only the file's start has one). */
  readonly bom: boolean;
}

/** The records one scan found, and why it stopped. */
export interface CsvScan {
  readonly records: CsvRecord[];
  /** The malformed text that ends the input, after the records before it. */
  readonly problem?: FileProblem;
  /** No complete record is left in the bytes so far (append more, or finish). */
  readonly drained: boolean;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
/** csv-parse closes a quoted field before a NUL byte, which then continues the field unquoted. */
const NUL = 0x00;
const BOM = [0xef, 0xbb, 0xbf] as const;

/** How the scan of a field ended. */
enum End {
  /** At a delimiter: the record goes on. */
  Delimiter,
  /** At a line break: the record is complete. */
  LineBreak,
  /** At the end of the input. */
  Input,
  /** A quoted part closed; what follows decides how the field ends. */
  QuoteClosed,
  /** The bytes so far end inside the field, or too soon to tell how it ends. */
  NeedMore,
  /** Malformed text (`problem` says what). */
  Problem,
}

export class CsvScanner {
  private readonly delimiter: Buffer;
  private readonly maxRecordBytes: number;
  /** The bytes appended and not yet scanned past, from `bytes[0]`, which is at absolute offset `base`. */
  private bytes: Buffer = Buffer.alloc(0);
  private length = 0;
  private base: number;
  /** Next byte to scan: the start of a record, or of a field of `fields`' record. */
  private position = 0;
  /** Physical line of the byte at `position`. */
  private line: number;
  private bomPending: boolean;
  /**
   * The record being scanned: its fields so far (the first `fieldCount` of a scratch
   * array reused for every record, so each record's own array is allocated once, at
   * its exact length), where it started.
   */
  private readonly fields: string[] = [];
  private fieldCount = 0;
  private recordStart: number;
  private recordLine: number;
  /** csv-parse's running record size: the string length of each finished field (not its bytes). */
  private recordLength = 0;
  /**
   * The field being scanned: its value so far, whether it was quoted, and its bytes of
   * content (the hot loop keeps them here rather than in a result object per field).
   */
  private value = '';
  private quoted = false;
  private contentBytes = 0;
  private problem: FileProblem | undefined;

  constructor(options: CsvScannerOptions) {
    this.delimiter = Buffer.from(options.delimiter, 'utf8');
    this.maxRecordBytes = options.maxRecordBytes;
    this.base = options.offset;
    this.recordStart = options.offset;
    this.line = options.firstLine;
    this.recordLine = options.firstLine;
    this.bomPending = options.bom;
  }

  /** Adds the next bytes of the input (copied: the caller may reuse them). */
  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const kept = this.length - this.position;
    const needed = kept + chunk.length;
    if (needed > this.bytes.length) {
      // Grown rather than allocated per piece: it holds the kept bytes (at most a field) and a piece.
      const grown = Buffer.allocUnsafe(Math.max(needed, this.bytes.length * 2));
      this.bytes.copy(grown, 0, this.position, this.length);
      this.bytes = grown;
    } else {
      this.bytes.copyWithin(0, this.position, this.length);
    }
    this.base += this.position;
    this.position = 0;
    this.bytes.set(chunk, kept);
    this.length = needed;
  }

  /**
   * Says that no more bytes follow those appended, though the input goes on (it is
   * cut off by a problem there): a byte order mark not complete by now is none.
   */
  noMoreBytes(): void {
    if (this.bomPending && this.length < BOM.length) this.bomPending = false;
  }

  /**
   * Scans the complete records in the bytes so far, stopping at the first record
   * boundary past `budget` bytes from where it starts (so a caller holds a bounded
   * number of records at once). With `end`, the bytes so far are the whole rest of the
   * input: the last record needs no line break, and a quote still open is a problem.
   */
  scan(budget: number, end: boolean): CsvScan {
    const records: CsvRecord[] = [];
    if (this.bomPending) {
      if (this.length < BOM.length && !end) return { records, drained: true };
      if (this.length >= BOM.length && BOM.every((byte, at) => this.bytes[at] === byte)) {
        this.position = BOM.length;
      }
      this.bomPending = false;
    }
    const stop = this.position + budget;
    for (;;) {
      const fieldStart = this.position;
      const fieldLine = this.line;
      const ended = this.scanField(end);
      if (ended === End.NeedMore) {
        // Scanned again from the field's start once more bytes are in.
        this.position = fieldStart;
        this.line = fieldLine;
        return { records, drained: true };
      }
      if (ended === End.Problem) return { records, problem: this.problem, drained: true };
      if (ended === End.Input) {
        // As csv-parse: a last record without a line break, unless it is empty.
        if (this.fieldCount > 0 || this.contentBytes > 0 || this.quoted) {
          this.addField();
          records.push(this.finishRecord());
        }
        return { records, drained: true };
      }
      this.addField();
      if (ended === End.Delimiter) {
        this.recordLength += this.value.length;
        continue;
      }
      records.push(this.finishRecord());
      if (this.position >= this.length) return { records, drained: true };
      if (this.position >= stop) return { records, drained: false };
    }
  }

  private addField(): void {
    if (this.fieldCount < this.fields.length) this.fields[this.fieldCount] = this.value;
    else this.fields.push(this.value);
    this.fieldCount++;
  }

  private finishRecord(): CsvRecord {
    const end = this.base + this.position;
    const record: CsvRecord = {
      fields: this.fields.slice(0, this.fieldCount),
      line: this.recordLine,
      start: this.recordStart,
      end,
    };
    this.fieldCount = 0;
    this.recordLength = 0;
    this.recordStart = end;
    this.recordLine = this.line;
    return record;
  }

  /**
   * Scans the field at `position`. Unless it needs more bytes or meets a problem,
   * `value` is then the field and `position` is past its delimiter or line break (or
   * at the end of the input), with `line` counting the line feeds up to there.
   */
  private scanField(end: boolean): End {
    const { bytes, length } = this;
    const start = this.position;
    this.value = '';
    this.quoted = false;
    this.contentBytes = 0;
    if (start >= length || bytes[start] !== QUOTE) return this.scanUnquoted(start, end);
    const closed = this.scanQuoted(start + 1, end);
    if (closed !== End.QuoteClosed) return closed;
    const after = this.position;
    // csv-parse ends a quoted field before a NUL byte too (its "no next character"
    // test is falsy on 0), then takes the NUL and what follows as unquoted text.
    if (after < length && bytes[after] === NUL && this.delimiter[0] !== NUL) {
      return this.scanUnquoted(after, end);
    }
    return this.endFieldAt(after, end);
  }

  /**
   * The quoted content from `from` (just past the opening quote) to the closing quote:
   * QuoteClosed with `position` just past it, or how the field ended otherwise.
   */
  private scanQuoted(from: number, end: boolean): End {
    const { bytes, length } = this;
    let segment = from;
    for (;;) {
      const found = bytes.indexOf(QUOTE, segment);
      const quote = found === -1 || found >= length ? length : found;
      this.countLineFeeds(segment, quote);
      // The second `"` of an escaped quote is content (and counts towards the size).
      const escaped = quote + 1 < length && bytes[quote + 1] === QUOTE;
      if (this.addContent(quote - segment + (escaped ? 1 : 0))) return End.Problem;
      if (quote === length) {
        if (!end) return End.NeedMore;
        return this.fail(
          'a quoted field starting in this record is never closed (missing closing quote)',
        );
      }
      if (escaped) {
        this.value += bytes.toString('utf8', segment, quote + 1);
        segment = quote + 2;
        continue;
      }
      const verdict = this.mayFollowClosingQuote(quote + 1, end);
      if (verdict === undefined) return End.NeedMore;
      if (!verdict) {
        return this.fail(
          'a quoted field is followed by text instead of a delimiter or line break: double a quote inside a quoted field (""), or add the missing closing quote',
          this.fieldCount + 1,
        );
      }
      this.value += bytes.toString('utf8', segment, quote);
      this.quoted = true;
      this.position = quote + 1;
      return End.QuoteClosed;
    }
  }

  /**
   * Whether the byte at `at` may follow a closing quote, as csv-parse decides: the end
   * of the input, a delimiter, a line break or a NUL byte (undefined: too few bytes
   * are in to tell).
   */
  private mayFollowClosingQuote(at: number, end: boolean): boolean | undefined {
    const { bytes, length } = this;
    if (at >= length) return end ? true : undefined;
    const next = bytes[at];
    if (next === NUL || next === LF) return true;
    if (next === CR) {
      if (at + 1 >= length) return end ? false : undefined;
      return bytes[at + 1] === LF;
    }
    return this.delimiterAt(at, end);
  }

  /**
   * Unquoted text from `from` to the field's end (a whole unquoted field, or the rest
   * of a quoted one after a NUL byte), appended to `value`.
   */
  private scanUnquoted(from: number, end: boolean): End {
    const { bytes, length } = this;
    const first = this.delimiter[0];
    let at = from;
    for (;;) {
      while (at < length) {
        const byte = bytes[at];
        if (byte === first || byte === LF || byte === CR || byte === QUOTE) break;
        at++;
      }
      if (at >= length) break;
      const byte = bytes[at];
      if (byte === CR) {
        // CRLF ends the record; a bare CR is data, and so is a CR that ends the input.
        const next = at + 1 < length ? bytes[at + 1] : undefined;
        if (next === LF || (next === undefined && !end)) break;
        at++;
        continue;
      }
      // The delimiter's lead byte without the rest of the delimiter is data.
      if (byte === first && this.delimiterAt(at, end) === false) {
        at++;
        continue;
      }
      break;
    }
    if (this.addContent(at - from)) return End.Problem;
    if (at < length && bytes[at] === QUOTE) {
      // A field that starts with a quote is quoted (scanField): this one has text before it.
      return this.fail(
        'a quote appears inside an unquoted field (quote the whole field and write the quote as "")',
        this.fieldCount + 1,
      );
    }
    const ended = this.endFieldAt(at, end);
    if (ended !== End.NeedMore) this.value += bytes.toString('utf8', from, at);
    return ended;
  }

  /**
   * Ends the field at `at`, which holds a delimiter, a line break, or the end of the
   * bytes so far (the callers checked which), setting `position` past it.
   */
  private endFieldAt(at: number, end: boolean): End {
    const { bytes, length } = this;
    if (at >= length) {
      this.position = at;
      return end ? End.Input : End.NeedMore;
    }
    const byte = bytes[at];
    if (byte === LF || byte === CR) {
      if (byte === CR && at + 1 >= length) return End.NeedMore; // CRLF, or CR as data?
      this.position = at + (byte === CR ? 2 : 1);
      this.line++;
      return End.LineBreak;
    }
    if (this.delimiterAt(at, end) === undefined) return End.NeedMore;
    this.position = at + this.delimiter.length;
    return End.Delimiter;
  }

  /** Whether the delimiter starts at `at` (undefined: too few bytes are in to tell). */
  private delimiterAt(at: number, end: boolean): boolean | undefined {
    const { bytes, length, delimiter } = this;
    if (bytes[at] !== delimiter[0]) return false;
    for (let next = 1; next < delimiter.length; next++) {
      if (at + next >= length) return end ? false : undefined;
      if (bytes[at + next] !== delimiter[next]) return false;
    }
    return true;
  }

  /**
   * Counts `count` more bytes of content in the current field; true (with `problem`
   * set) when the record is then over the size cap. csv-parse checks, before it takes
   * each content byte, whether the record already holds more than the cap (finished
   * fields counted by string length, the current one by bytes), so a record fails at
   * the byte that finds `recordLength + contentBytes > maxRecordBytes`.
   */
  private addContent(count: number): boolean {
    if (count <= 0) return false;
    const before = this.recordLength + this.contentBytes;
    this.contentBytes += count;
    if (before + count - 1 <= this.maxRecordBytes) return false;
    this.fail(
      `record is larger than ${this.maxRecordBytes} bytes (MAX_RECORD_BYTES); check the delimiter and quotes`,
    );
    return true;
  }

  /** Records the problem that ends the input, at the record's first line (and the field's column). */
  private fail(reason: string, column?: number): End.Problem {
    this.problem = { line: this.recordLine, ...(column === undefined ? {} : { column }), reason };
    return End.Problem;
  }

  private countLineFeeds(from: number, to: number): void {
    const { bytes } = this;
    let at = bytes.indexOf(LF, from);
    while (at !== -1 && at < to) {
      this.line++;
      at = bytes.indexOf(LF, at + 1);
    }
  }
}
