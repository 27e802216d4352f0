import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { invocationClock } from '../shared/backoff.js';
import type { ChunkSummary, LoadChunkInput } from '../shared/contracts.js';
import { logger } from '../shared/logger.js';
import { createDocumentClient } from './client.js';
import { loadConfigFor, readLoadChunkConfig } from './config.js';
import { parseLoadChunkEvent } from './event.js';
import { httpItemWriterFor } from './http-item-writer.js';
import { loadChunk } from './load.js';

const config = readLoadChunkConfig(process.env);

const s3 = new S3Client({ forcePathStyle: config.forcePathStyle });
const dynamoClient = new DynamoDBClient({});
const dynamo = createDocumentClient(dynamoClient);
// The items go out as signed HTTP POSTs of their JSON, to where the SDK client would send them.
const writer = httpItemWriterFor(dynamoClient);

/** Step Functions LoadChunk task: LoadChunkInput → ChunkSummary. */
export async function handler(event: unknown, context: Context): Promise<ChunkSummary> {
  logger.addContext(context);
  const input: LoadChunkInput = parseLoadChunkEvent(event);
  // On each line, not appendKeys: the local stack runs invocations of one module side
  // by side, and appended keys would be another invocation's by the time a line is written.
  const keys = {
    file: `s3://${input.object.bucket}/${input.object.key}`,
    chunk: input.chunk.index,
    dataset: input.dataset,
  };
  try {
    const { stats, ...summary } = await loadChunk(input, loadConfigFor(config, input.dataset), {
      s3,
      dynamo,
      writer,
      clock: invocationClock(context),
    });
    const { progressError, ...counts } = stats;
    logger.info('Loaded chunk', { ...keys, ...summary, ...counts });
    if (progressError !== undefined) {
      // Advisory only (the rows are written): worth a warning, not a failure.
      logger.warn('Progress reports failed', {
        ...keys,
        failedReports: counts.progressReportsFailed,
        error: progressError,
      });
    }
    return summary;
  } catch (error) {
    logger.error('Chunk failed', { ...keys, error });
    throw error;
  }
}
