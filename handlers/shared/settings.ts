import { DEFAULT_UNREACHABLE_BUDGET_MS } from './backoff.js';
import { DEFAULT_MAX_RECORD_BYTES, MIN_MAX_RECORD_BYTES } from './csv.js';
import { type DatasetSchema, parseDataset, parseDatasets } from './dataset.js';
import type { EnvReader } from './env.js';
import { isRecord } from './guards.js';

/**
 * Settings that more than one handler reads, read the same way everywhere: the
 * planner and the loader must agree on them, or a planned chunk would not load.
 */

/** The dataset schema from the `DATASET` environment variable (JSON, as CDK passes it). */
export function readDataset(read: EnvReader): DatasetSchema {
  return read.json('DATASET', (raw) => parseDataset(raw, 'DATASET'));
}

/**
 * Every dataset schema: `DATASETS` (a JSON array, as CDK passes it), else `DATASET`
 * (one schema, a list of one).
 */
export function readDatasets(read: EnvReader): readonly DatasetSchema[] {
  // A bad value reads as undefined (the reader records the problem; readConfig throws).
  if (read.optionalString('DATASETS') === undefined) {
    const dataset: DatasetSchema | undefined = readDataset(read);
    return dataset === undefined ? [] : [dataset];
  }
  return read.json('DATASETS', (raw) => parseDatasets(raw, 'DATASETS')) ?? [];
}

/** Every dataset (readDatasets) and its table (readTableNames). */
export function readDatasetTables(read: EnvReader): {
  readonly datasets: readonly DatasetSchema[];
  readonly tables: Readonly<Record<string, string>>;
} {
  const datasets = readDatasets(read);
  return { datasets, tables: readTableNames(read, datasets) };
}

/**
 * The table of each dataset, by dataset name: `TABLE_NAMES` (a JSON object, as CDK
 * passes it), else `TABLE_NAME` when there is exactly one dataset. Every dataset must
 * have a table and every table a dataset.
 */
export function readTableNames(
  read: EnvReader,
  datasets: readonly DatasetSchema[],
): Readonly<Record<string, string>> {
  const names = datasets.map((dataset) => dataset.name);
  if (read.optionalString('TABLE_NAMES') === undefined) {
    const table = read.string('TABLE_NAME');
    if (names.length > 1) {
      read.problem(
        `TABLE_NAMES is required with several datasets (${names.join(', ')}): a JSON object of table names by dataset`,
      );
    }
    return Object.fromEntries(names.map((name) => [name, table]));
  }
  return read.json('TABLE_NAMES', (raw) => {
    if (!isRecord(raw)) throw new Error('must be a JSON object of table names by dataset');
    const problems: string[] = [];
    for (const name of names) {
      const table = raw[name];
      if (typeof table !== 'string' || table === '')
        problems.push(`no table for dataset "${name}"`);
    }
    for (const name of Object.keys(raw)) {
      if (!names.includes(name)) problems.push(`"${name}" is not a dataset`);
    }
    if (problems.length > 0) throw new Error(problems.join('; '));
    return raw as Record<string, string>;
  });
}

/** `MAX_RECORD_BYTES`, the csv-parse record size cap. @default DEFAULT_MAX_RECORD_BYTES */
export function readMaxRecordBytes(read: EnvReader): number {
  return read.integer('MAX_RECORD_BYTES', {
    default: DEFAULT_MAX_RECORD_BYTES,
    min: MIN_MAX_RECORD_BYTES,
  });
}

/** `UNREACHABLE_BUDGET_MS`: how long S3 or DynamoDB may not answer before a call fails. */
export function readUnreachableBudgetMs(read: EnvReader): number {
  return read.integer('UNREACHABLE_BUDGET_MS', { default: DEFAULT_UNREACHABLE_BUDGET_MS, min: 1 });
}

/** `S3_FORCE_PATH_STYLE=true` makes S3 clients use path-style URLs (the local stack's S3). */
export function readForcePathStyle(read: EnvReader): boolean {
  return read.optionalString('S3_FORCE_PATH_STYLE') === 'true';
}
