import { DEFAULT_LOADER_SETTINGS, readLoadChunkConfig } from '../../handlers/load-chunk/config.js';
import { PLAN_DEFAULTS, readPlanConfig } from '../../handlers/plan-file/config.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../../handlers/shared/csv.js';
import { DATASET_JSON as DATASET } from '../support/workflow-fakes.js';

describe('readLoadChunkConfig', () => {
  it('applies the documented defaults', () => {
    const config = readLoadChunkConfig({
      DATASET,
      TABLE_NAME: 'books',
      CONTROL_TABLE_NAME: 'control',
    });
    expect(config).toMatchObject({
      tables: { books: 'books' },
      controlTableName: 'control',
      lease: { pollMs: 200, clockSkewMs: 5_000 },
      writeConcurrency: 4,
      maxRecordBytes: 409600,
      retry: {
        baseDelayMs: 100,
        maxDelayMs: 10_000,
        safetyMarginMs: 10_000,
        unreachableBudgetMs: 120_000,
      },
      forcePathStyle: false,
    });
    expect(config.datasets.map((dataset) => dataset.name)).toEqual(['books']);
  });

  it('reads every setting from the environment', () => {
    expect(
      readLoadChunkConfig({
        DATASET,
        TABLE_NAME: 'books-table',
        CONTROL_TABLE_NAME: 'books-control',
        WRITE_CONCURRENCY: '8',
        LEASE_POLL_MS: '50',
        LEASE_CLOCK_SKEW_MS: '1000',
        MAX_RECORD_BYTES: '4096',
        WRITE_BACKOFF_BASE_MS: '50',
        WRITE_BACKOFF_MAX_MS: '5000',
        TIME_SAFETY_MARGIN_MS: '2000',
        UNREACHABLE_BUDGET_MS: '30000',
        S3_FORCE_PATH_STYLE: 'true',
      }),
    ).toMatchObject({
      tables: { books: 'books-table' },
      controlTableName: 'books-control',
      lease: { pollMs: 50, clockSkewMs: 1000 },
      writeConcurrency: 8,
      maxRecordBytes: 4096,
      retry: {
        baseDelayMs: 50,
        maxDelayMs: 5000,
        safetyMarginMs: 2000,
        unreachableBudgetMs: 30_000,
      },
      forcePathStyle: true,
    });
  });

  it('lists every problem in one ConfigurationError', () => {
    expect(() =>
      readLoadChunkConfig({ DATASET: '[]', WRITE_CONCURRENCY: '0', MAX_RECORD_BYTES: 'x' }),
    ).toThrow(
      [
        'Invalid environment:',
        '  - DATASET: must be an object with name, key and columns',
        '  - TABLE_NAME is required',
        '  - CONTROL_TABLE_NAME is required',
        '  - WRITE_CONCURRENCY must be an integer from 1 to 64, got "0"',
        `  - MAX_RECORD_BYTES must be an integer from 64 to ${Number.MAX_SAFE_INTEGER}, got "x"`,
      ].join('\n'),
    );
  });
});

describe('MAX_RECORD_BYTES', () => {
  it('has one default for the planner and the loader, so a planned chunk always parses', () => {
    expect(DEFAULT_LOADER_SETTINGS.maxRecordBytes).toBe(DEFAULT_MAX_RECORD_BYTES);
    expect(PLAN_DEFAULTS.maxRecordBytes).toBe(DEFAULT_MAX_RECORD_BYTES);
    expect(
      readLoadChunkConfig({ DATASET, TABLE_NAME: 't', CONTROL_TABLE_NAME: 'c' }).maxRecordBytes,
    ).toBe(readPlanConfig({ DATASET }).maxRecordBytes);
  });

  it.each(['1', '63'])(
    'is rejected below 64 by the loader exactly as by the planner (%s)',
    (value) => {
      const problem = `MAX_RECORD_BYTES must be an integer from 64 to ${Number.MAX_SAFE_INTEGER}, got "${value}"`;
      expect(() => readPlanConfig({ DATASET, MAX_RECORD_BYTES: value })).toThrow(problem);
      expect(() =>
        readLoadChunkConfig({
          DATASET,
          TABLE_NAME: 't',
          CONTROL_TABLE_NAME: 'c',
          MAX_RECORD_BYTES: value,
        }),
      ).toThrow(problem);
    },
  );
});
