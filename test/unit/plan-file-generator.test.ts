import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { type PlanConfig, planRecords } from '../../handlers/plan-file/plan.js';
import { readCsvRecords } from '../../handlers/shared/csv.js';
import {
  type ColumnType,
  type DatasetSchema,
  parseDatasets,
} from '../../handlers/shared/dataset.js';
import {
  datasetSchema,
  type GenerateOptions,
  type GenerateResult,
  generateCsv,
  parseGenerateArgs,
  requestedSchema,
  writeGeneratedFile,
} from '../../local/generate-csv.js';

const schema = datasetSchema();
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

  it('reads the dataset named with --dataset', () => {
    expect(parseGenerateArgs(['5', 'a.csv', '--dataset', 'authors'])).toMatchObject({
      rows: 5,
      file: 'a.csv',
      dataset: 'authors',
    });
    expect(parseGenerateArgs(['5', 'a.csv'])).not.toHaveProperty('dataset');
  });

  it('reads the schemas file named with --datasets', () => {
    expect(parseGenerateArgs(['5', 'a.csv', '--datasets', 'd.json'])).toMatchObject({
      datasetsFile: 'd.json',
    });
  });

  it.each([
    [[]],
    [['ten', 'out.csv']],
    [['10']],
    [['10', 'a.csv', '--seed', 'x']],
    [['10', 'a.csv', '--fast']],
    [['10', 'a.csv', '--dataset']],
    [['10', 'a.csv', '--dataset', '--lf']],
    [['10', 'a.csv', '--datasets']],
  ])('rejects %j with a usage message', (args) => {
    expect(() => parseGenerateArgs(args)).toThrow(
      /usage|needs a whole number|unknown option|needs the name of a dataset|needs a file/,
    );
  });
});

describe('datasetSchema', () => {
  const several = parseDatasets(
    JSON.parse(readFileSync(new URL('../../sample-files/datasets.json', import.meta.url), 'utf8')),
  );

  it("is cdk.json's only dataset when no name is given", () => {
    expect(datasetSchema().name).toBe('books');
  });

  it('takes the dataset named, among several', () => {
    expect(datasetSchema('authors', several).key).toBe('author_id');
  });

  it('asks which dataset when there are several and none is named', () => {
    expect(() => datasetSchema(undefined, several)).toThrow(
      'several datasets: say which with --dataset (books, authors)',
    );
  });

  it('names the datasets there are when the one asked for is not among them', () => {
    expect(() => datasetSchema('orders', several)).toThrow(
      '--dataset orders: no such dataset (books, authors)',
    );
  });

  it('takes the schemas of a --datasets file instead of cdk.json', async () => {
    const file = new URL('../../sample-files/datasets.json', import.meta.url).pathname;
    expect((await requestedSchema({ dataset: 'authors', datasetsFile: file })).name).toBe(
      'authors',
    );
    expect((await requestedSchema({})).name).toBe('books');
    await expect(requestedSchema({ datasetsFile: file })).rejects.toThrow(
      'say which with --dataset',
    );
    await expect(requestedSchema({ datasetsFile: '/nonexistent/d.json' })).rejects.toThrow(
      '--datasets /nonexistent/d.json: cannot read it as JSON',
    );
  });

  it("generates a valid file for another dataset's schema", async () => {
    const authors = datasetSchema('authors', several);
    const { bytes } = await generate({ rows: 300, schema: authors });
    const plan = await planRecords(
      readCsvRecords(Readable.from([bytes]), { delimiter: ',', maxRecordBytes: 400 * 1024 }),
      { bucket: 'b', key: 'authors.csv', eTag: '"e"', size: bytes.length },
      { ...CONFIG, schema: authors },
    );
    expect(plan.totalRows).toBe(300);
  });
});

describe('writeGeneratedFile', () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'generate-'));
  });
  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('writes the whole file under its name and nothing beside it', async () => {
    const file = join(folder, 'books.csv');
    const result = await writeGeneratedFile(file, { rows: 1000, seed: 3 });
    const written = await readFile(file);
    expect(written.length).toBe(result.bytes);
    expect(written).toEqual((await generate({ rows: 1000, seed: 3 })).bytes);
    expect(await readdir(folder)).toEqual(['books.csv']);
  });

  it('leaves no file, and an earlier file as it was, when generating fails half-way', async () => {
    const file = join(folder, 'books.csv');
    await writeFile(file, 'the earlier file');
    // A column whose type turns into one the generator does not know after 3,000 rows,
    // when several batches of lines have been written to disk.
    let seen = 0;
    const turning = {
      name: 'odd',
      required: true,
      get type(): ColumnType {
        seen += 1;
        return (seen > 3000 ? 'odd' : 'boolean') as ColumnType;
      },
    };
    const broken: DatasetSchema = { ...schema, columns: [...schema.columns, turning] };
    await expect(writeGeneratedFile(file, { rows: 10_000, schema: broken })).rejects.toThrow();
    expect(seen).toBeGreaterThan(3000);
    expect(await readFile(file, 'utf8')).toBe('the earlier file');
    expect(await readdir(folder)).toEqual(['books.csv']);
  });

  it('rejects, leaving nothing, when the folder does not exist', async () => {
    await expect(
      writeGeneratedFile(join(folder, 'missing', 'books.csv'), { rows: 10 }),
    ).rejects.toThrow(/ENOENT/);
    expect(await readdir(folder)).toEqual([]);
  });
});
