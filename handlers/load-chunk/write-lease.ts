import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { OlderLoadStillWritingError } from '../shared/errors.js';
import {
  notNewerThanWriter,
  orderAttributeNames,
  orderAttributeValues,
  PROVENANCE,
} from '../shared/provenance.js';
import { compareUploads, type UploadOrder, type UploadStamp } from '../shared/upload-order.js';
import type { BatchWriterTarget, Clock, RetryPolicy, WriteOperation } from './batch-writer.js';
import { isConditionFailure, sendWithRetries } from './call-retry.js';

/**
 * Write permits: how a chunk may write without ever letting an older upload's value
 * win over a newer one's. The argument, step by step, is in docs/workflow.md
 * ("Newest upload wins"); in short:
 *
 * - A blind write (BatchWriteItem, no condition) is safe only while no newer upload
 *   has written, or can write, the same table. The control table keeps, per data
 *   table, the newest upload that ever started a chunk (`newest`), raised only by a
 *   conditional update, so it never moves back.
 * - A chunk first registers a lease (its upload order and the moment its Lambda
 *   dies at the latest), then tries to raise `newest` to its own order. If that
 *   succeeds it may write with BatchWriteItem; if a newer upload is already there,
 *   it withdraws the lease and writes every item with a conditional PutItem.
 * - Either way, before its first write it waits until no live lease of an OLDER
 *   upload remains: such a chunk may still be blind-writing keys it shares with
 *   this one, and its writes must land before ours, not after.
 * - A lease ends when its chunk has had an answer to every write (it is deleted)
 *   or when its Lambda's deadline plus a clock-skew margin has passed (a crash).
 */

/** Where the leases and the newest upload of each data table live. */
export interface ControlTable {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** How long to wait between looks at the leases, and how much clock skew to allow. */
export interface LeasePolicy {
  /** First wait between two reads of the leases (doubled per read, up to 8×). */
  readonly pollMs: number;
  /** Time a lease is still counted after its deadline (clock skew between Lambdas). */
  readonly clockSkewMs: number;
  /** How control-table calls are repeated; its safety margin also ends the wait. */
  readonly retry: RetryPolicy;
}

/** Time, injectable so tests control it. */
export interface LeaseClock extends Clock {
  /** Wall-clock milliseconds since the epoch (lease deadlines are absolute). */
  readonly now: () => number;
}

/** What a chunk may do, and the lease it must give back. */
export interface WritePermit {
  /** `batch`: BatchWriteItem; `conditional`: one conditional PutItem per item. */
  readonly mode: 'batch' | 'conditional';
  /** Older uploads' leases this chunk waited for before its first write. */
  readonly waitedFor: number;
  /** Ends the lease; call once every write has been answered. */
  release(): Promise<void>;
}

/** The sort key of the item holding the newest upload of a data table. */
export const NEWEST_SORT_KEY = 'newest';
/** Sort-key prefix of lease items. */
export const LEASE_PREFIX = 'lease#';

interface LeaseItem extends UploadOrder {
  readonly sk: string;
  /** Epoch milliseconds after which the chunk's Lambda can no longer write. */
  readonly until: number;
}

/**
 * Registers the chunk's lease, decides its write mode and waits for every live
 * lease of an older upload of the same data table to end. Throws
 * OlderLoadStillWritingError (retried by the workflow) when the Lambda's time runs
 * short first; the lease is withdrawn before it throws.
 */
export async function acquireWritePermit(
  control: ControlTable,
  dataTable: string,
  stamp: UploadStamp,
  leaseId: string,
  policy: LeasePolicy,
  clock: LeaseClock,
  where: string,
): Promise<WritePermit> {
  const call = controlCalls(control, policy.retry, clock, `${where}, its write lease`);
  const leaseKey = { pk: dataTable, sk: `${LEASE_PREFIX}${leaseId}` };
  const until = clock.now() + clock.remainingTimeMs();
  await call('PutItem', () => ({
    command: new PutCommand({
      TableName: control.tableName,
      Item: {
        ...leaseKey,
        [PROVENANCE.uploadedAt]: stamp.uploadedAt,
        [PROVENANCE.key]: stamp.key,
        [PROVENANCE.sequencer]: stamp.sequencer,
        until,
        // DynamoDB TTL removes leases of crashed chunks (epoch seconds, a day later).
        expiresAt: Math.ceil(until / 1000) + 86_400,
      },
    }),
  }));
  const withdraw = async () => {
    await call('DeleteItem', () => ({
      command: new DeleteCommand({ TableName: control.tableName, Key: leaseKey }),
    }));
  };

  let mode: WritePermit['mode'];
  try {
    // Raised (or already this upload's): batch-write; a newer upload is there: conditional.
    const raised = await call('UpdateItem', () => ({
      command: new UpdateCommand({
        TableName: control.tableName,
        Key: { pk: dataTable, sk: NEWEST_SORT_KEY },
        UpdateExpression: 'SET #pa = :pa, #pk = :pk, #ps = :ps',
        ConditionExpression: notNewerThanWriter(false),
        ExpressionAttributeNames: orderAttributeNames(PROVENANCE),
        ExpressionAttributeValues: orderAttributeValues(stamp),
      }),
      conditionFailed: 'newer',
    }));
    mode = raised === 'newer' ? 'conditional' : 'batch';
    // A conditional writer never overwrites a newer value, so nobody need wait for it.
    if (mode === 'conditional') await withdraw();
  } catch (error) {
    await withdraw().catch(() => undefined);
    throw error;
  }

  let waitedFor: number;
  try {
    waitedFor = await waitForOlderLeases(call, control, dataTable, stamp, policy, clock);
  } catch (error) {
    if (mode === 'batch') await withdraw().catch(() => undefined);
    throw error;
  }
  return {
    mode,
    waitedFor,
    release: async () => {
      if (mode === 'batch') await withdraw();
    },
  };
}

/** One control-table call: its command, and what a failed condition means (else an error). */
interface ControlCall {
  readonly command: { readonly input: object };
  readonly conditionFailed?: string;
}

type CallControl = (
  operation: WriteOperation,
  make: () => ControlCall,
) => Promise<string | Record<string, unknown>>;

/**
 * Sends control-table calls as the loader sends its writes (sendWithRetries): throttled,
 * failed and unanswered calls are repeated, and end with the same named errors.
 */
function controlCalls(
  control: ControlTable,
  retry: RetryPolicy,
  clock: Clock,
  where: string,
): CallControl {
  const target: BatchWriterTarget = { tableName: control.tableName, keyName: 'pk', where };
  return async (operation, make) => {
    const { value } = await sendWithRetries<string | Record<string, unknown>>(
      target,
      operation,
      async () => {
        const { command } = make();
        return (await control.client.send(command as never)) as Record<string, unknown>;
      },
      retry,
      clock,
      (refusal) => (isConditionFailure(refusal) ? make().conditionFailed : undefined),
    );
    return value;
  };
}

/**
 * Waits until no live lease of an older upload of `dataTable` remains; returns how
 * many distinct older leases it saw. Expired leases (crashed chunks) are deleted on
 * the way, so they do not pile up where TTL does not run (the local stack).
 */
async function waitForOlderLeases(
  call: CallControl,
  control: ControlTable,
  dataTable: string,
  stamp: UploadStamp,
  policy: LeasePolicy,
  clock: LeaseClock,
): Promise<number> {
  const seen = new Set<string>();
  for (let round = 0; ; round++) {
    const leases = await readLeases(call, control, dataTable);
    const now = clock.now();
    const cutoff = now - policy.clockSkewMs;
    const expired = leases.filter((lease) => lease.until <= cutoff);
    const blocking = leases.filter(
      (lease) => lease.until > cutoff && compareUploads(lease, stamp) < 0,
    );
    await Promise.all(
      expired.map((lease) =>
        // Another chunk may have deleted it first: a failed condition is fine.
        call('DeleteItem', () => ({
          command: new DeleteCommand({
            TableName: control.tableName,
            Key: { pk: dataTable, sk: lease.sk },
            ConditionExpression: '#until < :cutoff',
            ExpressionAttributeNames: { '#until': 'until' },
            ExpressionAttributeValues: { ':cutoff': cutoff },
          }),
          conditionFailed: 'gone',
        })),
      ),
    );
    if (blocking.length === 0) return seen.size;
    for (const lease of blocking) seen.add(lease.sk);

    const delay = policy.pollMs * 2 ** Math.min(round, 3);
    if (clock.remainingTimeMs() - delay < policy.retry.safetyMarginMs) {
      const oldest = blocking.reduce((a, b) => (compareUploads(a, b) <= 0 ? a : b));
      throw new OlderLoadStillWritingError(
        `${blocking.length} chunk(s) of older uploads of table ${dataTable} (the oldest: s3 key ${oldest.key}, uploaded ${oldest.uploadedAt}) are still writing with BatchWriteItem, and this chunk must write after them; it stopped waiting with ${clock.remainingTimeMs()} ms of Lambda time left, before writing anything. The workflow retries it.`,
      );
    }
    await clock.sleep(delay);
  }
}

async function readLeases(
  call: CallControl,
  control: ControlTable,
  dataTable: string,
): Promise<LeaseItem[]> {
  const leases: LeaseItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = (await call('Query', () => ({
      command: new QueryCommand({
        TableName: control.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': dataTable, ':prefix': LEASE_PREFIX },
        ConsistentRead: true,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    }))) as { Items?: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> };
    for (const item of page.Items ?? []) {
      leases.push({
        sk: String(item.sk),
        uploadedAt: String(item[PROVENANCE.uploadedAt]),
        key: String(item[PROVENANCE.key]),
        sequencer: String(item[PROVENANCE.sequencer] ?? ''),
        // The loader's document client wraps numbers (NumberValue): read the text.
        until: Number(String(item.until)),
      });
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return leases;
}
