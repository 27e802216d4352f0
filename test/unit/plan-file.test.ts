import { readdirSync, readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import { chunkLayout, MIN_CHUNK_BYTES } from '../../handlers/plan-file/chunk-sizing.js';
import { PLAN_DEFAULTS } from '../../handlers/plan-file/config.js';
import { parsePlanFileEvent } from '../../handlers/plan-file/event.js';
import { IntegerKeyTable, KeyIndex } from '../../handlers/plan-file/key-index.js';
import {
  checkObject,
  DEFAULT_UNANSWERED_POLICY,
  isRejectedFile,
  type PlanConfig,
  planFile,
  planRecords,
} from '../../handlers/plan-file/plan.js';
import type { FilePlan, PlannedObject } from '../../handlers/shared/contracts.js';
import { readCsvRecords } from '../../handlers/shared/csv.js';
import { parseDataset } from '../../handlers/shared/dataset.js';
import {
  EmptyFileError,
  FileReadError,
  InvalidFileError,
  MAX_MESSAGE_CHARS,
  ObjectChangedError,
} from '../../handlers/shared/errors.js';
import { rowToItem, validateHeader, type WireItem } from '../../handlers/shared/rows.js';
import { generateCsv } from '../../local/generate-csv.js';
import { books as schema, VirtualClock } from '../support/workflow-fakes.js';

const SAMPLES = new URL('../../sample-files/', import.meta.url);

const CONFIG: PlanConfig = { schema, ...PLAN_DEFAULTS };

const HEADER = 'isbn,title,author,year,language,pages,price,in_print,published';

/** A books row with the given key and title (other columns fixed). */
function row(isbn: number | string, title = `Title ${isbn}`): string {
  return `${isbn},${title},Author,2001,en,100,9.99,true,2001-01-01`;
}

function objectOf(bytes: Buffer, key = 'books.csv'): PlannedObject {
  return { bucket: 'uploads', key, eTag: '"etag"', size: bytes.length };
}

/** Plans `text` as if it were a whole object, fed to the parser in `chunkSize`-byte pieces. */
function plan(
  text: string | Buffer,
  config: Partial<PlanConfig> = {},
  chunkSize = 64 * 1024,
): Promise<FilePlan> {
  const bytes = Buffer.from(text);
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize)
    pieces.push(bytes.subarray(at, at + chunkSize));
  const records = readCsvRecords(Readable.from(pieces), {
    delimiter: schema.delimiter,
    maxRecordBytes: CONFIG.maxRecordBytes,
  });
  return planRecords(records, objectOf(bytes), { ...CONFIG, ...config });
}

/** Every data record of a whole file, with its line: what loading the file must see. */
async function dataRecords(bytes: Buffer): Promise<{ fields: string[]; line: number }[]> {
  const all = [];
  for await (const record of readCsvRecords(Readable.from([bytes]), {
    delimiter: ',',
    maxRecordBytes: CONFIG.maxRecordBytes,
  })) {
    all.push({ fields: record.fields, line: record.line });
  }
  return all.slice(1);
}

/** Reads each planned byte range back, as a loader does, parsing it with the known header. */
async function loadRanges(
  bytes: Buffer,
  planned: FilePlan,
): Promise<{ fields: string[]; line: number; chunk: number; index: number }[]> {
  const rows = [];
  for (const chunk of planned.chunks) {
    const range = bytes.subarray(chunk.start, chunk.end);
    let index = 0;
    for await (const record of readCsvRecords(Readable.from([range]), {
      delimiter: ',',
      maxRecordBytes: CONFIG.maxRecordBytes,
      offset: chunk.start,
      firstLine: chunk.firstLine,
    })) {
      rows.push({ fields: record.fields, line: record.line, chunk: chunk.index, index: index++ });
    }
    expect(index).toBe(chunk.rows);
  }
  return rows;
}

async function generated(
  rows: number,
  options: Omit<Parameters<typeof generateCsv>[0], 'rows'> = {},
) {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      callback();
    },
  });
  await generateCsv({ rows, ...options }, sink);
  return Buffer.concat(parts);
}

/** The message of the error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return { name: error.name, message: error.message };
  }
  throw new Error('expected the promise to reject');
}

describe('chunkLayout', () => {
  const MiB = 1024 * 1024;
  const defaults = { chunkTargetBytes: 4 * MiB, maxChunks: 1000, mapMaxConcurrency: 10 };
  it.each([
    ['a 9.3 MB file fills the Map', 9_313_589, {}, 10],
    ['a file of two minimum chunks gets two', 2 * MIN_CHUNK_BYTES, {}, 2],
    ['a file under two minimum chunks stays whole', 2 * MIN_CHUNK_BYTES - 1, {}, 1],
    ['an empty object plans one (empty) range', 0, {}, 1],
    ['a 100 MB file gets chunks of at most the target', 100_000_000, {}, 24],
    ['a 5 GiB file is capped at MAX_CHUNKS', 5 * 1024 * MiB, {}, 1000],
    ['MAX_CHUNKS caps filling the Map too', 9_313_589, { maxChunks: 3 }, 3],
    ['a Map of one needs no more than the target asks', 9_313_589, { mapMaxConcurrency: 1 }, 3],
    ['a larger Map takes more chunks', 30 * MiB, { mapMaxConcurrency: 40 }, 40],
  ])('%s (%i bytes → %j → %i chunks)', (_case, size, settings, chunks) => {
    const layout = chunkLayout(size, { ...defaults, ...settings });
    expect(layout.chunks).toBe(chunks);
    expect(layout.chunkBytes).toBe(Math.ceil(Math.max(1, size) / chunks));
    expect(layout.chunkBytes * layout.chunks).toBeGreaterThanOrEqual(size);
  });
});

describe('planRecords', () => {
  describe('chunk boundaries', () => {
    it('returns one chunk from the first data record to the end of a small file', async () => {
      const text = `${HEADER}\r\n${row(1)}\r\n${row(2)}\r\n`;
      expect(await plan(text)).toEqual({
        object: objectOf(Buffer.from(text)),
        format: 'csv',
        header: HEADER.split(','),
        chunks: [
          { index: 0, start: HEADER.length + 2, end: text.length, firstLine: 2, rows: 2, skip: [] },
        ],
        totalRows: 2,
        duplicateRows: 0,
        chunkBytes: text.length,
      });
    });

    it('places every boundary exactly at a record start, and the ranges read back to every row in order', async () => {
      const bytes = await generated(3000, { seed: 11 });
      const planned = await plan(bytes, { chunkTargetBytes: 4096 }, 1000);
      expect(planned.chunks.length).toBeGreaterThan(20);
      const starts = new Set<number>();
      for await (const record of readCsvRecords(Readable.from([bytes]), {
        delimiter: ',',
        maxRecordBytes: CONFIG.maxRecordBytes,
      })) {
        starts.add(record.start);
      }
      planned.chunks.forEach((chunk, index) => {
        expect(starts.has(chunk.start)).toBe(true);
        expect(chunk.end).toBe(planned.chunks[index + 1]?.start ?? bytes.length);
        expect(chunk.index).toBe(index);
      });
      const loaded = await loadRanges(bytes, planned);
      expect(loaded.map(({ fields, line }) => ({ fields, line }))).toEqual(
        await dataRecords(bytes),
      );
      expect(planned.totalRows).toBe(3000);
    });

    it.each([
      ['CRLF', 300, 1, {}],
      ['LF with a BOM', 777, 13, { lineEnding: '\n', bom: true }],
      ['no final line break', 2048, 4096, { noFinalLineBreak: true }],
      ['LF, duplicates', 500, 64, { lineEnding: '\n', duplicateEvery: 7 }],
    ] as const)(
      'reads back every row exactly once across chunks (%s, target %i bytes, parser fed %i-byte pieces)',
      async (_case, target, pieceSize, options) => {
        const bytes = await generated(400, { seed: target, ...options });
        const planned = await plan(bytes, { chunkTargetBytes: target }, pieceSize);
        expect(planned.chunks[0]?.start).toBe(
          Buffer.byteLength(
            `${'bom' in options ? '\uFEFF' : ''}${HEADER}${'lineEnding' in options ? '\n' : '\r\n'}`,
          ),
        );
        expect(planned.chunks.at(-1)?.end).toBe(bytes.length);
        const loaded = await loadRanges(bytes, planned);
        expect(loaded.map(({ fields, line }) => ({ fields, line }))).toEqual(
          await dataRecords(bytes),
        );
      },
    );

    it('ends chunk k at the first record end at or past k × chunkBytes, so chunks are of similar size', async () => {
      // Seven rows of 51 bytes after a 64-byte header (421 bytes): a target of three rows
      // makes ceil(421 / 153) = 3 chunks of ceil(421 / 3) = 141 bytes; the boundaries at
      // 141 and 282 close the chunks after the records ending at 166 and 319.
      const text = `${HEADER}\r\n${[1, 2, 3, 4, 5, 6, 7].map((n) => row(n)).join('\r\n')}\r\n`;
      const rowBytes = row(1).length + 2;
      expect([text.length, rowBytes]).toEqual([421, 51]);
      const planned = await plan(text, { chunkTargetBytes: 3 * rowBytes });
      expect(planned.chunkBytes).toBe(141);
      expect(planned.chunks.map((chunk) => [chunk.rows, chunk.firstLine, chunk.end])).toEqual([
        [2, 2, 166],
        [3, 4, 319],
        [2, 7, 421],
      ]);
    });

    it.each([20, 41, 60, 90, 120, 200])(
      'keeps a record with a quoted newline whole wherever a boundary falls (target %i bytes)',
      async (target) => {
        const long = `"first line of the title,\r\nsecond line\nthird"`;
        const text = `${HEADER}\r\n${row(1)}\r\n${row(2, long)}\r\n${row(3)}\r\n${row(4)}\r\n`;
        const planned = await plan(text, { chunkTargetBytes: target }, 7);
        expect(planned.chunks[0]).toMatchObject({ start: HEADER.length + 2, firstLine: 2 });
        const loaded = await loadRanges(Buffer.from(text), planned);
        expect(loaded[1]?.fields[1]).toBe('first line of the title,\r\nsecond line\nthird');
        expect(loaded.map((r) => r.line)).toEqual([2, 3, 6, 7]);
      },
    );

    it('counts a BOM in the byte offsets and strips it from the header', async () => {
      const text = `\uFEFF${HEADER}\n${row(1)}\n`;
      const planned = await plan(text, {}, 1);
      expect(planned.header[0]).toBe('isbn');
      expect(planned.chunks[0]).toMatchObject({
        start: 3 + HEADER.length + 1,
        end: Buffer.byteLength(text),
      });
    });

    it('counts multi-byte UTF-8 in bytes, not characters', async () => {
      const text = `${HEADER}\n${row(1, 'Война и мир')}\n${row(2, '吾輩は猫である')}\n${row(3)}\n`;
      const planned = await plan(text, { chunkTargetBytes: 60 }, 3);
      expect(planned.chunks.map((chunk) => chunk.rows)).toEqual([1, 1, 1]);
      const loaded = await loadRanges(Buffer.from(text), planned);
      expect(loaded.map((r) => r.fields[1])).toEqual(['Война и мир', '吾輩は猫である', 'Title 3']);
    });

    it('plans a last row without a line break up to the end of the file', async () => {
      const text = `${HEADER}\r\n${row(1)}\r\n${row(2)}`;
      const planned = await plan(text, { chunkTargetBytes: 40 });
      expect(planned.chunks.map((c) => [c.start, c.end])).toEqual([
        [HEADER.length + 2, HEADER.length + 2 + row(1).length + 2],
        [HEADER.length + 2 + row(1).length + 2, text.length],
      ]);
      expect((await loadRanges(Buffer.from(text), planned)).map((r) => r.fields[0])).toEqual([
        '1',
        '2',
      ]);
    });

    it.each([
      ['with a line break', `${HEADER}\r\n`],
      ['without a line break', HEADER],
    ])('returns no chunks for a header-only file (%s)', async (_case, text) => {
      expect(await plan(text)).toMatchObject({ chunks: [], totalRows: 0, duplicateRows: 0 });
    });

    it.each([1, 25, 26])('plans a file of exactly %i rows', async (rows) => {
      const text = `${HEADER}\n${Array.from({ length: rows }, (_, n) => row(n + 1)).join('\n')}\n`;
      const whole = await plan(text);
      expect(whole.chunks).toHaveLength(1);
      expect(whole).toMatchObject({ totalRows: rows, chunks: [{ rows, firstLine: 2, skip: [] }] });
      const small = await plan(text, { chunkTargetBytes: 1000 });
      expect(small.chunks.reduce((sum, chunk) => sum + chunk.rows, 0)).toBe(rows);
      expect(await loadRanges(Buffer.from(text), small)).toHaveLength(rows);
    });

    it('fills the Map: a file big enough to split gets mapMaxConcurrency chunks of similar size', async () => {
      const bytes = await generated(25_000, { seed: 5 });
      expect(bytes.length).toBeGreaterThan(4 * MIN_CHUNK_BYTES);
      const planned = await plan(bytes, { mapMaxConcurrency: 4 });
      expect(planned.chunks).toHaveLength(4);
      const even = bytes.length / 4;
      for (const chunk of planned.chunks.slice(0, -1)) {
        // Each ends within one record past its boundary (generated records are < 400 bytes).
        expect(Math.abs(chunk.end - chunk.start - even)).toBeLessThan(1024);
      }
      expect(await loadRanges(bytes, planned)).toHaveLength(25_000);
    });

    it('grows the chunk size so a huge file never exceeds MAX_CHUNKS', async () => {
      const bytes = await generated(2000, { seed: 3 });
      const planned = await plan(bytes, { chunkTargetBytes: 1024, maxChunks: 7 });
      expect(planned.chunkBytes).toBe(Math.ceil(bytes.length / 7));
      expect(planned.chunks.length).toBeLessThanOrEqual(7);
      expect(await loadRanges(bytes, planned)).toHaveLength(2000);
    });
  });

  describe('duplicate keys', () => {
    it('skips every earlier occurrence so the last one wins, also across chunks', async () => {
      const lines = [
        row(1, 'one v1'),
        row(2, 'two v1'),
        row(3),
        row(1, 'one v2'),
        row(4),
        row(2, 'two v2'),
        row(1, 'one v3'),
      ];
      const text = `${HEADER}\n${lines.join('\n')}\n`;
      const planned = await plan(text, { chunkTargetBytes: 80 });
      expect(planned.chunks.length).toBeGreaterThan(2);
      expect(planned.duplicateRows).toBe(3);

      // Load the chunks in reverse order, as a parallel Map may: skipped rows never write.
      const layout = validateHeader(planned.header, schema);
      if (!layout.ok) throw new Error('header');
      const written = new Map<string | number, string>();
      const loaded = await loadRanges(Buffer.from(text), planned);
      for (const chunk of [...planned.chunks].reverse()) {
        for (const record of loaded.filter((r) => r.chunk === chunk.index)) {
          if (chunk.skip.includes(record.index)) continue;
          const converted = rowToItem(layout.layout, record.fields, record.line);
          if (!converted.ok) throw new Error('row');
          expect(written.has(converted.row.key)).toBe(false);
          written.set(converted.row.key, String((converted.row.item as WireItem).title?.S));
        }
      }
      expect(Object.fromEntries(written)).toEqual({
        1: 'one v3',
        2: 'two v2',
        3: 'Title 3',
        4: 'Title 4',
      });
    });

    it('treats number keys that DynamoDB sees as equal as duplicates (7, 7.0, 007)', async () => {
      const text = `${HEADER}\n${row('7')}\n${row('7.0')}\n${row('007')}\n`;
      const planned = await plan(text);
      expect(planned).toMatchObject({ duplicateRows: 2, chunks: [{ skip: [0, 1] }] });
    });

    it('lists skips chunk-relative and sorted', async () => {
      const bytes = await generated(5000, { duplicateEvery: 50, seed: 5 });
      const planned = await plan(bytes, { chunkTargetBytes: 8192 });
      expect(planned.duplicateRows).toBe(99);
      for (const chunk of planned.chunks) {
        expect([...chunk.skip].sort((a, b) => a - b)).toEqual(chunk.skip);
        for (const index of chunk.skip) expect(index).toBeLessThan(chunk.rows);
      }
      expect(planned.chunks.reduce((sum, chunk) => sum + chunk.skip.length, 0)).toBe(99);
    });

    it('throws PlanTooLargeError when the skip lists would not fit the plan budget', async () => {
      const text = `${HEADER}\n${Array.from({ length: 600 }, () => row(1)).join('\n')}\n`;
      expect(await failure(plan(text, { maxPlanBytes: 4096 }))).toEqual({
        name: 'PlanTooLargeError',
        message:
          's3://uploads/books.csv has 599 rows whose key occurs again later in the file; at most 512 fit in a plan (MAX_PLAN_BYTES 4096). Remove the duplicate rows or split the file',
      });
    });
  });

  describe('validation', () => {
    it('refuses a row whose item fits in 400 KB only without the provenance attributes the loader adds', async () => {
      const notes = parseDataset({
        name: 'notes',
        key: 'k',
        columns: [
          { name: 'k', type: 'string', required: true },
          { name: 'text', type: 'string' },
        ],
      });
      const header = validateHeader(['k', 'text'], notes);
      if (!header.ok) throw new Error('header');
      // The bare item: 1 + 4 bytes of names, 1 byte of key, the text: 10 bytes under the limit.
      const text = 'x'.repeat(409_600 - 10 - 6);
      const bare = rowToItem(header.layout, ['k', text], 2);
      expect(bare.ok && bare.row.size).toBe(409_590);
      const { message } = await failure(plan(`k,text\nk,${text}\n`, { schema: notes }));
      expect(message).toMatch(
        /line 2: item is \d+ bytes \(\d+ of them for its provenance attributes\), over DynamoDB's 409600-byte item limit/,
      );
    });

    it('lists problems with physical line numbers that count quoted line breaks', async () => {
      const text = [
        HEADER,
        row(1, '"A title\r\nover two lines"'),
        row('x2'),
        `3,"Three\nlines\nhere",Author,MMI,en,100,9.99,true,2001-01-01`,
        row(4),
        '5,T,A',
      ].join('\r\n');
      expect((await failure(plan(text, {}, 5))).message).toBe(
        [
          's3://uploads/books.csv is invalid, nothing was written: 3 errors',
          '  line 4, column 1 (isbn), value "x2": not a number',
          '  line 7, column 4 (year), value "MMI": not an integer',
          '  line 9: expected 9 fields like the header, found 3',
        ].join('\n'),
      );
    });

    it('lists the first MAX_REPORTED_ERRORS problems and counts them all', async () => {
      const text = `${HEADER}\n${Array.from({ length: 30 }, (_, n) => row(`bad${n}`)).join('\n')}\n`;
      const { name, message } = await failure(plan(text, { maxReportedErrors: 2 }));
      expect(name).toBe('InvalidFileError');
      expect(message).toBe(
        [
          's3://uploads/books.csv is invalid, nothing was written: 30 errors (the first 2 are listed)',
          '  line 2, column 1 (isbn), value "bad0": not a number',
          '  line 3, column 1 (isbn), value "bad1": not a number',
        ].join('\n'),
      );
    });

    it('lists only as many problems as fit a Step Functions error cause (32,768 characters)', () => {
      const problems = Array.from({ length: 100 }, (_, n) => ({
        line: n + 2,
        reason: 'r'.repeat(1000),
      }));
      const error = new InvalidFileError('s3://uploads/books.csv', problems, 250);
      expect(error.message.length).toBeLessThan(MAX_MESSAGE_CHARS + 1200);
      // Each line is cut to 1,000 characters; 13 of them fit the 14,000-character budget.
      expect(error.listed).toHaveLength(13);
      expect(error.message).toMatch(
        /^s3:\/\/uploads\/books.csv is invalid, nothing was written: 250 errors \(the first 13 are listed\)\n {2}line 2: r{990}r*…\n/,
      );
    });

    /** The Cause Step Functions records for a Lambda error: the runtime's JSON, trace included. */
    function lambdaCause(error: Error): string {
      return JSON.stringify({
        errorType: error.name,
        errorMessage: error.message,
        trace: (error.stack ?? '').split('\n'),
      });
    }

    it.each([
      ['long reasons', { reason: 'r'.repeat(1000) }],
      [
        'values full of quotes and backslashes',
        { value: '"\\'.repeat(20), reason: 'not a number' },
      ],
      ['huge field names', { column: 1, field: 'f'.repeat(5000), reason: 'not a column' }],
    ])(
      "keeps the Lambda error cause within Step Functions' 32,768 characters (%s)",
      (_case, shape) => {
        const problems = Array.from({ length: 100 }, (_, n) => ({ line: n + 2, ...shape }));
        const error = new InvalidFileError('s3://uploads/books.csv', problems, 250);
        expect(lambdaCause(error).length).toBeLessThanOrEqual(32_768);
        expect(error.listed.length).toBeGreaterThan(0);
      },
    );

    it('quotes a header name in a problem as a short excerpt, however long the name', async () => {
      const name = `${'x'.repeat(100_000)}`;
      const error = await failure(plan(`${HEADER},${name}\n${row(1)}\n`));
      expect(error.message).toBe(
        [
          's3://uploads/books.csv is invalid, nothing was written: 1 error in the header; the rows were not checked',
          `  line 1, column 10 (${'x'.repeat(39)}…): not a column of dataset "books"; expected isbn, title, author, year, language, pages, price, in_print, published`,
        ].join('\n'),
      );
    });

    it('reports the problems before a malformed line and stops there', async () => {
      const text = `${HEADER}\n${row('x')}\n${row(2)}\n3,"open,A,1,en,1,1,true,2001-01-01\n${row(4)}\n`;
      expect((await failure(plan(text, {}, 4))).message).toBe(
        [
          's3://uploads/books.csv is invalid, nothing was written: at least 2 errors; validation stopped at the malformed line',
          '  line 2, column 1 (isbn), value "x": not a number',
          '  line 4: a quoted field starting in this record is never closed (missing closing quote)',
        ].join('\n'),
      );
    });

    it.each([
      [
        'a stray quote in an unquoted field',
        '3,The "Best" Book,A,2001,en,1,1,true,2001-01-01',
        'a quote appears inside an unquoted field (quote the whole field and write the quote as "")',
      ],
      [
        'text after a closing quote',
        '3,"The Best" Book,A,2001,en,1,1,true,2001-01-01',
        'a quoted field is followed by text instead of a delimiter or line break: double a quote inside a quoted field (""), or add the missing closing quote',
      ],
    ])('names the column and field of %s', async (_case, line, reason) => {
      const text = `${HEADER}\n${row(1)}\n${line}\n`;
      expect((await failure(plan(text))).message).toBe(
        [
          's3://uploads/books.csv is invalid, nothing was written: at least 1 error; validation stopped at the malformed line',
          `  line 3, column 2 (title): ${reason}`,
        ].join('\n'),
      );
    });

    it('releases the source stream when planning stops early', async () => {
      const source = Readable.from(
        (function* () {
          yield Buffer.from('isbn,title\n');
          for (let n = 0; n < 1000; n++) yield Buffer.from(`${row(n)}\n`);
        })(),
      );
      const records = readCsvRecords(source, { delimiter: ',', maxRecordBytes: 1000 });
      const { name } = await failure(planRecords(records, objectOf(Buffer.alloc(10)), CONFIG));
      expect(name).toBe('InvalidFileError');
      expect(source.destroyed).toBe(true);
    });

    it('rejects a header problem without reading the rows', async () => {
      expect((await failure(plan(`isbn,title\n${row(1)}\n`))).message).toBe(
        [
          's3://uploads/books.csv is invalid, nothing was written: 1 error in the header; the rows were not checked',
          '  line 1 (author): required column is missing',
        ].join('\n'),
      );
    });

    it.each([
      ['only a BOM', '\uFEFF'],
      ['nothing', ''],
    ])('throws EmptyFileError for a file holding %s', async (_case, text) => {
      expect(await failure(plan(text))).toEqual({
        name: 'EmptyFileError',
        message: 's3://uploads/books.csv has no header row',
      });
    });

    it('rejects invalid UTF-8 with its line', async () => {
      const bytes = Buffer.concat([
        Buffer.from(`${HEADER}\n${row(1)}\n2,Caf`),
        Buffer.from([0xe9]),
        Buffer.from(`,A,2001,en,1,1,true,2001-01-01\n`),
      ]);
      expect((await failure(plan(bytes, {}, 16))).message).toBe(
        [
          's3://uploads/books.csv is invalid, nothing was written: at least 1 error; validation stopped at the malformed line',
          `  line 3: invalid UTF-8 (byte 0xE9 at byte offset ${HEADER.length + row(1).length + 7}); save the file as UTF-8`,
        ].join('\n'),
      );
    });
  });
});

describe('sample-files', () => {
  async function planSample(name: string): Promise<FilePlan> {
    const bytes = readFileSync(new URL(name, SAMPLES));
    const records = readCsvRecords(Readable.from([bytes]), {
      delimiter: ',',
      maxRecordBytes: CONFIG.maxRecordBytes,
    });
    return planRecords(records, objectOf(bytes, name), CONFIG);
  }

  it('plans books.csv: 100 rows with quoted commas, newlines, escaped quotes, non-ASCII, CRLF', async () => {
    const planned = await planSample('books.csv');
    expect(planned).toMatchObject({
      totalRows: 100,
      duplicateRows: 0,
      chunks: [{ rows: 100, firstLine: 2 }],
    });
    const text = readFileSync(new URL('books.csv', SAMPLES), 'utf8');
    expect(text).toContain('\r\n');
    expect(text).toContain('""');
    expect(text).toMatch(/"[^"]*,[^"]*"/);
  });

  it('plans books-update.csv (BOM, LF): a repeated key is skipped in favour of its last row', async () => {
    expect(await planSample('books-update.csv')).toMatchObject({
      totalRows: 14,
      duplicateRows: 1,
      chunks: [{ rows: 14, skip: [0] }],
    });
  });

  const bad: [string, string][] = [
    [
      'bad-key-not-a-number.csv',
      [
        's3://uploads/bad-key-not-a-number.csv is invalid, nothing was written: 3 errors',
        '  line 7, column 1 (isbn), value "97801400X3962": not a number',
        '  line 10, column 4 (year), value "MDCCCXL": not an integer',
        '  line 12, column 9 (published), value "2021-02-30": not a date (YYYY-MM-DD)',
      ].join('\n'),
    ],
    [
      'bad-header.csv',
      [
        's3://uploads/bad-header.csv is invalid, nothing was written: 6 errors in the header; the rows were not checked',
        '  line 1, column 1 (ISBN): not a column of dataset "books" (did you mean "isbn"?); expected isbn, title, author, year, language, pages, price, in_print, published',
        '  line 1, column 2 (titel): not a column of dataset "books"',
        '  line 1, column 9 (rating): not a column of dataset "books"',
        '  line 1 (isbn): required column is missing',
        '  line 1 (title): required column is missing',
        '  line 1 (author): required column is missing',
      ].join('\n'),
    ],
    [
      'bad-unclosed-quote.csv',
      [
        's3://uploads/bad-unclosed-quote.csv is invalid, nothing was written: at least 1 error; validation stopped at the malformed line',
        '  line 8: a quoted field starting in this record is never closed (missing closing quote)',
      ].join('\n'),
    ],
    [
      'bad-not-utf8.csv',
      [
        's3://uploads/bad-not-utf8.csv is invalid, nothing was written: at least 1 error; validation stopped at the malformed line',
        '  line 5: invalid UTF-8 (byte 0xE9 at byte offset 357); save the file as UTF-8',
      ].join('\n'),
    ],
    [
      'bad-missing-values.csv',
      [
        's3://uploads/bad-missing-values.csv is invalid, nothing was written: 2 errors',
        '  line 3, column 3 (author), value "": required value is empty',
        '  line 6: expected 9 fields like the header, found 7',
      ].join('\n'),
    ],
  ];

  it('has a test for every bad CSV sample file', () => {
    const files = readdirSync(SAMPLES).filter(
      (name) => name.startsWith('bad-') && name.endsWith('.csv'),
    );
    expect(files.sort()).toEqual(bad.map(([name]) => name).sort());
  });

  it.each(bad)(
    'rejects %s with the error documented in sample-files/README.md',
    async (name, message) => {
      expect(await failure(planSample(name))).toEqual({ name: 'InvalidFileError', message });
      const readme = readFileSync(new URL('README.md', SAMPLES), 'utf8');
      for (const line of message.split('\n')) {
        expect(readme).toContain(line.trim().replace('s3://uploads/', 's3://<bucket>/'));
      }
    },
  );
});

describe('planFile', () => {
  const s3 = mockClient(S3Client);
  const client = new S3Client({ region: 'us-east-1' });
  const text = `${HEADER}\r\n${row(1)}\r\n${row(2)}\r\n`;
  const file = { bucket: 'uploads', key: 'incoming/books.csv', versionId: 'v1', eTag: 'abc' };

  function s3Error(name: string, status: number): S3ServiceException {
    return new S3ServiceException({
      name,
      $fault: 'client',
      $metadata: { httpStatusCode: status },
      message: name,
    });
  }

  function body(bytes: string | Buffer) {
    return sdkStreamMixin(Readable.from([Buffer.from(bytes)]));
  }

  beforeEach(() => {
    s3.reset();
    s3.on(HeadObjectCommand).resolves({
      ContentLength: text.length,
      ETag: '"abc"',
      ContentType: 'text/csv',
    });
    s3.on(GetObjectCommand).resolves({ Body: body(text) });
  });

  it('heads, then reads the exact version once with IfMatch, and returns the plan', async () => {
    const planned = await planFile(client, file, CONFIG);
    expect(planned).toMatchObject({
      object: {
        bucket: 'uploads',
        key: 'incoming/books.csv',
        versionId: 'v1',
        eTag: '"abc"',
        size: text.length,
      },
      totalRows: 2,
      chunks: [{ start: HEADER.length + 2, end: text.length, rows: 2 }],
    });
    expect(s3.commandCalls(HeadObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'uploads',
      Key: 'incoming/books.csv',
      VersionId: 'v1',
    });
    expect(s3.commandCalls(GetObjectCommand).map((call) => call.args[0].input)).toEqual([
      { Bucket: 'uploads', Key: 'incoming/books.csv', VersionId: 'v1', IfMatch: '"abc"' },
    ]);
  });

  it.each([
    [
      'NotFound',
      404,
      'ObjectNotFoundError',
      's3://uploads/incoming/books.csv version v1 no longer exists; nothing to ingest (upload the file again to ingest it)',
    ],
  ])('maps a HeadObject %s (HTTP %i) to %s (terminal)', async (code, status, name, message) => {
    s3.on(HeadObjectCommand).rejects(s3Error(code, status));
    expect(await failure(planFile(client, file, CONFIG))).toEqual({ name, message });
  });

  it.each([
    [HeadObjectCommand, 'InternalError', 500],
    [GetObjectCommand, 'SlowDown', 503],
  ])('maps a %p server error to the retryable FileReadError', async (command, code, status) => {
    s3.on(command).rejects(s3Error(code, status));
    expect(await failure(planFile(client, file, CONFIG))).toEqual({
      name: 'FileReadError',
      message: `reading s3://uploads/incoming/books.csv failed: ${code}: ${code}`,
    });
  });

  it.each([
    ['RequestTimeout', 400],
    ['SlowDown', 503],
    ['TooManyRequestsException', 429],
  ])('treats S3 %s (HTTP %i) as transient, whatever its status', async (name, status) => {
    s3.on(GetObjectCommand).rejects(
      new S3ServiceException({
        name,
        message: name,
        $fault: 'client',
        $metadata: { httpStatusCode: status },
      }),
    );
    expect((await failure(planFile(client, file, CONFIG))).name).toBe('FileReadError');
  });

  it('maps a network failure S3 did not name (no HTTP status, no network code) to the retryable FileReadError', async () => {
    // What the SDK throws when a response breaks off: $metadata without an httpStatusCode.
    s3.on(GetObjectCommand).rejects(
      Object.assign(new Error('socket hang up'), { name: 'Error', $metadata: { attempts: 3 } }),
    );
    expect(await failure(planFile(client, file, CONFIG))).toEqual({
      name: 'FileReadError',
      message: 'reading s3://uploads/incoming/books.csv failed: Error: socket hang up',
    });
  });

  it.each([
    [HeadObjectCommand, 'HeadObject', 'TimeoutError', 'Connection timed out after 5000 ms'],
    [GetObjectCommand, 'GetObject', 'Error', 'connect ECONNREFUSED 127.0.0.1:4566'],
  ])(
    'repeats a %p that S3 does not answer, then fails with the terminal ServiceUnreachableError naming S3 once the budget is spent',
    async (command, operation, name, message) => {
      s3.on(command).rejects(
        Object.assign(new Error(message), {
          name,
          ...(name === 'Error' ? { code: 'ECONNREFUSED' } : {}),
          $metadata: { attempts: 3 },
        }),
      );
      const clock = new VirtualClock(600_000);
      const config = {
        ...CONFIG,
        unanswered: { ...DEFAULT_UNANSWERED_POLICY, unreachableBudgetMs: 5_000 },
      };
      const error = await failure(planFile(client, file, config, clock));
      expect(error.name).toBe('ServiceUnreachableError');
      expect(error.message).toMatch(
        new RegExp(
          `^${operation} of s3://uploads/incoming/books\\.csv: S3 did not answer for \\d+\\.\\d s \\(\\d+ attempt\\(s\\), (TimeoutError|ECONNREFUSED): ${name}: ${message.replaceAll('.', '\\.')}\\) and the budget for an unreachable service \\(UNREACHABLE_BUDGET_MS=5000\\) is spent`,
        ),
      );
      expect(600_000 - clock.remainingTimeMs()).toBeGreaterThanOrEqual(5_000);
    },
  );

  it('throws the retryable FileReadError when the body stream breaks mid-file', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: sdkStreamMixin(
        Readable.from(
          (async function* () {
            yield Buffer.from(`${HEADER}\r\n${row(1)}\r\n`);
            throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          })(),
        ),
      ),
    });
    expect(await failure(planFile(client, file, CONFIG))).toEqual({
      name: 'FileReadError',
      message: 'reading s3://uploads/incoming/books.csv failed: Error: socket hang up',
    });
  });

  it.each([
    // A HEAD response has no body: the SDK can only say "UnknownError".
    [HeadObjectCommand, 'Forbidden', 'UnknownError', 403],
    [GetObjectCommand, 'AccessDenied', 'Access Denied', 403],
    [GetObjectCommand, 'InvalidObjectState', 'The operation is not valid for the object', 403],
  ])(
    'maps a %p refusal (%s) to the terminal ObjectAccessError naming the file',
    async (command, name, message, status) => {
      s3.on(command).rejects(
        new S3ServiceException({
          name,
          message,
          $fault: 'client',
          $metadata: { httpStatusCode: status },
        }),
      );
      expect(await failure(planFile(client, file, CONFIG))).toEqual({
        name: 'ObjectAccessError',
        message: `S3 refused to read s3://uploads/incoming/books.csv version v1 (HTTP ${status}, ${name}: ${message}); check that the planner's role may s3:GetObject it (and decrypt it, if it is KMS-encrypted). Without s3:ListBucket, S3 answers 403 instead of 404 for a missing object`,
      });
    },
  );

  it.each([
    [
      'NoSuchKey',
      404,
      'ObjectNotFoundError',
      's3://uploads/incoming/books.csv was deleted while it was being planned',
    ],
    [
      'PreconditionFailed',
      412,
      'ObjectChangedError',
      's3://uploads/incoming/books.csv was overwritten while it was being planned; the new version is ingested by its own execution',
    ],
  ])('maps a GetObject %s (HTTP %i) to %s', async (code, status, name, message) => {
    s3.on(GetObjectCommand).rejects(s3Error(code, status));
    expect(await failure(planFile(client, file, CONFIG))).toEqual({ name, message });
  });

  it('rejects before reading when HeadObject shows the object cannot be loaded', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 0, ETag: '"e"' });
    expect(await failure(planFile(client, file, CONFIG))).toEqual({
      name: 'EmptyFileError',
      message: 's3://uploads/incoming/books.csv is empty (0 bytes)',
    });
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });
});

describe('checkObject', () => {
  const label = 's3://uploads/data/books.csv';
  const ok = { ContentLength: 10 };

  it.each([
    [{ ContentLength: 0 }, label, 'EmptyFileError', `${label} is empty (0 bytes)`],
    [
      { ContentLength: 101 },
      label,
      'FileTooLargeError',
      `${label} is 101 bytes, over the 100-byte limit (MAX_FILE_BYTES); split it into smaller files`,
    ],
    [
      { ...ok, ContentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' },
      's3://uploads/data/books.xlsx',
      'UnsupportedFileTypeError',
      's3://uploads/data/books.xlsx has content type "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", which is none of the formats loaded (CSV, JSON Lines, JSON array); expected one of text/csv, application/csv, text/comma-separated-values, application/vnd.ms-excel, application/jsonl, application/x-jsonlines, application/x-ndjson, application/ndjson, application/json, text/json, text/plain, application/octet-stream, binary/octet-stream, or a name ending in .csv, .jsonl, .ndjson or .json',
    ],
    [
      { ...ok, ContentType: 'text/csv; charset=ISO-8859-1' },
      label,
      'UnsupportedFileTypeError',
      `${label} declares charset iso-8859-1; save the file as UTF-8 and upload it again`,
    ],
    [
      { ...ok, ContentEncoding: 'gzip' },
      label,
      'UnsupportedFileTypeError',
      `${label} is stored with Content-Encoding "gzip"; upload the plain, uncompressed file`,
    ],
  ])('rejects %j at %s with %s', (head, where, name, message) => {
    expect(() => checkObject(where, head, { maxFileBytes: 100 })).toThrow(
      expect.objectContaining({ name, message }),
    );
  });

  it.each([
    ['no content type', {}],
    ['text/csv with UTF-8', { ContentType: 'text/csv; charset=utf-8' }],
    ['S3 default type', { ContentType: 'binary/octet-stream' }],
    ['upper-case extension', {}, 's3://uploads/BOOKS.CSV'],
  ])('accepts %s', (_case, head, where = label) => {
    expect(() =>
      checkObject(where, { ContentLength: 100, ...head }, { maxFileBytes: 100 }),
    ).not.toThrow();
  });
});

describe('parsePlanFileEvent', () => {
  it('returns the FileRef of the task input', () => {
    expect(
      parsePlanFileEvent({
        file: { bucket: 'b', key: 'a b.csv', versionId: 'v', eTag: 'e', size: 3, sequencer: '0A' },
      }),
    ).toEqual({ bucket: 'b', key: 'a b.csv', versionId: 'v', eTag: 'e', size: 3, sequencer: '0A' });
  });

  it.each([
    [undefined, 'PlanFile input must be { "file": { "bucket", "key", ... } }'],
    [{ file: 'x' }, 'PlanFile input must be { "file": { "bucket", "key", ... } }'],
    [
      { file: { key: 1, size: -1 } },
      'Invalid PlanFile input: file.bucket is required; file.key must be a non-empty string; file.size must be a non-negative integer',
    ],
  ])('throws InvalidTaskInputError for %j', (event, message) => {
    expect(() => parsePlanFileEvent(event)).toThrow(
      expect.objectContaining({ name: 'InvalidTaskInputError', message }),
    );
  });
});

describe('KeyIndex', () => {
  it('returns the previous row of a key across number and string identities', () => {
    const index = new KeyIndex();
    expect(index.set(9780306406157, 0)).toBeUndefined();
    expect(index.set('1234567890123456789E18', 1)).toBeUndefined();
    expect(index.set('abc', 2)).toBeUndefined();
    expect(index.set(9780306406157, 3)).toBe(0);
    expect(index.set('1234567890123456789E18', 4)).toBe(1);
    expect(index.set(9780306406157, 5)).toBe(3);
    expect(index.size).toBe(3);
  });

  it('keeps numbers and their string spellings apart (one key column has one type)', () => {
    const index = new KeyIndex();
    index.set(7, 0);
    expect(index.set('7', 1)).toBeUndefined();
  });

  it('forgets every key on clear and still matches a Map after it, presized or not', () => {
    for (const index of [new KeyIndex(), new KeyIndex(100_000)]) {
      for (let round = 0; round < 3; round++) {
        const reference = new Map<string | number, number>();
        for (let row = 0; row < 20_000; row++) {
          const key = row % 3 === 0 ? `k${row % 7000}` : 9780000000000 + ((row * 7919) % 9000);
          expect(index.set(key, row)).toBe(reference.get(key));
          reference.set(key, row);
        }
        expect(index.size).toBe(reference.size);
        index.clear();
        expect(index.size).toBe(0);
      }
    }
  });
});

describe('IntegerKeyTable', () => {
  it('matches a Map through growth, collisions, negative and large keys', () => {
    const table = new IntegerKeyTable(16);
    const reference = new Map<number, number>();
    let seed = 42;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let row = 0; row < 50_000; row++) {
      // Few distinct values so keys repeat often; spread across sign and magnitude.
      const base = Math.floor(random() * 20_000);
      const key = [
        base,
        -base,
        9780000000000 + base,
        base * 2 ** 32,
        Number.MAX_SAFE_INTEGER - base,
      ][row % 5] as number;
      expect(table.set(key, row)).toBe(reference.get(key));
      reference.set(key, row);
    }
    expect(table.size).toBe(reference.size);
  });
});

describe('isRejectedFile', () => {
  it.each([
    [new InvalidFileError('s3://b/k.csv', [], 0), true],
    [new EmptyFileError('empty'), true],
    [new ObjectChangedError('changed'), true],
    [new FileReadError('socket hang up'), false],
    [Object.assign(new Error('denied'), { name: 'AccessDenied' }), false],
  ])('tells a rejected file from a system failure (%p → %p)', (error, rejected) => {
    expect(isRejectedFile(error)).toBe(rejected);
  });
});
