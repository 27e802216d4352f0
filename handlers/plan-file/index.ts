import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { invocationClock } from '../shared/backoff.js';
import type { PlanFileOutput } from '../shared/contracts.js';
import { routeKey } from '../shared/dataset.js';
import { readConfig } from '../shared/env.js';
import { UnknownDatasetError } from '../shared/errors.js';
import { logger } from '../shared/logger.js';
import { readForcePathStyle } from '../shared/settings.js';
import { planConfigFor, readPlanConfig } from './config.js';
import { parsePlanFileEvent } from './event.js';
import { fileLabel, isRejectedFile, planFile } from './plan.js';

/** The planner's configuration, read once at cold start (benchmarks reuse it). */
export const config = readPlanConfig(process.env);

const s3 = new S3Client({ forcePathStyle: readConfig(process.env, readForcePathStyle) });

/**
 * PlanFile task: `{ file }` (the execution's FileRef) → the FilePlan (byte-range chunks,
 * no rows) of the file, validated with the schema of the dataset its key names.
 */
export async function handler(event: unknown, context?: Context): Promise<PlanFileOutput> {
  if (context) logger.addContext(context);
  const file = parsePlanFileEvent(event);
  // On each line, not appendKeys: the local stack runs invocations of one module side
  // by side, and appended keys would be another invocation's by the time a line is written.
  let keys: Record<string, unknown> = { file: fileLabel(file), versionId: file.versionId };
  try {
    const schema = routeKey(file.key, config.datasets);
    keys = { ...keys, dataset: schema.name };
    const plan = {
      dataset: schema.name,
      ...(await planFile(s3, file, planConfigFor(config, schema), invocationClock(context))),
    };
    if (file.eTag !== undefined && plan.object.eTag.replaceAll('"', '') !== file.eTag) {
      // Unversioned bucket, overwritten since the notification: the newest content is
      // planned (its own notification plans it again; loads are idempotent).
      logger.info('Object changed since its notification; planning the current version', {
        ...keys,
        notifiedETag: file.eTag,
        plannedETag: plan.object.eTag,
      });
    }
    logger.info('Planned file', {
      ...keys,
      size: plan.object.size,
      totalRows: plan.totalRows,
      duplicateRows: plan.duplicateRows,
      chunks: plan.chunks.length,
      chunkBytes: plan.chunkBytes,
    });
    return plan;
  } catch (error) {
    // A bad file is the uploader's problem, not the system's: warn, don't page.
    if (isRejectedFile(error) || error instanceof UnknownDatasetError) {
      logger.warn('File rejected', { ...keys, error: error.name, reason: error.message });
    } else {
      logger.error('Could not plan file', { ...keys, error });
    }
    throw error;
  }
}
