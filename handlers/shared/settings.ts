import { DEFAULT_MAX_RECORD_BYTES, MIN_MAX_RECORD_BYTES } from './csv.js';
import { type DatasetSchema, parseDataset } from './dataset.js';
import type { EnvReader } from './env.js';

/**
 * Settings that more than one handler reads, read the same way everywhere: the
 * planner and the loader must agree on them, or a planned chunk would not load.
 */

/** The dataset schema from the `DATASET` environment variable (JSON, as CDK passes it). */
export function readDataset(read: EnvReader): DatasetSchema {
  return read.json('DATASET', (raw) => parseDataset(raw, 'DATASET'));
}

/** `MAX_RECORD_BYTES`, the csv-parse record size cap. @default DEFAULT_MAX_RECORD_BYTES */
export function readMaxRecordBytes(read: EnvReader): number {
  return read.integer('MAX_RECORD_BYTES', {
    default: DEFAULT_MAX_RECORD_BYTES,
    min: MIN_MAX_RECORD_BYTES,
  });
}

/** `S3_FORCE_PATH_STYLE=true` makes S3 clients use path-style URLs (the local stack's S3). */
export function readForcePathStyle(read: EnvReader): boolean {
  return read.optionalString('S3_FORCE_PATH_STYLE') === 'true';
}
