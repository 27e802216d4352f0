import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import type { ChunkSummary, LoadChunkInput } from '../shared/contracts.js';
import { parseDataset } from '../shared/dataset.js';
import { readConfig } from '../shared/env.js';
import { logger } from '../shared/logger.js';
import { createDocumentClient, DEFAULT_LOADER_SETTINGS } from './client.js';
import { parseLoadChunkEvent } from './event.js';
import { loadChunk } from './load.js';

const config = readConfig(process.env, (env) => ({
  schema: env.json('DATASET', (raw) => parseDataset(raw, 'DATASET')),
  tableName: env.string('TABLE_NAME'),
  writeConcurrency: env.integer('WRITE_CONCURRENCY', {
    default: DEFAULT_LOADER_SETTINGS.writeConcurrency,
    min: 1,
    max: 64,
  }),
  maxRecordBytes: env.integer('MAX_RECORD_BYTES', {
    default: DEFAULT_LOADER_SETTINGS.maxRecordBytes,
    min: 1,
  }),
  retry: {
    baseDelayMs: env.integer('WRITE_BACKOFF_BASE_MS', {
      default: DEFAULT_LOADER_SETTINGS.baseDelayMs,
      min: 1,
    }),
    maxDelayMs: env.integer('WRITE_BACKOFF_MAX_MS', {
      default: DEFAULT_LOADER_SETTINGS.maxDelayMs,
      min: 1,
    }),
    safetyMarginMs: env.integer('TIME_SAFETY_MARGIN_MS', {
      default: DEFAULT_LOADER_SETTINGS.safetyMarginMs,
      min: 0,
    }),
  },
  forcePathStyle: env.optionalString('S3_FORCE_PATH_STYLE') === 'true',
}));

const s3 = new S3Client({ forcePathStyle: config.forcePathStyle });
const dynamo = createDocumentClient(new DynamoDBClient({}));

/** Step Functions LoadChunk task: LoadChunkInput → ChunkSummary. */
export async function handler(event: unknown, context: Context): Promise<ChunkSummary> {
  logger.addContext(context);
  const input: LoadChunkInput = parseLoadChunkEvent(event);
  logger.appendKeys({
    file: `s3://${input.object.bucket}/${input.object.key}`,
    chunk: input.chunk.index,
  });
  try {
    const { stats, ...summary } = await loadChunk(input, config, {
      s3,
      dynamo,
      clock: {
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
        sleep: (ms) => sleep(ms),
        random: Math.random,
      },
    });
    logger.info('Loaded chunk', { ...summary, ...stats });
    return summary;
  } catch (error) {
    logger.error('Chunk failed', { error });
    throw error;
  } finally {
    logger.removeKeys(['file', 'chunk']);
  }
}
