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
  classifyWriteFault,
  DEFAULT_UNREACHABLE_BUDGET_MS,
  type PendingPut,
  type RetryPolicy,
  unreachableError,
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
 * The puts of one batch run at once; throttled, failed and unanswered calls are
 * repeated with backoff and full jitter, and end with the same errors as BatchWriteItem
 * (ChunkTimeBudgetExceededError, ServiceUnreachableError, ChunkWriteError).
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
  const budgetMs = policy.unreachableBudgetMs ?? DEFAULT_UNREACHABLE_BUDGET_MS;
  const seen = { server: 0 };
  let written = 0;
  let superseded = 0;
  let retries = 0;
  await Promise.all(
    puts.map(async ({ item }) => {
      const values = orderAttributeValues(stamp, Number(String(item[PROVENANCE.line])));
      let unreachable: { readonly since: number; attempts: number; last: unknown } | undefined;
      const giveUp = () =>
        unreachable === undefined
          ? budgetExceeded(target, 1, retries, seen, clock.remainingTimeMs(), 'PutItem')
          : unreachableError(target, unreachable, clock.remainingTimeMs(), budgetMs, 'PutItem');
      for (let attempt = 0; ; attempt++) {
        if (clock.remainingTimeMs() < policy.safetyMarginMs) throw giveUp();
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
          const fault = classifyWriteFault(error);
          if (fault === 'refused') {
            throw new ChunkWriteError(
              `${target.where}: conditional PutItem on table ${target.tableName} failed: ${describeError(error)}`,
              { cause: error },
            );
          }
          if (fault === 'unreachable') {
            unreachable ??= { since: clock.remainingTimeMs(), attempts: 0, last: error };
            unreachable.attempts++;
            unreachable.last = error;
          } else {
            unreachable = undefined;
            if (fault === 'server') seen.server++;
          }
        }
        retries++;
        if (unreachable !== undefined && unreachable.since - clock.remainingTimeMs() >= budgetMs) {
          throw giveUp();
        }
        const delay = backoffDelay(attempt + 1, policy, clock.random);
        if (clock.remainingTimeMs() - delay < policy.safetyMarginMs) throw giveUp();
        await clock.sleep(delay);
      }
    }),
  );
  return { written, superseded, retries };
}
