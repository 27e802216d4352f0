import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { readConfig } from '../shared/env.js';
import { logger } from '../shared/logger.js';
import { startIngestionForMessage } from './start.js';

const config = readConfig(process.env, (env) => ({
  stateMachineArn: env.string('STATE_MACHINE_ARN'),
}));

const sfn = new SFNClient({});
const processor = new BatchProcessor(EventType.SQS);

async function recordHandler(record: SQSRecord): Promise<void> {
  // Records run concurrently, so correlation keys go on each log line, not appendKeys.
  const messageId = record.messageId;
  try {
    const outcome = await startIngestionForMessage(sfn, config, record.body);
    if (outcome.kind === 'test-event') {
      logger.info('Skipped the S3 test event', { messageId });
      return;
    }
    for (const execution of outcome.executions) {
      logger.info(
        execution.status === 'started'
          ? 'Started ingestion'
          : 'Ingestion already started (duplicate notification)',
        {
          messageId,
          executionName: execution.name,
          file: execution.file,
          redriveOf: execution.redriveOf,
        },
      );
    }
    if (outcome.ignored.length > 0) {
      logger.info('Skipped records that are not ObjectCreated', {
        messageId,
        eventNames: outcome.ignored,
      });
    }
  } catch (error) {
    logger.error('Could not start ingestion for a message', { messageId, error });
    throw error;
  }
}

/** SQS (file-events) → one Step Functions execution per file version; partial batch response. */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  // Report failed messages individually instead of failing the whole batch, so one
  // bad message never redelivers its neighbours.
  return processPartialResponse(event, recordHandler, processor, {
    context,
    throwOnFullBatchFailure: false,
  });
}
