import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';

// Two datasets with their own formats: the PlanFile handler applies the formats of
// the dataset the key names (its own module instance: the handler reads DATASETS once).
const DATASETS = [
  {
    name: 'books',
    key: 'isbn',
    columns: [
      { name: 'isbn', type: 'number', required: true },
      { name: 'title', type: 'string', required: true },
    ],
  },
  {
    name: 'authors',
    key: 'author_id',
    formats: ['csv'],
    columns: [
      { name: 'author_id', type: 'string', required: true },
      { name: 'name', type: 'string', required: true },
    ],
  },
];

describe('plan-file handler with several datasets', () => {
  const s3 = mockClient(S3Client);

  beforeAll(() => {
    process.env.DATASETS = JSON.stringify(DATASETS);
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  });

  afterAll(() => {
    delete process.env.DATASETS;
  });

  function serve(text: string) {
    s3.reset();
    s3.on(HeadObjectCommand).resolves({ ContentLength: Buffer.byteLength(text), ETag: '"e1"' });
    s3.on(GetObjectCommand).resolves({ Body: sdkStreamMixin(Readable.from([Buffer.from(text)])) });
  }

  it('plans a JSON Lines file for the dataset that accepts every format', async () => {
    const { handler } = await import('../../handlers/plan-file/index.js');
    serve('{"isbn":1,"title":"One"}\n{"isbn":2,"title":"Two"}\n');
    await expect(handler({ file: { bucket: 'b', key: 'books/new.jsonl' } })).resolves.toMatchObject(
      {
        dataset: 'books',
        format: 'jsonl',
        header: [],
        totalRows: 2,
      },
    );
  });

  it('refuses a JSON file for the dataset whose formats are [csv], before reading it', async () => {
    const { handler } = await import('../../handlers/plan-file/index.js');
    serve('[{"author_id":"a","name":"A"}]');
    await expect(handler({ file: { bucket: 'b', key: 'authors/new.json' } })).rejects.toThrow(
      expect.objectContaining({
        name: 'UnsupportedFileTypeError',
        message:
          's3://b/authors/new.json is JSON array (by its extension .json), but dataset "authors" accepts CSV only',
      }),
    );
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });
});
