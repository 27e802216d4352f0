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
  /** Stop waiting when less than this much Lambda time would remain after the next wait. */
  readonly safetyMarginMs: number;
}

/** Time, injectable so tests control it. */
export interface LeaseClock {
  /** Wall-clock milliseconds since the epoch (lease deadlines are absolute). */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Milliseconds the invocation has left. */
  readonly remainingTimeMs: () => number;
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
): Promise<WritePermit> {
  const leaseKey = { pk: dataTable, sk: `${LEASE_PREFIX}${leaseId}` };
  const until = clock.now() + clock.remainingTimeMs();
  await control.client.send(
    new PutCommand({
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
  );
  const withdraw = async () => {
    await control.client.send(new DeleteCommand({ TableName: control.tableName, Key: leaseKey }));
  };

  let mode: WritePermit['mode'];
  try {
    mode = (await raiseNewest(control, dataTable, stamp)) ? 'batch' : 'conditional';
    // A conditional writer never overwrites a newer value, so nobody need wait for it.
    if (mode === 'conditional') await withdraw();
  } catch (error) {
    await withdraw().catch(() => undefined);
    throw error;
  }

  let waitedFor: number;
  try {
    waitedFor = await waitForOlderLeases(control, dataTable, stamp, policy, clock);
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

/** Raises the table's newest upload to `stamp` unless a newer one is there; true when raised (or equal). */
async function raiseNewest(
  control: ControlTable,
  dataTable: string,
  stamp: UploadStamp,
): Promise<boolean> {
  try {
    await control.client.send(
      new UpdateCommand({
        TableName: control.tableName,
        Key: { pk: dataTable, sk: NEWEST_SORT_KEY },
        UpdateExpression: 'SET #pa = :pa, #pk = :pk, #ps = :ps',
        ConditionExpression: notNewerThanWriter(false),
        ExpressionAttributeNames: orderAttributeNames(PROVENANCE),
        ExpressionAttributeValues: orderAttributeValues(stamp),
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/**
 * Waits until no live lease of an older upload of `dataTable` remains; returns how
 * many distinct older leases it saw. Expired leases (crashed chunks) are deleted on
 * the way, so they do not pile up where TTL does not run (the local stack).
 */
async function waitForOlderLeases(
  control: ControlTable,
  dataTable: string,
  stamp: UploadStamp,
  policy: LeasePolicy,
  clock: LeaseClock,
): Promise<number> {
  const seen = new Set<string>();
  for (let round = 0; ; round++) {
    const leases = await readLeases(control, dataTable);
    const now = clock.now();
    const expired = leases.filter((lease) => lease.until + policy.clockSkewMs <= now);
    const blocking = leases.filter(
      (lease) => lease.until + policy.clockSkewMs > now && compareUploads(lease, stamp) < 0,
    );
    await Promise.all(
      expired.map((lease) => deleteIfExpired(control, dataTable, lease, now - policy.clockSkewMs)),
    );
    if (blocking.length === 0) return seen.size;
    for (const lease of blocking) seen.add(lease.sk);

    const delay = policy.pollMs * 2 ** Math.min(round, 3);
    if (clock.remainingTimeMs() - delay < policy.safetyMarginMs) {
      const oldest = blocking.reduce((a, b) => (compareUploads(a, b) <= 0 ? a : b));
      throw new OlderLoadStillWritingError(
        `${blocking.length} chunk(s) of older uploads of table ${dataTable} (the oldest: s3 key ${oldest.key}, uploaded ${oldest.uploadedAt}) are still writing with BatchWriteItem, and this chunk must write after them; it stopped waiting with ${clock.remainingTimeMs()} ms of Lambda time left, before writing anything. The workflow retries it.`,
      );
    }
    await clock.sleep(delay);
  }
}

async function readLeases(control: ControlTable, dataTable: string): Promise<LeaseItem[]> {
  const leases: LeaseItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await control.client.send(
      new QueryCommand({
        TableName: control.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': dataTable, ':prefix': LEASE_PREFIX },
        ConsistentRead: true,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
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

async function deleteIfExpired(
  control: ControlTable,
  dataTable: string,
  lease: LeaseItem,
  cutoff: number,
): Promise<void> {
  try {
    await control.client.send(
      new DeleteCommand({
        TableName: control.tableName,
        Key: { pk: dataTable, sk: lease.sk },
        ConditionExpression: '#until < :cutoff',
        ExpressionAttributeNames: { '#until': 'until' },
        ExpressionAttributeValues: { ':cutoff': cutoff },
      }),
    );
  } catch (error) {
    // Another chunk deleted it first, or it was renewed: either way, nothing to do.
    if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return;
    throw error;
  }
}
