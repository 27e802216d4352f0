import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import type { FilePlan } from '../shared/contracts.js';
import { logger } from '../shared/logger.js';
import { readPlanConfig } from './config.js';
import { parsePlanFileEvent } from './event.js';
import { fileLabel, planFile } from './plan.js';

/** The planner's configuration, read once at cold start (benchmarks reuse it). */
export const config = readPlanConfig(process.env);

const s3 = new S3Client({ forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true' });

/** PlanFile task: `{ file }` (the execution's FileRef) → FilePlan (byte-range chunks, no rows). */
export async function handler(event: unknown, context?: Context): Promise<FilePlan> {
  if (context) logger.addContext(context);
  const file = parsePlanFileEvent(event);
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
