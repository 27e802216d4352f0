import { DEFAULT_MAX_RECORD_BYTES } from '../shared/csv.js';
import { type DatasetSchema, findDataset } from '../shared/dataset.js';
import { readConfig } from '../shared/env.js';
import { UnknownDatasetError } from '../shared/errors.js';
import {
  readDatasetTables,
  readForcePathStyle,
  readMaxRecordBytes,
  readUnreachableBudgetMs,
} from '../shared/settings.js';
import { DEFAULT_UNREACHABLE_BUDGET_MS } from './batch-writer.js';
import type { LoadChunkConfig } from './load.js';

/** The loader's defaults; every one can be overridden by an environment variable. */
export const DEFAULT_LOADER_SETTINGS = {
  /** WRITE_CONCURRENCY: BatchWriteItem calls in flight per chunk. */
  writeConcurrency: 4,
  /** MAX_RECORD_BYTES: the same default as the planner's, so a planned chunk always parses. */
  maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
  /** WRITE_BACKOFF_BASE_MS: first backoff ceiling after a throttled or partial call. */
  baseDelayMs: 100,
  /** WRITE_BACKOFF_MAX_MS: largest backoff ceiling. */
  maxDelayMs: 10_000,
  /** TIME_SAFETY_MARGIN_MS: Lambda time kept in reserve to fail cleanly instead of timing out. */
  safetyMarginMs: 10_000,
  /** LEASE_POLL_MS: first wait between two looks at an older upload's write leases. */
  leasePollMs: 200,
  /** LEASE_CLOCK_SKEW_MS: how long a crashed chunk's lease still counts after its Lambda's deadline. */
  leaseClockSkewMs: 5_000,
  /** UNREACHABLE_BUDGET_MS: how long DynamoDB may not answer at all before the chunk fails. */
  unreachableBudgetMs: DEFAULT_UNREACHABLE_BUDGET_MS,
  /** PROGRESS_INTERVAL_MS: least time between two reports of the rows written (0: none). */
  progressIntervalMs: 2_000,
} as const;

/**
 * The loader's handler configuration: the core's settings for every dataset (each
 * chunk loads with the schema and into the table of its file's dataset), plus how to
 * reach S3.
 */
export interface LoadChunkHandlerConfig extends Omit<LoadChunkConfig, 'schema' | 'tableName'> {
  readonly datasets: readonly DatasetSchema[];
  /** The table of each dataset, by dataset name. */
  readonly tables: Readonly<Record<string, string>>;
  readonly forcePathStyle: boolean;
}

/**
 * The LoadChunkConfig of one chunk: the handler's settings with the schema and table of
 * the chunk's dataset (`undefined`: an input from before datasets, valid with one dataset).
 * Throws UnknownDatasetError for a dataset this deployment does not have.
 */
export function loadConfigFor(
  config: LoadChunkHandlerConfig,
  dataset: string | undefined,
): LoadChunkConfig {
  const { datasets, tables, forcePathStyle: _forcePathStyle, ...settings } = config;
  const only = datasets.length === 1 ? datasets[0] : undefined;
  if (dataset === undefined && only === undefined) {
    throw new UnknownDatasetError(
      `The LoadChunk input names no dataset and this deployment has ${datasets.length} (${datasets.map((schema) => schema.name).join(', ')}); redrive the failure record so the file is planned again.`,
    );
  }
  const schema =
    dataset === undefined && only !== undefined ? only : findDataset(dataset ?? '', datasets);
  return { ...settings, schema, tableName: tables[schema.name] ?? '' };
}

/**
 * Reads the loader's configuration from the environment, throwing one
 * ConfigurationError that lists every bad variable.
 */
export function readLoadChunkConfig(
  env: Readonly<Record<string, string | undefined>>,
): LoadChunkHandlerConfig {
  return readConfig(env, (read) => ({
    ...readDatasetTables(read),
    controlTableName: read.string('CONTROL_TABLE_NAME'),
    lease: {
      pollMs: read.integer('LEASE_POLL_MS', {
        default: DEFAULT_LOADER_SETTINGS.leasePollMs,
        min: 1,
        max: 60_000,
      }),
      clockSkewMs: read.integer('LEASE_CLOCK_SKEW_MS', {
        default: DEFAULT_LOADER_SETTINGS.leaseClockSkewMs,
        min: 0,
        max: 300_000,
      }),
    },
    writeConcurrency: read.integer('WRITE_CONCURRENCY', {
      default: DEFAULT_LOADER_SETTINGS.writeConcurrency,
      min: 1,
      max: 64,
    }),
    maxRecordBytes: readMaxRecordBytes(read),
    progressIntervalMs: read.integer('PROGRESS_INTERVAL_MS', {
      default: DEFAULT_LOADER_SETTINGS.progressIntervalMs,
      min: 0,
      max: 600_000,
    }),
    retry: {
      baseDelayMs: read.integer('WRITE_BACKOFF_BASE_MS', {
        default: DEFAULT_LOADER_SETTINGS.baseDelayMs,
        min: 1,
      }),
      maxDelayMs: read.integer('WRITE_BACKOFF_MAX_MS', {
        default: DEFAULT_LOADER_SETTINGS.maxDelayMs,
        min: 1,
      }),
      safetyMarginMs: read.integer('TIME_SAFETY_MARGIN_MS', {
        default: DEFAULT_LOADER_SETTINGS.safetyMarginMs,
        min: 0,
      }),
      unreachableBudgetMs: readUnreachableBudgetMs(read),
    },
    forcePathStyle: readForcePathStyle(read),
  }));
}
