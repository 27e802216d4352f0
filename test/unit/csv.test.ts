import { Readable } from 'node:stream';
import {
  type CsvRecord,
  csvParseOptions,
  firstInvalidUtf8,
  readCsvBatches,
  readCsvRecords,
} from '../../handlers/shared/csv.js';
import { MalformedCsvError } from '../../handlers/shared/errors.js';
import { seededRandom } from '../support/seeded-random.js';

const OPTIONS = { delimiter: ',', maxRecordBytes: 1000 };

/** Feeds `bytes` in chunks of `chunkSize` (1 = byte by byte) and collects every record. */
async function read(
  bytes: Buffer | string,
  chunkSize = Number.POSITIVE_INFINITY,
  options: Partial<Parameters<typeof readCsvRecords>[1]> = {},
): Promise<CsvRecord[]> {
  const all = Buffer.from(bytes);
  const chunks: Buffer[] = [];
  for (let at = 0; at < all.length; at += Math.min(chunkSize, all.length)) {
    chunks.push(all.subarray(at, at + Math.min(chunkSize, all.length)));
  }
  const records: CsvRecord[] = [];
  for await (const record of readCsvRecords(Readable.from(chunks), { ...OPTIONS, ...options })) {
    records.push(record);
  }
  return records;
}

/** The records read before the error, and the error. */
async function readUntilError(
  bytes: Buffer | string,
  chunkSize?: number,
): Promise<{ records: CsvRecord[]; error: MalformedCsvError }> {
  const records: CsvRecord[] = [];
  try {
    for await (const record of readCsvRecords(
      Readable.from(chunked(Buffer.from(bytes), chunkSize)),
      OPTIONS,
    )) {
      records.push(record);
    }
  } catch (error) {
    if (error instanceof MalformedCsvError) return { records, error };
    throw error;
  }
  throw new Error('expected a MalformedCsvError');
}

function chunked(bytes: Buffer, size = bytes.length): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += Math.max(1, size)) {
    chunks.push(bytes.subarray(at, at + Math.max(1, size)));
  }
  return chunks;
}

describe('csvParseOptions', () => {
  it('configures strict RFC 4180 parsing with an explicit record size cap', () => {
    expect(csvParseOptions({ delimiter: ';', maxRecordBytes: 4096, bom: true })).toMatchObject({
      bom: true,
      delimiter: ';',
      record_delimiter: ['\r\n', '\n'],
      quote: '"',
      escape: '"',
      relax_quotes: false,
      skip_empty_lines: false,
      trim: false,
      columns: false,
      max_record_size: 4096,
    });
  });
});

describe('readCsvRecords', () => {
  const crlf = '\uFEFFa,b\r\n1,"x\r\ny"\r\n2,é\r\n3,"q""q"';

  it('returns fields, physical start lines and exact byte ranges (BOM, CRLF, quoted CRLF, no final line break)', async () => {
    expect(await read(crlf)).toEqual([
      { fields: ['a', 'b'], line: 1, start: 0, end: 8 },
      { fields: ['1', 'x\r\ny'], line: 2, start: 8, end: 18 },
      { fields: ['2', 'é'], line: 4, start: 18, end: 24 },
      { fields: ['3', 'q"q'], line: 5, start: 24, end: 32 },
    ]);
  });

  it.each([1, 2, 3, 5, 7])(
    'returns the same records whatever the stream chunk size (%i bytes)',
    async (size) => {
      expect(await read(crlf, size)).toEqual(await read(crlf));
    },
  );

  it('returns LF records with quoted commas and newlines', async () => {
    expect(await read('a,b\n"x, y","1\n2\n3"\nlast,row\n')).toEqual([
      { fields: ['a', 'b'], line: 1, start: 0, end: 4 },
      { fields: ['x, y', '1\n2\n3'], line: 2, start: 4, end: 19 },
      { fields: ['last', 'row'], line: 5, start: 19, end: 28 },
    ]);
  });

  it('keeps a bare CR as data (only CRLF and LF end a record)', async () => {
    expect((await read('a,b\nx\ry,z\n')).map((record) => record.fields)).toEqual([
      ['a', 'b'],
      ['x\ry', 'z'],
    ]);
  });

  it('returns a blank line as a record with one empty field (so it can be reported)', async () => {
    expect((await read('a,b\n\n1,2\n')).map((r) => [r.line, r.fields])).toEqual([
      [1, ['a', 'b']],
      [2, ['']],
      [3, ['1', '2']],
    ]);
  });

  it('reads a chunk at an offset with known line numbers and never strips a BOM there', async () => {
    const chunk = '\uFEFFx,1\r\ny,2\r\n';
    expect(await read(chunk, 4, { offset: 1000, firstLine: 40 })).toEqual([
      { fields: ['\uFEFFx', '1'], line: 40, start: 1000, end: 1008 },
      { fields: ['y', '2'], line: 41, start: 1008, end: 1013 },
    ]);
  });

  it('uses the configured delimiter', async () => {
    expect((await read('a;b\n"1;2";3\n', 1, { delimiter: ';' })).map((r) => r.fields)).toEqual([
      ['a', 'b'],
      ['1;2', '3'],
    ]);
  });

  it('streams: yields the first records after reading only the first chunk of the source', async () => {
    let pulled = 0;
    const source = (async function* () {
      yield Buffer.from('a,b\n');
      for (let n = 0; n < 10_000; n++) {
        pulled++;
        yield Buffer.from(`${n},x\n`);
      }
    })();
    const records = readCsvRecords(source, OPTIONS);
    const seen: string[][] = [];
    for await (const record of records) {
      seen.push(record.fields);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([
      ['a', 'b'],
      ['0', 'x'],
      ['1', 'x'],
    ]);
    expect(pulled).toBeLessThan(5);
  });

  it('returns no records for an empty source', async () => {
    expect(await read('')).toEqual([]);
  });

  it.each([
    [
      'an unclosed quote',
      'a,b\n1,2\n3,"open\n4,5\n',
      [1, 2],
      { line: 3, reason: expect.stringContaining('never closed') },
    ],
    [
      'text after a closing quote',
      'a,b\n1,"x"y\n',
      [1],
      { line: 2, column: 2, reason: expect.stringContaining('double a quote') },
    ],
    [
      'a quote inside an unquoted field',
      'a,b\n1,2\n"x\ny",ab"c\n',
      [1, 2],
      { line: 3, column: 2, reason: expect.stringContaining('inside an unquoted field') },
    ],
  ])(
    'throws MalformedCsvError for %s, after every record before it',
    async (_case, text, lines, problem) => {
      for (const size of [1, 3, 1000]) {
        const { records, error } = await readUntilError(text, size);
        expect(records.map((record) => record.line)).toEqual(lines);
        expect(error.problem).toEqual(problem);
      }
    },
  );

  it('throws MalformedCsvError for a record over maxRecordBytes', async () => {
    const { records, error } = await readUntilError(`a,b\n1,${'x'.repeat(2000)}\n`);
    expect(records).toHaveLength(1);
    expect(error.message).toBe(
      'line 2: record is larger than 1000 bytes (MAX_RECORD_BYTES); check the delimiter and quotes',
    );
  });

  describe('UTF-8', () => {
    const latin1 = Buffer.concat([
      Buffer.from('a,b\r\n1,"multi\r\nline"\r\n2,caf'),
      Buffer.from([0xe9]), // é in Latin-1
      Buffer.from('\r\n3,x\r\n'),
    ]);

    it.each([1, 2, 7, 1000])(
      'throws with the physical line and byte offset of an invalid byte (chunks of %i bytes)',
      async (size) => {
        const { records, error } = await readUntilError(latin1, size);
        expect(records.map((record) => record.fields[0])).toEqual(['a', '1']);
        expect(error.message).toBe(
          'line 4: invalid UTF-8 (byte 0xE9 at byte offset 27); save the file as UTF-8',
        );
      },
    );

    it.each([1, 3, 1000])(
      'reports the first problem in the file, even a quote error just before an invalid byte (chunks of %i bytes)',
      async (size) => {
        const { records, error } = await readUntilError(
          Buffer.concat([Buffer.from('x\n"a"b\n'), Buffer.from([0xff])]),
          size,
        );
        expect(records.map((record) => record.fields)).toEqual([['x']]);
        expect(error.message).toBe(
          'line 2, column 1: a quoted field is followed by text instead of a delimiter or line break: double a quote inside a quoted field (""), or add the missing closing quote',
        );
      },
    );

    it('accepts multi-byte characters split across stream chunks', async () => {
      const text = 'a,b\n€,𝄞\n日本,é\n';
      expect((await read(text, 1)).map((record) => record.fields)).toEqual([
        ['a', 'b'],
        ['€', '𝄞'],
        ['日本', 'é'],
      ]);
    });

    it('throws for a character truncated at the end of the file', async () => {
      const { error } = await readUntilError(
        Buffer.concat([Buffer.from('a,b\n1,2\n3,'), Buffer.from([0xe2, 0x82])]),
        1,
      );
      expect(error.message).toBe(
        'line 3: invalid UTF-8 (byte 0xE2 at byte offset 10); save the file as UTF-8',
      );
    });

    it('explains a UTF-16 file', async () => {
      const { error } = await readUntilError(Buffer.from('\uFEFFa,b\n', 'utf16le'));
      expect(error.message).toBe(
        'line 1: the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8',
      );
    });
  });
});

describe('readCsvRecords over generated files (seeded, so every run checks the same files)', () => {
  const PIECES = ['a', 'é', '€', '😀', ',', '"', '\n', '\r\n', '\r', ' '];

  /** A file of random quoted and unquoted cells, LF or CRLF, maybe a BOM and a final break. */
  function generatedFile(random: () => number): Buffer {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const cell = () => {
      const text = Array.from({ length: Math.floor(random() * 5) }, () => pick(PIECES)).join('');
      return /[",\r\n]/.test(text) || random() < 0.2 ? `"${text.replaceAll('"', '""')}"` : text;
    };
    const columns = 1 + Math.floor(random() * 3);
    const rows = Array.from({ length: 1 + Math.floor(random() * 6) }, () =>
      Array.from({ length: columns }, cell).join(','),
    );
    const eol = random() < 0.5 ? '\n' : '\r\n';
    const text = rows.join(eol) + (random() < 0.5 ? eol : '');
    return Buffer.concat([Buffer.from(random() < 0.3 ? '\uFEFF' : ''), Buffer.from(text)]);
  }

  it('returns contiguous byte ranges that each re-read alone to the same fields, at the same line', async () => {
    const random = seededRandom(42);
    for (let file = 0; file < 400; file++) {
      const bytes = generatedFile(random);
      const chunkSize = 1 + Math.floor(random() * 7);
      const records = await read(bytes, chunkSize);
      if (records.length === 0) {
        // Only an empty file (perhaps just a BOM) has no record.
        expect(bytes.toString('utf8').replace('\uFEFF', '')).toBe('');
        continue;
      }
      expect(records[0]?.start).toBe(0);
      expect(records.at(-1)?.end).toBe(bytes.length);
      let line = 1;
      for (const [index, record] of records.entries()) {
        const range = bytes.subarray(record.start, record.end);
        expect({ file, index, line: record.line }).toEqual({ file, index, line });
        line += range.toString('utf8').split('\n').length - 1;
        if (index > 0) {
          expect(record.start).toBe(records[index - 1]?.end);
          const again = await read(range, chunkSize, {
            offset: record.start,
            firstLine: record.line,
          });
          expect(again).toEqual([record]);
        }
      }
    }
  });
});

describe('firstInvalidUtf8', () => {
  it.each([
    ['ASCII', [0x61, 0x62], -1],
    ['two-, three- and four-byte characters', [...Buffer.from('é€𝄞')], -1],
    ['a lone continuation byte', [0x61, 0x80], 1],
    ['an overlong encoding', [0xc0, 0xaf], 0],
    ['an overlong three-byte encoding', [0xe0, 0x80, 0xaf], 0],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80], 0],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
    ['a truncated sequence', [0x61, 0xe2, 0x82], 1],
    ['a lead byte followed by ASCII', [0xe2, 0x41, 0x41], 0],
    ['0xFF', [0xff], 0],
  ])('returns the index of the first invalid byte for %s', (_case, bytes, expected) => {
    expect(firstInvalidUtf8(Uint8Array.from(bytes))).toBe(expected);
  });
});

describe('UTF-8 checking over generated byte streams (seeded)', () => {
  const VALID = ['a', ',', '\n', '\r\n', 'é', '€', '😀', '\uFEFF'].map((text) => Buffer.from(text));
  // Truncated, overlong, surrogate, out-of-range and stray bytes.
  const INVALID = [
    [0xc3],
    [0xe2, 0x82],
    [0xf0, 0x9f, 0x98],
    [0xed, 0xa0, 0x80],
    [0xc0, 0xaf],
    [0xe0, 0x80, 0x80],
    [0xf0, 0x80, 0x80, 0x80],
    [0xf4, 0x90, 0x80, 0x80],
    [0xff],
    [0x80],
  ].map((bytes) => Buffer.from(bytes));

  /** Everything a reader reports for `bytes` fed in pieces of `size`: records, then the error. */
  async function outcome(bytes: Buffer, size: number): Promise<unknown[]> {
    const seen: unknown[] = [];
    try {
      for await (const record of readCsvRecords(Readable.from(chunked(bytes, size)), OPTIONS)) {
        seen.push(record);
      }
    } catch (error) {
      seen.push(error instanceof MalformedCsvError ? error.message : error);
    }
    return seen;
  }

  it('rejects exactly what a fatal TextDecoder rejects, at the same place whatever the piece sizes', async () => {
    const random = seededRandom(7);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    for (let file = 0; file < 600; file++) {
      const pieces = Array.from({ length: 1 + Math.floor(random() * 12) }, () =>
        random() < 0.06 ? pick(INVALID) : pick(VALID),
      );
      const bytes = Buffer.concat(pieces);
      let valid = true;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        valid = false;
      }
      const whole = await outcome(bytes, bytes.length);
      const failed = typeof whole.at(-1) === 'string';
      expect({ file, failed }).toEqual({ file, failed: !valid });
      for (const size of [1, 2, 3, 5]) {
        expect({ file, size, seen: await outcome(bytes, size) }).toEqual({
          file,
          size,
          seen: whole,
        });
      }
    }
  });
});

describe('readCsvBatches', () => {
  it('yields the records of readCsvRecords, in order, in batches', async () => {
    const text = `${Array.from({ length: 3000 }, (_, row) => `${row},"r${row}\n${'x'.repeat(row % 50)}"`).join('\r\n')}\r\n`;
    const bytes = Buffer.from(text);
    const batches: CsvRecord[][] = [];
    for await (const batch of readCsvBatches(Readable.from(chunked(bytes, 20_000)), OPTIONS)) {
      batches.push(batch);
    }
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flat()).toEqual(await read(bytes, 20_000));
    expect(batches.flat()).toHaveLength(3000);
  });

  it('yields the records before malformed text, then throws', async () => {
    const bytes = Buffer.from(`${'a,b\n'.repeat(5000)}a,"b\n`);
    const seen: CsvRecord[] = [];
    await expect(
      (async () => {
        for await (const batch of readCsvBatches(Readable.from(chunked(bytes, 4096)), OPTIONS)) {
          seen.push(...batch);
        }
      })(),
    ).rejects.toThrow(MalformedCsvError);
    expect(seen).toHaveLength(5000);
  });
});
