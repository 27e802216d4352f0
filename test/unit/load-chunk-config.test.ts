import { DEFAULT_LOADER_SETTINGS, readLoadChunkConfig } from '../../handlers/load-chunk/config.js';
import { PLAN_DEFAULTS, readPlanConfig } from '../../handlers/plan-file/config.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../../handlers/shared/csv.js';
import { DATASET_JSON as DATASET } from '../support/workflow-fakes.js';

describe('readLoadChunkConfig', () => {
  it('applies the documented defaults', () => {
    const config = readLoadChunkConfig({ DATASET, TABLE_NAME: 'books' });
    expect(config).toMatchObject({
      tableName: 'books',
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
    expect(config.schema.name).toBe('books');
  });

  it('reads every setting from the environment', () => {
    expect(
      readLoadChunkConfig({
        DATASET,
        TABLE_NAME: 'books-table',
        WRITE_CONCURRENCY: '8',
        MAX_RECORD_BYTES: '4096',
        WRITE_BACKOFF_BASE_MS: '50',
        WRITE_BACKOFF_MAX_MS: '5000',
        TIME_SAFETY_MARGIN_MS: '2000',
        UNREACHABLE_BUDGET_MS: '30000',
        S3_FORCE_PATH_STYLE: 'true',
      }),
    ).toMatchObject({
      tableName: 'books-table',
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
    expect(readLoadChunkConfig({ DATASET, TABLE_NAME: 't' }).maxRecordBytes).toBe(
      readPlanConfig({ DATASET }).maxRecordBytes,
    );
  });

  it.each(['1', '63'])(
    'is rejected below 64 by the loader exactly as by the planner (%s)',
    (value) => {
      const problem = `MAX_RECORD_BYTES must be an integer from 64 to ${Number.MAX_SAFE_INTEGER}, got "${value}"`;
      expect(() => readPlanConfig({ DATASET, MAX_RECORD_BYTES: value })).toThrow(problem);
      expect(() =>
        readLoadChunkConfig({ DATASET, TABLE_NAME: 't', MAX_RECORD_BYTES: value }),
      ).toThrow(problem);
    },
  );
});
