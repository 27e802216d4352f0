import { DEFAULT_MAX_RECORD_BYTES } from '../shared/csv.js';
import type { DatasetSchema } from '../shared/dataset.js';
import { readConfig } from '../shared/env.js';
import { readDatasets, readMaxRecordBytes, readUnreachableBudgetMs } from '../shared/settings.js';
import { DEFAULT_UNANSWERED_POLICY, type PlanConfig } from './plan.js';

/** Defaults of the planner's settings (the same as infra/config.ts). */
export const PLAN_DEFAULTS = {
  maxFileBytes: 5 * 1024 ** 3,
  chunkTargetBytes: 4 * 1024 ** 2,
  maxChunks: 1000,
  mapMaxConcurrency: 10,
  maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
  maxReportedErrors: 20,
  maxPlanBytes: 160 * 1024,
} as const;

/**
 * The planner handler's configuration: the plan settings of every file, and every
 * dataset's schema (a file is planned with the schema of the dataset its key names).
 */
export interface PlanHandlerConfig extends Omit<PlanConfig, 'schema'> {
  readonly datasets: readonly DatasetSchema[];
}

/** The PlanConfig of one file: the handler's settings with the schema of the file's dataset. */
export function planConfigFor(config: PlanHandlerConfig, schema: DatasetSchema): PlanConfig {
  const { datasets: _datasets, ...settings } = config;
  return { ...settings, schema };
}

/**
 * Reads the planner's configuration from the environment, throwing one
 * ConfigurationError that lists every bad variable.
 */
export function readPlanConfig(
  env: Readonly<Record<string, string | undefined>>,
): PlanHandlerConfig {
  return readConfig(env, (read) => {
    const config: PlanHandlerConfig = {
      datasets: readDatasets(read),
      maxFileBytes: read.integer('MAX_FILE_BYTES', { default: PLAN_DEFAULTS.maxFileBytes, min: 1 }),
      chunkTargetBytes: read.integer('CHUNK_TARGET_BYTES', {
        default: PLAN_DEFAULTS.chunkTargetBytes,
        min: 1024,
      }),
      // Each Map iteration adds about seven history events, a retry about three: 1,000 chunks
      // (7,000 events) stay far below 25,000 even with thousands of retries.
      maxChunks: read.integer('MAX_CHUNKS', {
        default: PLAN_DEFAULTS.maxChunks,
        min: 1,
        max: 1000,
      }),
      // The workflow's Map concurrency (the same setting, infra/config.ts): chunks to fill it.
      mapMaxConcurrency: read.integer('MAP_MAX_CONCURRENCY', {
        default: PLAN_DEFAULTS.mapMaxConcurrency,
        min: 1,
        max: 40,
      }),
      maxRecordBytes: readMaxRecordBytes(read),
      maxReportedErrors: read.integer('MAX_REPORTED_ERRORS', {
        default: PLAN_DEFAULTS.maxReportedErrors,
        min: 1,
        max: 100,
      }),
      // The plan is state in the workflow, whose payloads are capped at 256 KiB.
      maxPlanBytes: read.integer('MAX_PLAN_BYTES', {
        default: PLAN_DEFAULTS.maxPlanBytes,
        min: 4 * 1024,
        max: 200 * 1024,
      }),
      unanswered: {
        ...DEFAULT_UNANSWERED_POLICY,
        unreachableBudgetMs: readUnreachableBudgetMs(read),
      },
    };
    if (config.maxRecordBytes > config.chunkTargetBytes) {
      read.problem(
        `MAX_RECORD_BYTES (${config.maxRecordBytes}) must not exceed CHUNK_TARGET_BYTES (${config.chunkTargetBytes})`,
      );
    }
    return config;
  });
}
