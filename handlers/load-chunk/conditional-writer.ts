import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ChunkWriteError, describeError } from '../shared/errors.js';
import {
  notNewerThanWriter,
  orderAttributeNames,
  orderAttributeValues,
  PROVENANCE,
} from '../shared/provenance.js';
import type { UploadStamp } from '../shared/upload-order.js';
import {
  type BatchWriterTarget,
  backoffDelay,
  budgetExceeded,
  type Clock,
  isTransient,
  type PendingPut,
  type RetryPolicy,
} from './batch-writer.js';

/** What writing one batch conditionally took. */
export interface ConditionalOutcome {
  readonly written: number;
  /** Items left alone: the table holds a newer upload's value for their key. */
  readonly superseded: number;
  /** Calls that were throttled or failed transiently and had to be repeated. */
  readonly retries: number;
}

/**
 * Writes each item of a batch with its own PutItem whose condition lets it replace
 * the stored item only when the stored (upload order, line) is not newer than the
 * writer's: the write path when another upload of the table is newer or overlaps.
 * The puts of one batch run at once; throttled and failed calls are repeated with
 * backoff and full jitter, within the same time budget as BatchWriteItem.
 */
export async function writeBatchConditionally(
  dynamo: DynamoDBDocumentClient,
  target: BatchWriterTarget,
  puts: readonly PendingPut[],
  stamp: UploadStamp,
  policy: RetryPolicy,
  clock: Clock,
): Promise<ConditionalOutcome> {
  const names = orderAttributeNames(PROVENANCE, PROVENANCE.line);
  const condition = notNewerThanWriter(true);
  let written = 0;
  let superseded = 0;
  let retries = 0;
  await Promise.all(
    puts.map(async ({ item }) => {
      const values = orderAttributeValues(stamp, Number(String(item[PROVENANCE.line])));
      for (let attempt = 0; ; attempt++) {
        if (clock.remainingTimeMs() < policy.safetyMarginMs) {
          throw budgetExceeded(target, 1, retries, clock.remainingTimeMs(), 'PutItem');
        }
        try {
          await dynamo.send(
            new PutCommand({
              TableName: target.tableName,
              Item: item,
              ConditionExpression: condition,
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: values,
            }),
          );
          written++;
          return;
        } catch (error) {
          if (error instanceof Error && error.name === 'ConditionalCheckFailedException') {
            superseded++;
            return;
          }
          if (!isTransient(error)) {
            throw new ChunkWriteError(
              `${target.where}: conditional PutItem on table ${target.tableName} failed: ${describeError(error)}`,
              { cause: error },
            );
          }
        }
        retries++;
        const delay = backoffDelay(attempt + 1, policy, clock.random);
        if (clock.remainingTimeMs() - delay < policy.safetyMarginMs) {
          throw budgetExceeded(target, 1, retries, clock.remainingTimeMs(), 'PutItem');
        }
        await clock.sleep(delay);
      }
    }),
  );
  return { written, superseded, retries };
}
