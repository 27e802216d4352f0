import { readdirSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfigFor, readLoadChunkConfig } from '../../handlers/load-chunk/config.js';
import { parseLoadChunkEvent } from '../../handlers/load-chunk/event.js';
import { planConfigFor, readPlanConfig } from '../../handlers/plan-file/config.js';
import {
  type DatasetSchema,
  datasetOfKey,
  findDataset,
  parseDataset,
  parseDatasets,
  routeKey,
} from '../../handlers/shared/dataset.js';
import { ConfigurationError, UnknownDatasetError } from '../../handlers/shared/errors.js';
import { CDK_DATASET } from '../support/workflow-fakes.js';

const SAMPLES = new URL('../../sample-files/', import.meta.url);
/** The two sample datasets (books and authors), as `npm start -- --datasets` reads them. */
const SAMPLE_DATASETS = JSON.parse(
  readFileSync(new URL('datasets.json', SAMPLES), 'utf8'),
) as unknown[];
const [books, authors] = parseDatasets(SAMPLE_DATASETS) as [DatasetSchema, DatasetSchema];

describe('sample-files/datasets.json', () => {
  it("holds cdk.json's dataset first, so the local stack's books are the deployed books", () => {
    expect(SAMPLE_DATASETS[0]).toEqual(CDK_DATASET);
  });

  it('adds the authors dataset, keyed by a string author_id', () => {
    expect(authors).toMatchObject({ name: 'authors', key: 'author_id', keyType: 'S' });
  });
});

describe('parseDatasets', () => {
  it('returns the schemas in order', () => {
    expect(parseDatasets([CDK_DATASET, SAMPLE_DATASETS[1]]).map((schema) => schema.name)).toEqual([
      'books',
      'authors',
    ]);
  });

  it('validates each entry as parseDataset does', () => {
    expect(parseDatasets([CDK_DATASET])).toEqual([parseDataset(CDK_DATASET)]);
  });

  it('lists every problem of every dataset, and duplicate names, in one ConfigurationError', () => {
    let error: unknown;
    try {
      parseDatasets(
        [CDK_DATASET, { ...CDK_DATASET, columns: [] }, CDK_DATASET, 'authors'],
        'DATASETS',
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toEqual([
      '[1] (books): duplicate dataset name "books" (also [0]): the name is the key prefix, the API path and the table, so each must be unique',
      '[1] (books): columns must be a non-empty array',
      '[1] (books): key "isbn" is not one of the columns',
      '[2] (books): duplicate dataset name "books" (also [0]): the name is the key prefix, the API path and the table, so each must be unique',
      '[3]: must be an object with name, key and columns',
    ]);
  });

  it.each([[[]], [{}], ['books']])('rejects %j: not a non-empty list', (raw) => {
    expect(() => parseDatasets(raw)).toThrow('must be a non-empty array of dataset schemas');
  });
});

describe('routing by key', () => {
  it.each([
    ['books/2026/x.csv', 'books'],
    ['authors/a.csv', 'authors'],
    ['books/authors/x.csv', 'books'],
    ['authors/books/x.csv', 'authors'],
  ])('routes %s to the dataset its first segment names (%s)', (key, dataset) => {
    expect(datasetOfKey(key, [books, authors])?.name).toBe(dataset);
    expect(routeKey(key, [books, authors]).name).toBe(dataset);
  });

  it.each(['books.csv', 'Books/x.csv', 'orders/x.csv', '2026/books/x.csv', '/books/x.csv'])(
    'routes %s to no dataset when there are several',
    (key) => {
      expect(datasetOfKey(key, [books, authors])).toBeUndefined();
    },
  );

  it.each(['books.csv', 'books/x.csv', 'incoming/2026/x.csv', 'authors/x.csv'])(
    'routes any key (%s) to the only dataset, prefixed or not',
    (key) => {
      expect(routeKey(key, [books]).name).toBe('books');
    },
  );

  it.each([
    [
      'orders/2026/x.csv',
      'The object key "orders/2026/x.csv" names no known dataset: its first segment "orders" is not a dataset. Known datasets: "books", "authors". Upload the file under "<dataset>/", for example "books/2026/x.csv".',
    ],
    [
      'x.csv',
      'The object key "x.csv" names no known dataset: it has no prefix, and with several datasets the first segment of the key must name one. Known datasets: "books", "authors". Upload the file under "<dataset>/", for example "books/x.csv".',
    ],
  ])('names the key, why and the known datasets when %s names none', (key, message) => {
    expect(() => routeKey(key, [books, authors])).toThrow(new UnknownDatasetError(message));
    expect(() => routeKey(key, [books, authors])).toThrow(
      expect.objectContaining({ name: 'UnknownDatasetError' }),
    );
  });

  it("finds a plan's dataset by name, or says the deployment no longer has it", () => {
    expect(findDataset('authors', [books, authors])).toBe(authors);
    expect(() => findDataset('orders', [books, authors])).toThrow(
      'The plan names dataset "orders", which this deployment does not have (known datasets: "books", "authors")',
    );
  });
});

describe('handler configuration with several datasets', () => {
  const env = {
    DATASETS: JSON.stringify(SAMPLE_DATASETS),
    TABLE_NAMES: JSON.stringify({ books: 'books-table', authors: 'authors-table' }),
    CONTROL_TABLE_NAME: 'control',
  };

  it("gives the planner every schema and plans a file with its dataset's", () => {
    const config = readPlanConfig(env);
    expect(config.datasets.map((schema) => schema.name)).toEqual(['books', 'authors']);
    expect(planConfigFor(config, authors)).toMatchObject({ schema: authors, maxChunks: 1000 });
  });

  it("loads a chunk with its dataset's schema into its dataset's table", () => {
    const config = readLoadChunkConfig(env);
    expect(loadConfigFor(config, 'authors')).toMatchObject({
      schema: authors,
      tableName: 'authors-table',
      controlTableName: 'control',
    });
    expect(loadConfigFor(config, 'books')).toMatchObject({
      schema: books,
      tableName: 'books-table',
    });
  });

  it('fails a chunk of an unknown dataset, or of none when there are several, with UnknownDatasetError', () => {
    const config = readLoadChunkConfig(env);
    expect(() => loadConfigFor(config, 'orders')).toThrow(UnknownDatasetError);
    expect(() => loadConfigFor(config, undefined)).toThrow(
      'The LoadChunk input names no dataset and this deployment has 2 (books, authors)',
    );
  });

  it('loads an input without a dataset (an execution from before datasets) into the only dataset', () => {
    const config = readLoadChunkConfig({
      DATASET: JSON.stringify(CDK_DATASET),
      TABLE_NAME: 'books-table',
      CONTROL_TABLE_NAME: 'control',
    });
    expect(loadConfigFor(config, undefined)).toMatchObject({ tableName: 'books-table' });
  });

  it.each<[string, Record<string, string>, string]>([
    ['TABLE_NAME with several datasets', { TABLE_NAME: 't' }, 'TABLE_NAMES is required'],
    [
      'a dataset without a table',
      { TABLE_NAMES: '{"books":"b"}' },
      'no table for dataset "authors"',
    ],
    [
      'a table of no dataset',
      { TABLE_NAMES: '{"books":"b","authors":"a","orders":"o"}' },
      '"orders" is not a dataset',
    ],
  ])('rejects %s', (_case, tables, problem) => {
    const { TABLE_NAMES: _tables, ...rest } = env;
    expect(() => readLoadChunkConfig({ ...rest, ...tables })).toThrow(problem);
  });

  it('names the dataset in a LoadChunk input, when present', () => {
    const input = {
      object: { bucket: 'b', key: 'authors/a.csv', eTag: '"e"', size: 10 },
      header: ['author_id', 'name'],
      chunk: { index: 0, start: 0, end: 10, firstLine: 2, rows: 1, skip: [] },
      upload: {
        uploadedAt: '2026-12-01T10:00:00.000Z',
        key: 'authors/a.csv',
        sequencer: '0',
        version: 'v1',
      },
    };
    expect(parseLoadChunkEvent({ ...input, dataset: 'authors' }).dataset).toBe('authors');
    expect(parseLoadChunkEvent(input).dataset).toBeUndefined();
    expect(() => parseLoadChunkEvent({ ...input, dataset: '' })).toThrow(
      "dataset must be a non-empty string (the plan's dataset) when present",
    );
  });
});

describe('plan-file handler with two datasets', () => {
  const s3 = mockClient(S3Client);

  beforeAll(() => {
    process.env.DATASETS = JSON.stringify(SAMPLE_DATASETS);
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  });

  beforeEach(() => {
    s3.reset();
    s3.on(HeadObjectCommand).callsFake((input: { Key: string }) => ({
      ContentLength: sampleBytes(input.Key).length,
      ETag: '"e1"',
    }));
    s3.on(GetObjectCommand).callsFake((input: { Key: string }) => ({
      Body: sdkStreamMixin(Readable.from([sampleBytes(input.Key)])),
    }));
  });

  /** The sample file an object key stands for: its path under sample-files/, prefix and all. */
  function sampleBytes(key: string): Buffer {
    const path = key.startsWith('books/') ? key.slice('books/'.length) : key;
    return readFileSync(new URL(path, SAMPLES));
  }

  async function plan(key: string) {
    const { handler } = await import('../../handlers/plan-file/index.js');
    return handler({ file: { bucket: 'uploads', key } });
  }

  it("plans books/… with the books schema and authors/… with the authors', naming the dataset", async () => {
    await expect(plan('books/books.csv')).resolves.toMatchObject({
      dataset: 'books',
      totalRows: 100,
    });
    await expect(plan('authors/authors.csv')).resolves.toMatchObject({
      dataset: 'authors',
      header: ['author_id', 'name', 'born', 'died', 'country', 'books_in_catalogue'],
      totalRows: 22,
      duplicateRows: 0,
    });
  });

  it('fails a key under an unknown prefix with UnknownDatasetError before reading it', async () => {
    await expect(plan('orders/books.csv')).rejects.toMatchObject({
      name: 'UnknownDatasetError',
      message: expect.stringContaining('Known datasets: "books", "authors"'),
    });
    expect(s3.calls()).toHaveLength(0);
  });

  const bad: [string, string][] = [
    [
      'bad-authors-values.csv',
      [
        's3://uploads/authors/bad-authors-values.csv is invalid, nothing was written: 4 errors',
        '  line 3, column 2 (name), value "": required value is empty',
        '  line 4, column 3 (born), value "about 1828": not an integer',
        '  line 5, column 1 (author_id), value "": required value is empty',
        '  line 6, column 6 (books_in_catalogue), value "many": not an integer',
      ].join('\n'),
    ],
    [
      'bad-authors-books-file.csv',
      [
        's3://uploads/authors/bad-authors-books-file.csv is invalid, nothing was written: 11 errors in the header; the rows were not checked',
        '  line 1, column 1 (isbn): not a column of dataset "authors"; expected author_id, name, born, died, country, books_in_catalogue',
        '  line 1, column 2 (title): not a column of dataset "authors"',
      ].join('\n'),
    ],
  ];

  it('has a test for every bad authors sample file', () => {
    const files = readdirSync(new URL('authors/', SAMPLES)).filter((name) =>
      name.startsWith('bad-'),
    );
    expect(files.sort()).toEqual(bad.map(([name]) => name).sort());
  });

  it.each(bad)(
    'rejects authors/%s with the error documented in sample-files/README.md',
    async (name, message) => {
      const error = await plan(`authors/${name}`).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toMatchObject({ name: 'InvalidFileError' });
      expect((error as Error).message.startsWith(message)).toBe(true);
      const readme = readFileSync(new URL('README.md', SAMPLES), 'utf8');
      for (const line of message.split('\n')) {
        expect(readme).toContain(line.trim().replace('s3://uploads/', 's3://<bucket>/'));
      }
    },
  );
});
