import { Readable, Writable } from 'node:stream';
import { type PlanConfig, planRecords } from '../../handlers/plan-file/plan.js';
import { readCsvRecords } from '../../handlers/shared/csv.js';
import {
  defaultSchema,
  type GenerateOptions,
  type GenerateResult,
  generateCsv,
  parseGenerateArgs,
} from '../../local/generate-csv.js';

const schema = defaultSchema();
const CONFIG: PlanConfig = {
  schema,
  maxFileBytes: 5 * 1024 ** 3,
  chunkTargetBytes: 64 * 1024,
  maxChunks: 1000,
  mapMaxConcurrency: 10,
  maxRecordBytes: 400 * 1024,
  maxReportedErrors: 20,
  maxPlanBytes: 160 * 1024,
};

async function generate(
  options: GenerateOptions,
): Promise<{ bytes: Buffer; written: number; result: GenerateResult }> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    highWaterMark: 1024, // small, so the generator must honour backpressure
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      setImmediate(callback);
    },
  });
  const result = await generateCsv(options, sink);
  return { bytes: Buffer.concat(parts), written: result.bytes, result };
}

function planOf(bytes: Buffer) {
  const records = readCsvRecords(Readable.from([bytes]), {
    delimiter: ',',
    maxRecordBytes: 409600,
  });
  return planRecords(
    records,
    { bucket: 'b', key: 'g.csv', eTag: '"e"', size: bytes.length },
    CONFIG,
  );
}

describe('generateCsv', () => {
  it('writes the same bytes for the same options and different bytes for another seed', async () => {
    const first = await generate({ rows: 500, seed: 7 });
    const again = await generate({ rows: 500, seed: 7 });
    const other = await generate({ rows: 500, seed: 8 });
    expect(again.bytes.equals(first.bytes)).toBe(true);
    expect(other.bytes.equals(first.bytes)).toBe(false);
    expect(first.written).toBe(first.bytes.length);
  });

  it('writes a valid file for the dataset, exercising quoting and non-ASCII text', async () => {
    const { bytes } = await generate({ rows: 2000, seed: 1 });
    const text = bytes.toString('utf8');
    expect(text.startsWith(`${schema.columns.map((c) => c.name).join(',')}\r\n`)).toBe(true);
    expect(text).toMatch(/"[^"\r\n]*,[^"]*"/); // a quoted comma
    expect(text).toContain('""'); // an escaped quote
    expect(text).toMatch(/"[^"]*\n[^"]*"/); // a quoted line break
    expect(bytes.length).toBeGreaterThan(text.length); // non-ASCII: more bytes than characters
    await expect(planOf(bytes)).resolves.toMatchObject({ totalRows: 2000, duplicateRows: 0 });
  });

  it('repeats an earlier key every Nth row when asked', async () => {
    const { bytes } = await generate({ rows: 1000, seed: 2, duplicateEvery: 10 });
    await expect(planOf(bytes)).resolves.toMatchObject({ totalRows: 1000, duplicateRows: 99 });
  });

  it.each([1, 2, 3])(
    "repeats a key that was really written, so the count it reports is the planner's (every %i)",
    async (duplicateEvery) => {
      const { bytes, result } = await generate({ rows: 300, seed: 5, duplicateEvery });
      const plan = await planOf(bytes);
      expect(plan.duplicateRows).toBe(result.duplicates);
      expect(result.duplicates).toBe(Math.floor(299 / duplicateEvery));
    },
  );

  it('honours line ending, BOM and final line break options', async () => {
    const { bytes } = await generate({
      rows: 3,
      lineEnding: '\n',
      bom: true,
      noFinalLineBreak: true,
    });
    const text = bytes.toString('utf8');
    expect(text.startsWith('\uFEFFisbn,')).toBe(true);
    expect(text).not.toContain('\r\n');
    expect(text.endsWith('\n')).toBe(false);
    await expect(planOf(bytes)).resolves.toMatchObject({ totalRows: 3 });
  });

  it('writes only the header for 0 rows', async () => {
    const { bytes } = await generate({ rows: 0 });
    expect(bytes.toString('utf8')).toBe(schema.columns.map((c) => c.name).join(','));
  });
});

describe('parseGenerateArgs', () => {
  it('reads rows, file and options', () => {
    expect(
      parseGenerateArgs([
        '1000',
        'out.csv',
        '--seed',
        '9',
        '--lf',
        '--bom',
        '--duplicate-every',
        '50',
      ]),
    ).toEqual({
      rows: 1000,
      file: 'out.csv',
      seed: 9,
      lineEnding: '\n',
      bom: true,
      duplicateEvery: 50,
    });
  });

  it.each([
    [[]],
    [['ten', 'out.csv']],
    [['10']],
    [['10', 'a.csv', '--seed', 'x']],
    [['10', 'a.csv', '--fast']],
  ])('rejects %j with a usage message', (args) => {
    expect(() => parseGenerateArgs(args)).toThrow(/usage|needs a whole number|unknown option/);
  });
});
