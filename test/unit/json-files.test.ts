import { readdirSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import { PLAN_DEFAULTS } from '../../handlers/plan-file/config.js';
import { type PlanConfig, planFile, planJsonRecords } from '../../handlers/plan-file/plan.js';
import type { FilePlan, PlannedObject } from '../../handlers/shared/contracts.js';
import { parseDataset } from '../../handlers/shared/dataset.js';
import {
  formatProblem,
  InvalidFileError,
  MalformedJsonError,
} from '../../handlers/shared/errors.js';
import { firstNonBlank, formatOf, sniffFormat } from '../../handlers/shared/formats.js';
import {
  type JsonFormat,
  type JsonRecord,
  readJsonBatches,
} from '../../handlers/shared/json-records.js';
import {
  fillJsonItem,
  jsonLayout,
  jsonRecordToItem,
  storedSize,
  toStoredValue,
} from '../../handlers/shared/json-rows.js';
import { JsonNumber } from '../../handlers/shared/json-value.js';
import { books } from '../support/workflow-fakes.js';

const CONFIG: PlanConfig = { schema: books, ...PLAN_DEFAULTS };

/** `bytes` in pieces of `size` bytes, as a stream delivers them. */
function pieces(bytes: Buffer, size: number): Buffer[] {
  const all: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) all.push(bytes.subarray(at, at + size));
  return all;
}

/** Every record of `text`, read in `size`-byte pieces; the error, if the reading ends in one. */
async function read(
  text: string | Buffer,
  format: JsonFormat,
  size = 64 * 1024,
  options: { offset?: number; firstLine?: number; maxRecordBytes?: number } = {},
): Promise<{ records: JsonRecord[]; error?: MalformedJsonError }> {
  const records: JsonRecord[] = [];
  try {
    for await (const batch of readJsonBatches(
      Readable.from(pieces(Buffer.from(text), size)),
      format,
      {
        maxRecordBytes: options.maxRecordBytes ?? CONFIG.maxRecordBytes,
        ...options,
      },
    )) {
      records.push(...batch);
    }
  } catch (error) {
    if (error instanceof MalformedJsonError) return { records, error };
    throw error;
  }
  return { records };
}

function objectOf(bytes: Buffer, key: string): PlannedObject {
  return { bucket: 'uploads', key, eTag: '"etag"', size: bytes.length };
}

async function plan(
  text: string | Buffer,
  format: JsonFormat,
  config: Partial<PlanConfig> = {},
  size = 64 * 1024,
): Promise<FilePlan> {
  const bytes = Buffer.from(text);
  const records = readJsonBatches(Readable.from(pieces(bytes, size)), format, {
    maxRecordBytes: CONFIG.maxRecordBytes,
  });
  return planJsonRecords(
    records,
    objectOf(bytes, `books.${format}`),
    { ...CONFIG, ...config },
    format,
  );
}

async function planError(text: string, format: JsonFormat): Promise<string> {
  try {
    await plan(text, format);
  } catch (error) {
    if (error instanceof InvalidFileError) return error.message;
    throw error;
  }
  throw new Error('expected the plan to fail');
}

/** A books record as JSON. */
function book(isbn: number | string, title = `Title ${isbn}`): string {
  return JSON.stringify({ isbn, title, author: 'Author', year: 2001, price: 9.99 });
}

/** Reads each planned range back as a loader does, with the chunk's offset and first line. */
async function readRanges(
  bytes: Buffer,
  planned: FilePlan,
  format: JsonFormat,
  size: number,
): Promise<JsonRecord[]> {
  const all: JsonRecord[] = [];
  for (const chunk of planned.chunks) {
    const { records, error } = await read(bytes.subarray(chunk.start, chunk.end), format, size, {
      offset: chunk.start,
      firstLine: chunk.firstLine,
    });
    expect(error).toBeUndefined();
    expect(records).toHaveLength(chunk.rows);
    all.push(...records);
  }
  return all;
}

const WIDE = [
  'Pride',
  'Мастер и Маргарита',
  '吾輩は猫である',
  'Emoji \u{1F4DA} book',
  'quote " and \\ slash',
];

/** A file of `count` books in the format, with multi-byte titles and varied whitespace. */
function file(format: JsonFormat, count: number): Buffer {
  const records = Array.from({ length: count }, (_, index) =>
    book(9781400000000 + index, `${WIDE[index % WIDE.length]} ${index}`),
  );
  return Buffer.from(
    format === 'jsonl'
      ? `${records.join('\n')}\n`
      : `\ufeff[\n  ${records.join(',\n  ')},${records.length ? ` ${book(1)}` : ''}\n]\n`,
  );
}

describe('format choice', () => {
  it.each([
    ['books.csv', '', 'csv', 'extension'],
    ['books.JSONL', 'text/plain', 'jsonl', 'extension'],
    ['books.ndjson', '', 'jsonl', 'extension'],
    ['books.json', 'text/csv', 'json', 'extension'],
    ['books', 'application/x-ndjson', 'jsonl', 'content type'],
    ['books.dat', 'application/json', 'json', 'content type'],
    ['books.dat', 'text/csv', 'csv', 'content type'],
    ['books.txt', 'text/plain', undefined, 'unknown'],
    ['books.txt', '', undefined, 'unknown'],
    ['books', 'binary/octet-stream', undefined, 'unknown'],
  ])('chooses %s with content type %j as %s (by %s)', (key, type, format, by) => {
    expect(formatOf(key, type)).toMatchObject({ format, by });
  });

  it('names a content type of no supported format', () => {
    expect(formatOf('books.xlsx', 'application/vnd.ms-excel.sheet')).toEqual({
      unsupported: 'application/vnd.ms-excel.sheet',
    });
  });

  it.each([
    ['[{"a":1}]', 'json'],
    ['\ufeff \r\n\t[', 'json'],
    ['{"a":1}\n', 'jsonl'],
    ['\n\n{', 'jsonl'],
    ['isbn,title\n', 'csv'],
    ['', 'csv'],
  ])('sniffs %j as %s by its first non-blank byte', (head, format) => {
    expect(sniffFormat(Buffer.from(head))).toBe(format);
  });

  it('finds no non-blank byte in blanks only', () => {
    expect(firstNonBlank(Buffer.from('\ufeff  \n'))).toBe(-1);
  });
});

describe('readJsonBatches', () => {
  describe.each(['jsonl', 'json'] as const)('%s', (format) => {
    it.each([1, 2, 3, 7, 64 * 1024])(
      'yields the same records with the same byte ranges and lines in %i-byte pieces (characters straddle pieces)',
      async (size) => {
        const bytes = file(format, 40);
        const whole = await read(bytes, format);
        const split = await read(bytes, format, size);
        expect(split.error).toBeUndefined();
        expect(split.records).toEqual(whole.records);
        expect(whole.records).toHaveLength(format === 'json' ? 41 : 40);
        for (const record of whole.records) {
          // Each range is exactly the record: it parses back to the same object.
          const text = bytes
            .subarray(record.start, record.end)
            .toString('utf8')
            .replace(/^\ufeff/, '');
          expect(JSON.parse(text)).toEqual(JSON.parse(record.text));
          expect(record.value).toBeDefined();
        }
      },
    );
  });

  it('places array elements at their first byte, line and character column', async () => {
    const text = '[{"isbn":1,"title":"é"}, {"isbn":2},\n  {"isbn":3}]';
    const { records } = await read(text, 'json', 3);
    expect(
      records.map(({ start, end, line, column, path }) => ({ start, end, line, column, path })),
    ).toEqual([
      { start: 1, end: 24, line: 1, column: 2, path: '$[0]' },
      { start: 26, end: 36, line: 1, column: 26, path: '$[1]' },
      { start: 40, end: 50, line: 2, column: 3, path: '$[2]' },
    ]);
    expect(Buffer.from(text).subarray(26, 36).toString()).toBe('{"isbn":2}');
  });

  it('reads a chunk of an array (elements without brackets) from its offset and first line', async () => {
    const text = '[{"isbn":1},\n {"isbn":2},\n {"isbn":3}]';
    const bytes = Buffer.from(text);
    const start = text.indexOf('{"isbn":2}');
    const end = text.indexOf(']');
    const { records, error } = await read(bytes.subarray(start, end), 'json', 2, {
      offset: start,
      firstLine: 2,
    });
    expect(error).toBeUndefined();
    expect(records.map(({ start, line, text }) => ({ start, line, text }))).toEqual([
      { start, line: 2, text: '{"isbn":2}' },
      { start: text.indexOf('{"isbn":3}'), line: 3, text: '{"isbn":3}' },
    ]);
  });

  it('keeps reading JSON Lines after a bad line, which it names with line, column and reason', async () => {
    const { records, error } = await read(
      '{"a":1}\n{"a":2,}\r\n\n[1]\n{"a":"\u00e9\\x"}\n{"a":3}',
      'jsonl',
      4,
    );
    expect(error).toBeUndefined();
    expect(
      records.map((record) => (record.problem ? formatProblem(record.problem) : record.text)),
    ).toEqual([
      '{"a":1}',
      'line 2, column 8 ($): a trailing comma before } (remove the comma after the last member)',
      'line 3: blank line (remove it)',
      'line 4, column 1 ($): expected an object (one record per line), found an array',
      'line 5, column 8 ($): an invalid escape \\x in a string (valid: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)',
      '{"a":3}',
    ]);
    expect(records.map((record) => record.end)).toEqual([8, 18, 19, 23, 36, 43]);
  });

  it.each([
    [
      'jsonl',
      '{"a":1}\n{"a":"open}\n',
      'line 2, column 6 ($): a string that is never closed (missing closing " before the end of the record)',
    ],
    [
      'jsonl',
      '{"a":1} {"b":2}\n',
      'line 1, column 9 ($): a second JSON value or other text ("{") after the end of the value: one value only',
    ],
    ['jsonl', '{"a":1}\n\ufeff{"a":2}\n', 'line 2, column 1 ($): expected a value, found "\ufeff"'],
  ] as const)('names the bad line of %s %j', async (format, text, message) => {
    const { records } = await read(text, format, 3);
    const problems = records.flatMap((record) =>
      record.problem ? [formatProblem(record.problem)] : [],
    );
    expect(problems).toEqual([
      message.replace(
        'expected a value, found "\ufeff"',
        'a byte order mark (U+FEFF) in the middle of the file: only the very start of a file may hold one',
      ),
    ]);
  });

  it.each([
    [
      '[{"isbn":1},]',
      'line 1, column 13: a trailing comma before ] (remove the comma after the last element)',
      1,
    ],
    [
      '[{"isbn":1}]\n[{"isbn":2}]',
      'line 2, column 1: text after the end of the top-level array ("["): a file holds one array, not two values',
      1,
    ],
    [
      '[{"isbn":1}, \ufeff{"isbn":2}]',
      'line 1, column 14: a byte order mark (U+FEFF) in the middle of the file: only the very start of a file may hold one',
      1,
    ],
    [
      '[{"isbn":1},\n {"title":"open\n}]',
      'line 2, column 11 ($[1]): a string that is never closed (missing closing " before the end of the line)',
      1,
    ],
    [
      '[{"isbn":1}, {"isbn":2, "isbn":3}]',
      'line 1, column 25 ($[1]): duplicate member name "isbn" in this object',
      1,
    ],
    [
      '[{"isbn":1} {"isbn":2}]',
      'line 1, column 13: expected , or ] after element $[0], found "{"',
      1,
    ],
    [
      '[{"isbn":1}, 7]',
      'line 1, column 14: expected an object as element $[1], found "7": a JSON array file holds one object per element',
      1,
    ],
    ['[{"isbn":1}', 'line 1: the array is never closed (missing ] at the end of the file)', 1],
    [
      '[{"isbn":1}, {"title": "x"',
      'line 1, column 14 ($[1]): an object that is never closed (missing })',
      1,
    ],
    [
      '{"isbn":1}',
      'line 1, column 1: expected [ : a JSON array file holds one array of objects ([{...}, {...}]); name a file of one object per line .jsonl',
      0,
    ],
    ['  \n ', 'line 2: the file holds only whitespace', 0],
    [
      Buffer.from([0x5b, 0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d, 0x5d]),
      'line 1: invalid UTF-8 (byte 0xE9 at byte offset 7); save the file as UTF-8',
      0,
    ],
  ] as const)(
    'stops a JSON array at %j: %s, after the %i records before it',
    async (text, message, before) => {
      const { records, error } = await read(text, 'json', 2);
      expect(error && formatProblem(error.problem)).toBe(message);
      expect(records).toHaveLength(before);
    },
  );

  it('refuses a record over MAX_RECORD_BYTES in either format', async () => {
    const long = `{"title":"${'x'.repeat(200)}"}`;
    expect((await read(`${long}\n`, 'jsonl', 16, { maxRecordBytes: 100 })).error?.message).toBe(
      'line 1: line is longer than 100 bytes (MAX_RECORD_BYTES): is this really one record per line?',
    );
    expect((await read(`[${long}]`, 'json', 16, { maxRecordBytes: 100 })).error?.message).toMatch(
      /^line 1, column 2 \(\$\[0\]\): element \$\[0\] is larger than 100 bytes|^line 1, column \d+ \(\$\[0\]\): a string that is never closed/,
    );
  });
});

describe('jsonRecordToItem', () => {
  const schema = parseDataset({
    name: 'things',
    key: 'id',
    columns: [
      { name: 'id', type: 'number', required: true },
      { name: 'name', type: 'string', required: true, maxLength: 5 },
      { name: 'count', type: 'integer' },
      { name: 'price', type: 'number' },
      { name: 'ok', type: 'boolean' },
      { name: 'day', type: 'date' },
      { name: 'meta', type: 'map' },
      { name: 'tags', type: 'list', items: 'string' },
      { name: 'any', type: 'list' },
    ],
  });
  const layout = jsonLayout(schema);

  async function convert(line: string) {
    const { records } = await read(`${line}\n`, 'jsonl');
    const [record] = records;
    if (record === undefined) throw new Error('no record');
    return jsonRecordToItem(layout, record);
  }

  it.each([
    '{"id":7,"name":"ab","count":"42","ok":true,"tags":["a"]}',
    '{"id":"x","name":"far too long"}',
  ])(
    'fills the item jsonRecordToItem returns and agrees on key, size and problems for %s',
    async (line) => {
      const { records } = await read(`${line}\n`, 'jsonl');
      const [record] = records;
      if (record === undefined) throw new Error('no record');
      const full = jsonRecordToItem(layout, record, 100);
      const item = {};
      const filled = fillJsonItem(item, layout, record, 100);
      if (full.ok) {
        expect(filled).toEqual({ ok: true, key: full.row.key, size: full.row.size });
        expect(item).toEqual(full.row.item);
      } else expect(filled).toEqual(full);
    },
  );

  async function problems(line: string): Promise<string[]> {
    const result = await convert(line);
    if (result.ok) throw new Error('expected problems');
    return result.problems.map(formatProblem);
  }

  it('stores numbers exactly, nested values as M and L, and omits null and empty members', async () => {
    const result = await convert(
      '{"id":12345678901234567890,"name":"ab","count":"42","price":0.1,"ok":false,"day":null,"meta":{"n":[1.50,{"x":null}],"s":""},"tags":["a"],"any":[true,-0]}',
    );
    expect(result).toEqual({
      ok: true,
      row: {
        // DynamoDB's wire form, as the loader writes it: numbers keep their exact text.
        item: {
          id: { N: '12345678901234567890' },
          name: { S: 'ab' },
          count: { N: '42' },
          price: { N: '0.1' },
          ok: { BOOL: false },
          meta: {
            M: { n: { L: [{ N: '1.50' }, { M: { x: { NULL: true } } }] }, s: { S: '' } },
          },
          tags: { L: [{ S: 'a' }] },
          any: { L: [{ BOOL: true }, { N: '-0' }] },
        },
        key: '1234567890123456789E19',
        size: expect.any(Number),
      },
    });
  });

  it('keeps a member named __proto__ inside a map as a member, in the body the loader sends', async () => {
    const result = await convert('{"id":1,"name":"a","meta":{"__proto__":{"x":1}}}');
    expect(result.ok && JSON.stringify(result.row.item.meta)).toBe(
      '{"M":{"__proto__":{"M":{"x":{"N":"1"}}}}}',
    );
  });

  it('gives equal keys for every spelling of one number, as DynamoDB does', async () => {
    const keys = await Promise.all(
      ['7', '7.0', '"7"', '0.7e1'].map(async (id) => {
        const result = await convert(`{"id":${id},"name":"a"}`);
        return result.ok ? result.row.key : undefined;
      }),
    );
    expect(new Set(keys).size).toBe(1);
  });

  it.each([
    ['{"name":"a"}', ['line 1, column 1 ($.id): required member is missing']],
    ['{"id":null,"name":"a"}', ['line 1, column 7 ($.id), value "null": required value is null']],
    ['{"id":1,"name":"   "}', ['line 1, column 16 ($.name), value "   ": required value is empty']],
    [
      '{"id":1,"name":"abcdef"}',
      ['line 1, column 16 ($.name), value "abcdef": longer than 5 characters'],
    ],
    [
      '{"id":1,"name":7}',
      ['line 1, column 16 ($.name), value "7": expected a string, found a number'],
    ],
    [
      '{"id":"1x","name":"a"}',
      [
        'line 1, column 7 ($.id), value "1x": not a number: a string is accepted for a number column only when it spells a number, like "1999"',
      ],
    ],
    [
      '{"id":" 1","name":"a"}',
      ['line 1, column 7 ($.id), value " 1": a number in a string may not have spaces around it'],
    ],
    [
      '{"id":1,"name":"a","count":1.5}',
      ['line 1, column 28 ($.count), value "1.5": not an integer'],
    ],
    [
      '{"id":1,"name":"a","ok":"yes"}',
      ['line 1, column 25 ($.ok), value "yes": expected true or false, found a string'],
    ],
    [
      '{"id":1,"name":"a","day":"2021-02-30"}',
      ['line 1, column 26 ($.day), value "2021-02-30": not a date (YYYY-MM-DD)'],
    ],
    [
      '{"id":1,"name":"a","price":{"eur":1}}',
      [
        'line 1, column 28 ($.price), value "{\\"eur\\":1}": expected a number, found an object (declare the column "type": "map" to store it)',
      ],
    ],
    [
      '{"id":1,"name":"a","meta":[1]}',
      [
        'line 1, column 27 ($.meta), value "[1]": expected an object (a map column), found an array',
      ],
    ],
    [
      '{"id":1,"name":"a","tags":["a",2,null]}',
      [
        'line 1, column 32 ($.tags[1]), value "2": expected a string, found a number',
        'line 1, column 34 ($.tags[2]), value "null": expected a string, found null',
      ],
    ],
    [
      '{"id":1,"name":"a","meta":{"deep":{"n":1e200}}}',
      [
        'line 1, column 40 ($.meta.deep.n), value "1e200": a number outside DynamoDB\'s number range (38 significant digits, 1E-130 to 1E+126)',
      ],
    ],
    [
      '{"id":1,"name":"a","meta":{"":1}}',
      [
        'line 1, column 27 ($.meta), value "{\\"\\":1}": an empty member name: DynamoDB map keys need at least one character',
      ],
    ],
    [
      '{"id":1,"name":"a","Count":1,"extra":true}',
      [
        'line 1, column 28 ($.Count), value "1": not a column of dataset "things" (did you mean "count"?); expected id, name, count, price, ok, day, meta, tags, any',
        'line 1, column 38 ($.extra), value "true": not a column of dataset "things"',
      ],
    ],
  ])('refuses %s', async (line, expected) => {
    expect(await problems(line)).toEqual(expected);
  });

  it('stores the elements of a typed list by its items type: a number spelled as a string as a number', async () => {
    const numbers = jsonLayout(
      parseDataset({
        name: 'things',
        key: 'id',
        columns: [
          { name: 'id', type: 'number', required: true },
          { name: 'sizes', type: 'list', items: 'number' },
        ],
      }),
    );
    const { records } = await read(
      '{"id":1,"sizes":[1.50,"2",3]}\n{"id":2,"sizes":[""]}\n',
      'jsonl',
    );
    const [first, second] = records.map((record) => jsonRecordToItem(numbers, record));
    expect(first?.ok && first.row.item.sizes).toEqual({
      L: [{ N: '1.50' }, { N: '2' }, { N: '3' }],
    });
    expect(second?.ok === false && second.problems.map(formatProblem)).toEqual([
      'line 2, column 18 ($.sizes[0]), value "": required value is empty',
    ]);
  });

  it('ignores unknown members when the dataset says unknownColumns: ignore', async () => {
    const lenient = jsonLayout({ ...schema, unknownColumns: 'ignore' });
    const { records } = await read('{"id":1,"name":"a","extra":[1]}\n', 'jsonl');
    const result = jsonRecordToItem(lenient, records[0] as JsonRecord);
    expect(result.ok && result.row.item).toEqual({ id: { N: '1' }, name: { S: 'a' } });
  });

  it('counts nested values as DynamoDB does (3 bytes per M or L, 1 per element)', () => {
    const stored = toStoredValue({ a: [new JsonNumber('12'), 'xy', null] });
    expect(storedSize(stored)).toBe(3 + 1 + 1 + (3 + (2 + 1) + (2 + 1) + (1 + 1)));
  });
});

describe('planJsonRecords', () => {
  describe.each(['jsonl', 'json'] as const)('%s', (format) => {
    it('starts every chunk exactly at a record start with tiny chunk targets, and the ranges read back to every record in order', async () => {
      const bytes = file(format, 30);
      const all = (await read(bytes, format)).records;
      for (const size of [1, 5, 64 * 1024]) {
        const planned = await plan(bytes, format, { chunkTargetBytes: 1 }, size);
        expect(planned).toMatchObject({
          format,
          header: [],
          totalRows: all.length,
          duplicateRows: 0,
        });
        expect(planned.chunks).toHaveLength(all.length);
        expect(planned.chunks.map((chunk) => chunk.start)).toEqual(
          all.map((record) => record.start),
        );
        const back = await readRanges(bytes, planned, format, 3);
        expect(back.map((record) => [record.line, record.text])).toEqual(
          all.map((record) => [record.line, record.text]),
        );
      }
      const larger = await plan(bytes, format, { chunkTargetBytes: 500 });
      expect(larger.chunks.length).toBeGreaterThan(2);
      expect(larger.chunks.length).toBeLessThan(all.length);
      expect((await readRanges(bytes, larger, format, 7)).map((record) => record.text)).toEqual(
        all.map((record) => record.text),
      );
    });

    it('skips every earlier occurrence of a key: the last one wins', async () => {
      const records = [book(1, 'first'), book(2), book(1, 'second')];
      const text = format === 'jsonl' ? records.join('\n') : `[${records.join(',')}]`;
      const planned = await plan(text, format, { chunkTargetBytes: 1 });
      expect(planned.duplicateRows).toBe(1);
      expect(planned.chunks.map((chunk) => chunk.skip)).toEqual([[0], [], []]);
    });
  });

  it('lists every bad JSON Lines record with its line, column and path, and the total', async () => {
    const text = [
      book(1),
      '{"isbn":"97x","title":"t","author":"a"}',
      '{"isbn":2,"title":"t","author":"a",}',
      book(3),
      '{"isbn":4,"title":"t","author":{"first":"a"}}',
    ].join('\n');
    expect(await planError(text, 'jsonl')).toBe(
      [
        's3://uploads/books.jsonl is invalid, nothing was written: 3 errors',
        '  line 2, column 9 ($.isbn), value "97x": not a number: a string is accepted for a number column only when it spells a number, like "1999"',
        '  line 3, column 36 ($): a trailing comma before } (remove the comma after the last member)',
        '  line 5, column 32 ($.author), value "{\\"first\\":\\"a\\"}": expected a string, found an object (declare the column "type": "map" to store it)',
      ].join('\n'),
    );
  });

  it('names the element of a bad JSON array record by its index', async () => {
    const text = `[\n${book(1)},\n${book(2)},\n{"isbn": 3, "title": "t", "author": "a", "year": "MDCCC"}\n]`;
    expect(await planError(text, 'json')).toBe(
      's3://uploads/books.json is invalid, nothing was written: 1 error\n  line 4, column 50 ($[2].year), value "MDCCC": not an integer: a string is accepted for a number column only when it spells a number, like "1999"',
    );
  });

  it('plans an empty array as a file of no rows', async () => {
    expect(await plan('[ ]', 'json')).toMatchObject({ totalRows: 0, chunks: [] });
  });
});

describe('sample-files (JSON)', () => {
  const SAMPLES = new URL('../../sample-files/', import.meta.url);
  const s3 = mockClient(S3Client);
  const client = new S3Client({ region: 'us-east-1' });

  /** Plans a sample through planFile, as the PlanFile Lambda does: the format from its name, type or first byte. */
  async function planSample(name: string, contentType?: string): Promise<FilePlan> {
    const bytes = readFileSync(new URL(name, SAMPLES));
    s3.reset();
    s3.on(HeadObjectCommand).resolves({
      ContentLength: bytes.length,
      ETag: '"e"',
      ...(contentType ? { ContentType: contentType } : {}),
    });
    s3.on(GetObjectCommand).resolves({ Body: sdkStreamMixin(Readable.from(pieces(bytes, 100))) });
    return planFile(client, { bucket: 'uploads', key: name }, CONFIG);
  }

  it.each([
    ['books.jsonl', undefined, 'jsonl', 10, 0],
    ['books.json', 'application/json', 'json', 6, 1],
    ['books-array.txt', 'text/plain', 'json', 4, 0],
  ] as const)(
    'plans %s (content type %s) as %s: %i rows, %i superseded',
    async (name, type, format, rows, duplicates) => {
      expect(await planSample(name, type)).toMatchObject({
        format,
        header: [],
        totalRows: rows,
        duplicateRows: duplicates,
      });
    },
  );

  it('stores the exact numbers and the string-spelled year of books.jsonl', async () => {
    const { records } = await read(readFileSync(new URL('books.jsonl', SAMPLES)), 'jsonl');
    const items = records.map((record) => {
      const result = jsonRecordToItem(jsonLayout(books), record);
      return result.ok ? result.row.item : result.problems;
    });
    expect(items[1]).toMatchObject({ price: { N: '1234567890123456789' } });
    expect(items[2]).toMatchObject({ price: { N: '0.1' } });
    expect(items[3]).toMatchObject({ year: { N: '1906' } });
    expect(items[4]).not.toHaveProperty('language');
  });

  it('refuses a format the dataset does not accept, saying how the format was chosen', async () => {
    const csvOnly = { ...CONFIG, schema: { ...books, formats: ['csv'] as const } };
    const bytes = readFileSync(new URL('books-array.txt', SAMPLES));
    s3.reset();
    s3.on(HeadObjectCommand).resolves({
      ContentLength: bytes.length,
      ETag: '"e"',
      ContentType: 'text/plain',
    });
    s3.on(GetObjectCommand).resolves({ Body: sdkStreamMixin(Readable.from([bytes])) });
    await expect(
      planFile(client, { bucket: 'uploads', key: 'books-array.txt' }, csvOnly),
    ).rejects.toThrow(
      expect.objectContaining({
        name: 'UnsupportedFileTypeError',
        message:
          's3://uploads/books-array.txt is JSON array (by its first byte (text/plain does not say)), but dataset "books" accepts CSV only',
      }),
    );
    await expect(
      planFile(client, { bucket: 'uploads', key: 'books.jsonl' }, csvOnly),
    ).rejects.toThrow(
      's3://uploads/books.jsonl is JSON Lines (by its extension .jsonl), but dataset "books" accepts CSV only',
    );
    // Decided by the name: refused before the object is read.
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
  });

  const bad = readFileSync(new URL('README.md', SAMPLES), 'utf8')
    .split('\n')
    .flatMap((line) => {
      const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
      const file = /^`(bad-[^`]+\.(?:jsonl|json))`$/.exec(cells[1] ?? '')?.[1];
      return file
        ? [
            [
              file,
              (cells[3] ?? '').split('<br>').map((part) => part.replace(/^`|`$/g, '')),
            ] as const,
          ]
        : [];
    });

  it('documents every bad JSON sample file, and at least three', () => {
    const files = readdirSync(SAMPLES).filter(
      (name) => name.startsWith('bad-') && /\.jsonl?$/.test(name),
    );
    expect(bad.map(([name]) => name).sort()).toEqual(files.sort());
    expect(files.length).toBeGreaterThanOrEqual(3);
  });

  it.each(bad)(
    'rejects %s with the error documented in sample-files/README.md',
    async (name, documented) => {
      const error = await planSample(name).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(InvalidFileError);
      expect((error as Error).message.split('\n').map((line) => line.trim())).toEqual(
        documented.map((line) => line.replace('<bucket>', 'uploads')),
      );
    },
  );
});

describe('parseDataset: formats, map and list columns', () => {
  const base = {
    name: 'things',
    key: 'id',
    columns: [{ name: 'id', type: 'number', required: true }],
  };

  it('accepts every format by default and keeps a given list in its order', () => {
    expect(parseDataset(base).formats).toEqual(['csv', 'jsonl', 'json']);
    expect(parseDataset({ ...base, formats: ['json', 'csv'] }).formats).toEqual(['json', 'csv']);
  });

  it.each([
    [
      { formats: [] },
      'formats must be a non-empty list of distinct formats among csv, jsonl, json',
    ],
    [
      { formats: ['xml'] },
      'formats must be a non-empty list of distinct formats among csv, jsonl, json',
    ],
    [
      { formats: ['csv', 'csv'] },
      'formats must be a non-empty list of distinct formats among csv, jsonl, json',
    ],
    [
      { formats: ['csv'], columns: [...base.columns, { name: 'meta', type: 'map' }] },
      'column "meta" is of type map, which only JSON files can fill, but formats is [csv]',
    ],
    [
      { columns: [...base.columns, { name: 'tags', type: 'string', items: 'string' }] },
      'columns[1]: items applies to list columns only',
    ],
    [
      { columns: [...base.columns, { name: 'tags', type: 'list', items: 'map' }] },
      'columns[1]: items must be one of string, number, integer, boolean, date',
    ],
  ])('refuses %j: %s', (change, problem) => {
    expect(() => parseDataset({ ...base, ...change })).toThrow(
      expect.objectContaining({ problems: [problem] }),
    );
  });

  it('refuses a non-empty CSV cell in a map or list column', async () => {
    const schema = parseDataset({
      ...base,
      columns: [...base.columns, { name: 'meta', type: 'map' }],
    });
    const { convertCell } = await import('../../handlers/shared/dataset.js');
    const [, meta] = schema.columns;
    expect(convertCell(meta as never, '{"a":1}')).toEqual({
      reason:
        'a map or list column is filled by JSON files only: a CSV cell cannot hold one (leave it empty, or load the file as JSON)',
    });
    expect(convertCell(meta as never, '')).toBeUndefined();
  });
});

describe('formatOfExecution (CLI views)', () => {
  it.each([
    [{ output: '{"format":"jsonl","rows":3}', events: [] }, 'jsonl'],
    [
      {
        events: [
          {
            type: 'TaskStateExited',
            stateExitedEventDetails: { name: 'PlanFile', output: '{"plan":{"format":"json"}}' },
          },
        ],
      },
      'json',
    ],
    [{ events: [] }, '-'],
  ])('shows the format of %j as %s', async (execution, format) => {
    const { formatOfExecution } = await import('../../local/cli/report.js');
    expect(formatOfExecution(execution)).toBe(format);
  });
});
