import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import { PLAN_DEFAULTS, readPlanConfig } from '../../handlers/plan-file/config.js';
import { DATASET_JSON as datasetJson } from '../support/workflow-fakes.js';

describe('readPlanConfig', () => {
  it('applies the documented defaults', () => {
    const config = readPlanConfig({ DATASET: datasetJson });
    expect(config).toMatchObject(PLAN_DEFAULTS);
    expect(PLAN_DEFAULTS).toEqual({
      maxFileBytes: 5368709120,
      chunkTargetBytes: 4194304,
      maxChunks: 1000,
      mapMaxConcurrency: 10,
      maxRecordBytes: 409600,
      maxReportedErrors: 20,
      maxPlanBytes: 163840,
    });
    expect(config.datasets.map((dataset) => dataset.name)).toEqual(['books']);
  });

  it('reads every setting from the environment', () => {
    expect(
      readPlanConfig({
        DATASET: datasetJson,
        MAX_FILE_BYTES: '1000000',
        CHUNK_TARGET_BYTES: '65536',
        MAX_CHUNKS: '50',
        MAX_RECORD_BYTES: '4096',
        MAX_REPORTED_ERRORS: '5',
        MAX_PLAN_BYTES: '65536',
      }),
    ).toMatchObject({
      maxFileBytes: 1000000,
      chunkTargetBytes: 65536,
      maxChunks: 50,
      maxRecordBytes: 4096,
      maxReportedErrors: 5,
      maxPlanBytes: 65536,
    });
  });

  it('lists every problem in one ConfigurationError', () => {
    expect(() =>
      readPlanConfig({
        DATASET: '{"name":"books"}',
        MAX_CHUNKS: '5000',
        CHUNK_TARGET_BYTES: '2048',
        MAX_RECORD_BYTES: '4096',
        MAX_PLAN_BYTES: 'big',
      }),
    ).toThrow(
      expect.objectContaining({
        name: 'ConfigurationError',
        problems: [
          'DATASET: columns must be a non-empty array; key must name one of the columns',
          'MAX_CHUNKS must be an integer from 1 to 1000, got "5000"',
          'MAX_PLAN_BYTES must be an integer from 4096 to 204800, got "big"',
          'MAX_RECORD_BYTES (4096) must not exceed CHUNK_TARGET_BYTES (2048)',
        ],
      }),
    );
  });
});

describe('plan-file handler', () => {
  const s3 = mockClient(S3Client);
  const text = 'isbn,title,author\r\n1,One,A\r\n2,Two,B\r\n';

  beforeAll(() => {
    process.env.DATASET = datasetJson;
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  });

  beforeEach(() => {
    s3.reset();
    s3.on(HeadObjectCommand).resolves({ ContentLength: text.length, ETag: '"e1"' });
    s3.on(GetObjectCommand).resolves({
      Body: sdkStreamMixin(Readable.from([Buffer.from(text)])),
    });
  });

  it('returns the plan of the file named by the task input', async () => {
    const { handler } = await import('../../handlers/plan-file/index.js');
    await expect(handler({ file: { bucket: 'b', key: 'k.csv', eTag: 'e1' } })).resolves.toEqual({
      dataset: 'books',
      object: { bucket: 'b', key: 'k.csv', eTag: '"e1"', size: text.length },
      format: 'csv',
      header: ['isbn', 'title', 'author'],
      chunks: [{ index: 0, start: 19, end: text.length, firstLine: 2, rows: 2, skip: [] }],
      totalRows: 2,
      duplicateRows: 0,
      chunkBytes: text.length,
    });
  });

  it('throws the named error for the workflow to catch', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 0, ETag: '"e1"' });
    const { handler } = await import('../../handlers/plan-file/index.js');
    await expect(handler({ file: { bucket: 'b', key: 'k.csv' } })).rejects.toMatchObject({
      name: 'EmptyFileError',
    });
    await expect(handler({})).rejects.toMatchObject({ name: 'InvalidTaskInputError' });
  });
});
