import {
  notNewerThanWriter,
  orderAttributeNames,
  PROVENANCE,
  stampedLine,
} from '../shared/provenance.js';
import type { UploadStamp } from '../shared/upload-order.js';
import type { BatchWriterTarget, Clock, PendingPut, RetryPolicy } from './batch-writer.js';
import { isConditionFailure, sendWithRetries } from './call-retry.js';
import type { ItemWriter } from './item-writer.js';

/** What writing one batch conditionally took. */
export interface ConditionalOutcome {
  readonly written: number;
  /** Items left alone: the table holds a newer upload's value for their key. */
  readonly superseded: number;
  /** Calls that were throttled, failed or unanswered and had to be repeated. */
  readonly retries: number;
}

/**
 * Writes each item of a batch with its own PutItem whose condition lets it replace
 * the stored item only when the stored (upload order, line) is not newer than the
 * writer's: the write path when another upload of the table is newer or overlaps.
 * The puts of one batch run at once, each repeated as sendWithRetries says, and end
 * with the same errors as BatchWriteItem.
 */
export async function writeBatchConditionally(
  dynamo: ItemWriter,
  target: BatchWriterTarget,
  puts: readonly PendingPut[],
  stamp: UploadStamp,
  policy: RetryPolicy,
  clock: Clock,
): Promise<ConditionalOutcome> {
  const names = orderAttributeNames(PROVENANCE, PROVENANCE.line);
  const condition = notNewerThanWriter(true);
  // The writer's order in wire form, as notNewerThanWriter names it; the line per item.
  const order = {
    ':pa': { S: stamp.uploadedAt },
    ':pk': { S: stamp.key },
    ':ps': { S: stamp.sequencer },
  };
  const outcomes = await Promise.all(
    puts.map(({ item }) => {
      const values = { ...order, ':pl': { N: String(stampedLine(item)) } };
      return sendWithRetries(
        target,
        'PutItem',
        async () => {
          await dynamo.putItem({
            TableName: target.tableName,
            Item: item,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          });
          return 'written' as const;
        },
        policy,
        clock,
        (refusal) => (isConditionFailure(refusal) ? ('superseded' as const) : undefined),
      );
    }),
  );
  return {
    written: outcomes.filter((outcome) => outcome.value === 'written').length,
    superseded: outcomes.filter((outcome) => outcome.value === 'superseded').length,
    retries: outcomes.reduce((sum, outcome) => sum + outcome.retries, 0),
  };
}
