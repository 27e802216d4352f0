import { CsvError, parse } from 'csv-parse';
import { csvParseOptions } from '../../handlers/shared/csv.js';
import { type CsvRecord, CsvScanner } from '../../handlers/shared/csv-scanner.js';
import type { FileProblem } from '../../handlers/shared/errors.js';
import { pickWith, seededRandom } from '../support/seeded-random.js';

/** What reading one input gives: its records, then the problem that ended it, if any. */
interface Outcome {
  readonly records: CsvRecord[];
  readonly problem?: FileProblem;
}

interface Dialect {
  readonly delimiter: string;
  readonly maxRecordBytes: number;
  readonly bom: boolean;
}

/** Scans `bytes` appended in pieces of the given sizes (cycled), `budget` bytes per scan. */
function scanned(
  bytes: Buffer,
  dialect: Dialect,
  pieces: readonly number[],
  budget: number,
): Outcome {
  const scanner = new CsvScanner({ ...dialect, offset: 0, firstLine: 1 });
  const records: CsvRecord[] = [];
  const drain = (end: boolean): FileProblem | undefined => {
    for (;;) {
      const scan = scanner.scan(budget, end);
      records.push(...scan.records);
      if (scan.problem || scan.drained) return scan.problem;
    }
  };
  let piece = 0;
  for (let at = 0; at < bytes.length; piece++) {
    const size = pieces[piece % pieces.length] ?? 1;
    scanner.append(bytes.subarray(at, at + size));
    at += size;
    const problem = drain(false);
    if (problem) return { records, problem };
  }
  const problem = drain(true);
  return problem ? { records, problem } : { records };
}

/** The problems csv-parse's errors stand for, as the loader and the planner report them. */
const REASONS: Record<string, (maxRecordBytes: number) => string> = {
  CSV_QUOTE_NOT_CLOSED: () =>
    'a quoted field starting in this record is never closed (missing closing quote)',
  CSV_INVALID_CLOSING_QUOTE: () =>
    'a quoted field is followed by text instead of a delimiter or line break: double a quote inside a quoted field (""), or add the missing closing quote',
  INVALID_OPENING_QUOTE: () =>
    'a quote appears inside an unquoted field (quote the whole field and write the quote as "")',
  CSV_MAX_RECORD_SIZE: (max) =>
    `record is larger than ${max} bytes (MAX_RECORD_BYTES); check the delimiter and quotes`,
};
/** The problems that name the field (its 1-based position) where the quote went wrong. */
const WITH_COLUMN = new Set(['CSV_INVALID_CLOSING_QUOTE', 'INVALID_OPENING_QUOTE']);

/**
 * The reference: csv-parse itself with csvParseOptions, given the whole input at once,
 * each record placed by csv-parse's byte counter and the line feeds of the records
 * before it.
 */
function csvParsed(bytes: Buffer, dialect: Dialect): Outcome {
  const parser = parse(csvParseOptions(dialect)) as unknown as {
    api: {
      parse(
        buffer: Buffer,
        end: boolean,
        push: (fields: string[]) => void,
        close: () => void,
      ): unknown;
      info: { bytes: number };
    };
  };
  const records: CsvRecord[] = [];
  let line = 1;
  let start = 0;
  const error = parser.api.parse(
    bytes,
    true,
    (fields) => {
      const end = parser.api.info.bytes;
      records.push({ fields, line, start, end });
      line += fields.join('').split('\n').length;
      start = end;
    },
    () => undefined,
  );
  if (error === undefined) return { records };
  if (!(error instanceof CsvError)) throw error;
  const reason = REASONS[error.code];
  if (reason === undefined)
    throw new Error(`csv-parse failed with ${error.code}: ${error.message}`);
  const column = WITH_COLUMN.has(error.code) ? { column: Number(error.column) + 1 } : {};
  return { records, problem: { line, ...column, reason: reason(dialect.maxRecordBytes) } };
}

/** Text made of the pieces that matter to a CSV parser: quotes, breaks, delimiters, NUL, multi-byte characters. */
function generatedInput(random: () => number, delimiter: string): Buffer {
  const pieces = [
    'a',
    'b',
    ' ',
    'é',
    '€',
    '😀',
    '¢',
    '"',
    '""',
    '\n',
    '\r\n',
    '\r',
    '\0',
    delimiter,
  ];
  const pick = <T>(items: readonly T[]) => pickWith(random, items);
  const quotedCell = () => {
    const text = Array.from({ length: Math.floor(random() * 5) }, () =>
      pick(pieces.filter((piece) => piece !== '"')),
    ).join('');
    return `"${text}"`;
  };
  const loose = () => Array.from({ length: Math.floor(random() * 4) }, () => pick(pieces)).join('');
  const cells = Array.from({ length: Math.floor(random() * 12) }, () =>
    random() < 0.35 ? quotedCell() : loose(),
  );
  const text = cells.join(random() < 0.7 ? delimiter : pick(['\n', '\r\n', delimiter]));
  return Buffer.from((random() < 0.15 ? '\uFEFF' : '') + text, 'utf8');
}

/** A scanner of comma-separated text without a BOM whose first byte is at `offset`, on `firstLine`. */
function commaScanner(offset: number, firstLine: number): CsvScanner {
  return new CsvScanner({ delimiter: ',', maxRecordBytes: 1000, offset, firstLine, bom: false });
}

describe('CsvScanner', () => {
  it('reads generated inputs exactly as csv-parse does with csvParseOptions: records, fields, byte ranges, lines, and the first problem', () => {
    const random = seededRandom(16);
    const delimiters = [',', ';', '\t', '§', '😀'];
    let problems = 0;
    for (let input = 0; input < 6000; input++) {
      const delimiter = pickWith(random, delimiters);
      const bytes = generatedInput(random, delimiter);
      const dialect = {
        delimiter,
        // Small caps, so that records over them (counted as csv-parse counts) are common.
        maxRecordBytes: random() < 0.5 ? 64 : 3 + Math.floor(random() * 20),
        bom: random() < 0.8,
      };
      const expected = csvParsed(bytes, dialect);
      if (expected.problem) problems++;
      const whole = scanned(bytes, dialect, [bytes.length || 1], 1 << 20);
      expect({ input, bytes: bytes.toString('utf8'), dialect, ...whole }).toEqual({
        input,
        bytes: bytes.toString('utf8'),
        dialect,
        ...expected,
      });
      const pieces = Array.from({ length: 3 }, () => 1 + Math.floor(random() * 6));
      const budget = Math.floor(random() * 16);
      expect({ input, pieces, budget, ...scanned(bytes, dialect, pieces, budget) }).toEqual({
        input,
        pieces,
        budget,
        ...expected,
      });
    }
    // The inputs exercise both outcomes.
    expect(problems).toBeGreaterThan(1000);
    expect(problems).toBeLessThan(5000);
  });

  it.each([
    ['a closing quote before a NUL byte, which continues the field unquoted', '"a"\0b,c\n', ','],
    ['a quote after such a NUL byte', '"a"\0"b\n', ','],
    ['a bare CR as data, a CR at the end of the input as data', 'a\rb,c\r', ','],
    ['a quoted CR before a line feed', '"a\r\n"\r\nb', ','],
    ['a closing quote before a bare CR', '"a"\rb\n', ','],
    ['a multi-byte delimiter next to a character with the same lead byte', 'a§¢b§"§"\n¢', '§'],
    ['a byte order mark, then an empty quoted field as the last record', '\uFEFFa\n""', ','],
    ['a byte order mark later in the file, which is data', 'a\n\uFEFFb', ','],
    ['blank lines, each one empty field', '\n\r\n\na', ','],
  ])('reads %s as csv-parse does', (_case, text, delimiter) => {
    const bytes = Buffer.from(text, 'utf8');
    const dialect = { delimiter, maxRecordBytes: 64, bom: true };
    const expected = csvParsed(bytes, dialect);
    for (const size of [1, 2, 3, bytes.length]) {
      expect(scanned(bytes, dialect, [size], 1)).toEqual(expected);
    }
  });

  it('fails a record over the cap where csv-parse does: finished fields by string length, the open one by bytes', () => {
    // 'é' is one UTF-16 unit but two bytes.
    for (const text of ['éé,éé,x\n', 'ééé,x\n', 'abcd,e\n', 'abcde,f\n', '"ab""c",d\n']) {
      for (const maxRecordBytes of [3, 4, 5, 6]) {
        const bytes = Buffer.from(text, 'utf8');
        const dialect = { delimiter: ',', maxRecordBytes, bom: false };
        expect({ text, maxRecordBytes, ...scanned(bytes, dialect, [1], 1) }).toEqual({
          text,
          maxRecordBytes,
          ...csvParsed(bytes, dialect),
        });
      }
    }
  });

  it('gives each record its own fields array, at its exact length', () => {
    const scanner = commaScanner(0, 1);
    scanner.append(Buffer.from('a,b,c\nd\ne,f\n'));
    const { records } = scanner.scan(1000, true);
    expect(records.map((record) => record.fields)).toEqual([['a', 'b', 'c'], ['d'], ['e', 'f']]);
    expect(new Set(records.map((record) => record.fields)).size).toBe(3);
  });

  it('places a record split across appends by its absolute offset and first line', () => {
    const scanner = commaScanner(100, 7);
    scanner.append(Buffer.from('a,"b\nc'));
    expect(scanner.scan(1000, false)).toEqual({ records: [], drained: true });
    scanner.append(Buffer.from('",d\ne'));
    expect(scanner.scan(1000, false)).toEqual({
      records: [{ fields: ['a', 'b\nc', 'd'], line: 7, start: 100, end: 110 }],
      drained: true,
    });
    expect(scanner.scan(1000, true)).toEqual({
      records: [{ fields: ['e'], line: 9, start: 110, end: 111 }],
      drained: true,
    });
  });
});
