import type { Context } from 'aws-lambda';
import { logger } from '../shared/logger.js';
import { type BuiltFailureRecord, buildFailureRecord } from './record.js';

/**
 * BuildFailureRecord task: the record a `*Failed` Pass state built → the SQS-safe
 * message body (plain cause, refused characters escaped, size bounded) that
 * SendToDeadLetterQueue sends. No configuration and no AWS calls.
 */
export async function handler(event: unknown, context?: Context): Promise<BuiltFailureRecord> {
  if (context) logger.addContext(context);
  const built = buildFailureRecord(event);
  logger.info('Built failure record', {
    error: built.failure.error,
    state: built.failure.state,
    executionArn: built.failure.executionArn,
    bytes: built.bytes,
    ...(built.failure.cut ? { cut: built.failure.cut } : {}),
  });
  return built;
}
