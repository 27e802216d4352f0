import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import type { FilePlan, FileRef } from '../shared/contracts.js';
import { parseDataset } from '../shared/dataset.js';
import { readConfig } from '../shared/env.js';
import { logger } from '../shared/logger.js';
import { parsePlanFileEvent } from './event.js';
import { fileLabel, type PlanConfig, planFile } from './plan.js';

/** Planner configuration; defaults match infra/config.ts. */
export const config: PlanConfig = readConfig(process.env, (env) => {
  const read: PlanConfig = {
    schema: env.json('DATASET', (raw) => parseDataset(raw, 'DATASET')),
    maxFileBytes: env.integer('MAX_FILE_BYTES', { default: 5 * 1024 ** 3, min: 1 }),
    chunkTargetBytes: env.integer('CHUNK_TARGET_BYTES', { default: 4 * 1024 ** 2, min: 1024 }),
    maxChunks: env.integer('MAX_CHUNKS', { default: 1000, min: 1, max: 2000 }),
    maxRecordBytes: env.integer('MAX_RECORD_BYTES', { default: 400 * 1024, min: 64 }),
    maxReportedErrors: env.integer('MAX_REPORTED_ERRORS', { default: 20, min: 1, max: 100 }),
    maxPlanBytes: env.integer('MAX_PLAN_BYTES', {
      default: 160 * 1024,
      min: 4 * 1024,
      max: 200 * 1024,
    }),
  };
  if (read.maxRecordBytes > read.chunkTargetBytes) {
    env.problem(
      `MAX_RECORD_BYTES (${read.maxRecordBytes}) must not exceed CHUNK_TARGET_BYTES (${read.chunkTargetBytes})`,
    );
  }
  return read;
});

const s3 = new S3Client({ forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true' });

/** PlanFile task: `{ file }` (the execution's FileRef) → FilePlan (byte-range chunks, no rows). */
export async function handler(event: unknown, context?: Context): Promise<FilePlan> {
  if (context) logger.addContext(context);
  const file: FileRef = parsePlanFileEvent(event);
  logger.appendKeys({ file: fileLabel(file), versionId: file.versionId });
  try {
    const plan = await planFile(s3, file, config);
    logger.info('Planned file', {
      size: plan.object.size,
      totalRows: plan.totalRows,
      duplicateRows: plan.duplicateRows,
      chunks: plan.chunks.length,
      chunkBytes: plan.chunkBytes,
    });
    return plan;
  } catch (error) {
    logger.error('Could not plan file', { error });
    throw error;
  } finally {
    logger.removeKeys(['file', 'versionId']);
  }
}
