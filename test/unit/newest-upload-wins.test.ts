import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createDocumentClient } from '../../handlers/load-chunk/client.js';
import {
  type LoadChunkConfig,
  type LoadChunkDeps,
  loadChunk,
} from '../../handlers/load-chunk/load.js';
import { LEASE_PREFIX } from '../../handlers/load-chunk/write-lease.js';
import type { LoadChunkInput } from '../../handlers/shared/contracts.js';
import { OlderLoadStillWritingError } from '../../handlers/shared/errors.js';
import { PROVENANCE } from '../../handlers/shared/provenance.js';
import type { UploadStamp } from '../../handlers/shared/upload-order.js';
import {
  FakeControlTable,
  FakeTable,
  plannedObject,
  type StoredObject,
  books as schema,
  serveBucket,
  simplePlan,
  uploadStamp,
  VirtualClock,
} from '../support/workflow-fakes.js';

/**
 * The loader's half of "newest upload wins": every item carries its provenance,
 * a chunk batch-writes only while no newer upload of the table exists, writes
 * conditionally otherwise, and never writes while an older upload's chunk may still
 * be batch-writing. The DynamoDB condition itself runs against dynalite in
 * test/integration/local-parts.test.ts; the whole pipeline in
 * test/integration/newest-upload-wins.test.ts.
 */

const config: LoadChunkConfig = {
  schema,
  tableName: 'books',
  controlTableName: 'control',
  lease: { pollMs: 200, clockSkewMs: 5_000 },
  writeConcurrency: 2,
  maxRecordBytes: 400 * 1024,
  retry: { baseDelayMs: 100, maxDelayMs: 2_000, safetyMarginMs: 5_000 },
};

const OLDER = uploadStamp('older.csv', '2026-11-28T10:00:00.000Z');
const NEWER = uploadStamp('newer.csv', '2026-11-28T10:00:01.000Z');
const NOW = Date.parse('2026-11-28T10:05:00.000Z');

const s3 = mockClient(S3Client);
const dynamo = mockClient(DynamoDBDocumentClient);
const s3Client = new S3Client({ region: 'eu-west-1' });
const dynamoClient = createDocumentClient(new DynamoDBClient({ region: 'eu-west-1' }));

let table: FakeTable;
let control: FakeControlTable;
let objects: Map<string, StoredObject>;

beforeEach(() => {
  s3.reset();
  dynamo.reset();
  objects = new Map();
  serveBucket(s3, objects);
  table = new FakeTable('books', 'isbn');
  control = new FakeControlTable('control');
  table.attach(dynamo, control);
});

/** Stores a file of `titles` (one row per title, isbn 1, 2, …) and returns its one chunk. */
async function fileOf(
  key: string,
  titles: readonly string[],
  upload: UploadStamp,
): Promise<LoadChunkInput> {
  const text = `isbn,title,author\n${titles.map((title, i) => `${i + 1},${title},A`).join('\n')}\n`;
  const object: StoredObject = { body: Buffer.from(text), eTag: `"${key}"` };
  objects.set(`uploads/${key}`, object);
  const plan = await simplePlan(text, 1000);
  const [chunk] = plan.chunks;
  if (!chunk) throw new Error('no chunk');
  return { object: plannedObject('uploads', key, object), header: plan.header, chunk, upload };
}

function deps(clock = new VirtualClock(60_000), extra: Partial<LoadChunkDeps> = {}): LoadChunkDeps {
  let wall = NOW;
  return {
    s3: s3Client,
    dynamo: dynamoClient,
    clock: {
      ...clock,
      remainingTimeMs: clock.remainingTimeMs,
      sleep: async (ms) => {
        wall += ms;
        await clock.sleep(ms);
      },
      random: clock.random,
    },
    now: () => 0,
    wallClock: () => wall,
    ...extra,
  };
}

function titles(): string[] {
  return [...table.items.values()].map((item) => String(item.title));
}

describe('loadChunk provenance', () => {
  it('stamps every item with its source key, version, line, upload time and sequencer', async () => {
    const input = await fileOf('books.csv', ['One', 'Two'], uploadStamp());
    await loadChunk(input, config, deps());
    expect([...table.sources().values()]).toEqual([
      {
        key: 'books.csv',
        version: 'v1',
        line: 2,
        uploadedAt: '2026-11-28T10:00:00.000Z',
        sequencer: '0066A1B2C3D4E5F6'.padEnd(32, '0'),
      },
      expect.objectContaining({ line: 3 }),
    ]);
    expect(table.items.get('1')?.[PROVENANCE.line]?.toString()).toBe('2');
  });
});

describe('loadChunk write mode', () => {
  it('batch-writes when no newer upload of the table exists, and raises the newest upload to its own', async () => {
    const input = await fileOf('older.csv', ['old 1', 'old 2'], OLDER);
    const summary = await loadChunk(input, config, deps());
    expect(summary).toMatchObject({ mode: 'batch', written: 2, superseded: 0 });
    expect(table.calls).toHaveLength(1);
    expect(control.newest.get('books')).toMatchObject({ key: 'older.csv' });
  });

  it('writes conditionally when a newer upload has loaded, leaving its values and counting them superseded', async () => {
    await loadChunk(await fileOf('newer.csv', ['new 1'], NEWER), config, deps());
    const summary = await loadChunk(
      await fileOf('older.csv', ['old 1', 'old 2'], OLDER),
      config,
      deps(),
    );
    expect(summary).toMatchObject({ mode: 'conditional', written: 1, superseded: 1 });
    expect(titles()).toEqual(['new 1', 'old 2']);
    expect(table.calls).toHaveLength(1); // only the newer file's batch
    expect(control.newest.get('books')).toMatchObject({ key: 'newer.csv' });
  });

  it('rewrites its own values on a retry (same upload: same order, same lines)', async () => {
    const input = await fileOf('older.csv', ['old 1'], OLDER);
    await loadChunk(await fileOf('newer.csv', ['new 1', 'new 2'], NEWER), config, deps());
    await loadChunk(input, config, deps());
    const retry = await loadChunk(input, config, deps());
    expect(retry).toMatchObject({ mode: 'conditional', written: 0, superseded: 1 });
    expect(titles()).toEqual(['new 1', 'new 2']);
  });

  it('repeats a throttled conditional PutItem after a backoff, and names PutItem when the time runs out', async () => {
    await loadChunk(await fileOf('newer.csv', ['new 1'], NEWER), config, deps());
    let throttles = 1;
    table.latency = async () => {
      if (throttles-- > 0) {
        const error = new Error('Rate of requests exceeds the allowed throughput.');
        error.name = 'ProvisionedThroughputExceededException';
        throw error;
      }
    };
    const clock = new VirtualClock(60_000);
    const older = await fileOf('older.csv', ['old 1', 'old 2'], OLDER);
    const summary = await loadChunk(older, config, deps(clock));
    expect(summary).toMatchObject({ mode: 'conditional', written: 1, superseded: 1 });
    expect(clock.sleeps).toEqual([50]); // full jitter: random 0.5 × the first 100 ms ceiling

    throttles = Number.POSITIVE_INFINITY;
    await expect(loadChunk(older, config, deps(new VirtualClock(6_000)))).rejects.toThrow(
      /item\(s\) still unwritten after \d+ throttled PutItem call\(s\) on table books/,
    );
  });

  it('batch-writes over values of an older upload (a later file updates what an earlier one wrote)', async () => {
    await loadChunk(await fileOf('older.csv', ['old 1', 'old 2'], OLDER), config, deps());
    const summary = await loadChunk(await fileOf('newer.csv', ['new 1'], NEWER), config, deps());
    expect(summary).toMatchObject({ mode: 'batch', written: 1 });
    expect(titles()).toEqual(['new 1', 'old 2']);
  });
});

describe('loadChunk write leases', () => {
  /** Stages a live lease of `stamp` in the control table, as a running chunk holds it. */
  function liveLease(stamp: UploadStamp, until = NOW + 60_000): string {
    const sk = `${LEASE_PREFIX}${stamp.key}`;
    control.leases.set(`books|${sk}`, {
      pk: 'books',
      sk,
      [PROVENANCE.uploadedAt]: stamp.uploadedAt,
      [PROVENANCE.key]: stamp.key,
      [PROVENANCE.sequencer]: stamp.sequencer,
      until,
    });
    return `books|${sk}`;
  }

  it('waits for a live lease of an older upload before its first write', async () => {
    const lease = liveLease(OLDER);
    const writesSeen: number[] = [];
    // The older chunk finishes (its lease ends) after the newer one has looked twice.
    control.onQuery = (round) => {
      writesSeen.push(table.calls.length);
      if (round === 1) control.leases.delete(lease);
    };
    const clock = new VirtualClock(60_000);
    const summary = await loadChunk(
      await fileOf('newer.csv', ['new 1'], NEWER),
      config,
      deps(clock),
    );
    expect(writesSeen).toEqual([0, 0]);
    expect(clock.sleeps).toEqual([200]);
    expect(summary).toMatchObject({ mode: 'batch', written: 1, stats: { waitedFor: 1 } });
  });

  it.each([
    ['a newer upload', NEWER],
    ['the same upload (another chunk of this file, or a redrive of it)', OLDER],
  ])('does not wait for the lease of %s', async (_name, other) => {
    liveLease(other);
    const clock = new VirtualClock(60_000);
    await loadChunk(await fileOf('older.csv', ['old 1'], OLDER), config, deps(clock));
    expect(clock.sleeps).toEqual([]);
  });

  it('does not wait for a crashed chunk whose lease is past its deadline plus the clock skew, and deletes it', async () => {
    const lease = liveLease(OLDER, NOW - 5_001);
    const clock = new VirtualClock(60_000);
    await loadChunk(await fileOf('newer.csv', ['new 1'], NEWER), config, deps(clock));
    expect(clock.sleeps).toEqual([]);
    expect(control.leases.has(lease)).toBe(false);
  });

  it('still waits for a lease within the clock skew after its deadline', async () => {
    const lease = liveLease(OLDER, NOW - 4_000);
    control.onQuery = (round) => {
      if (round === 1) control.leases.delete(lease);
    };
    const clock = new VirtualClock(60_000);
    await loadChunk(await fileOf('newer.csv', ['new 1'], NEWER), config, deps(clock));
    expect(clock.sleeps).toEqual([200]);
  });

  it('gives up with OlderLoadStillWritingError before writing anything when Lambda time runs short, and withdraws its lease', async () => {
    liveLease(OLDER);
    const clock = new VirtualClock(6_000);
    const load = loadChunk(await fileOf('newer.csv', ['new 1'], NEWER), config, deps(clock));
    await expect(load).rejects.toThrow(OlderLoadStillWritingError);
    await expect(load).rejects.toThrow(
      /1 chunk\(s\) of older uploads of table books \(the oldest: s3 key older\.csv, uploaded 2026-11-28T10:00:00\.000Z\) are still writing/,
    );
    expect(table.calls).toHaveLength(0);
    expect([...control.leases.keys()]).toEqual(['books|lease#older.csv']);
  });

  it('repeats a throttled look at the leases, and names a control table that never answers', async () => {
    let failures = 1;
    const fault = (name: string, message: string) => {
      control.onQuery = () => {
        if (failures-- > 0) throw Object.assign(new Error(message), { name });
      };
    };
    fault('ProvisionedThroughputExceededException', 'slow down');
    const clock = new VirtualClock(60_000);
    await loadChunk(await fileOf('newer.csv', ['new 1'], NEWER), config, deps(clock));
    expect(clock.sleeps).toEqual([50]);
    expect(titles()).toEqual(['new 1']);

    control.onQuery = () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4567'), {
        code: 'ECONNREFUSED',
        $metadata: {},
      });
    };
    await expect(
      loadChunk(
        await fileOf('newer.csv', ['new 1'], NEWER),
        config,
        deps(new VirtualClock(600_000)),
      ),
    ).rejects.toMatchObject({
      name: 'ServiceUnreachableError',
      message: expect.stringContaining(
        'of s3://uploads/newer.csv, its write lease: DynamoDB did not answer Query on table control',
      ),
    });
  });

  it('registers its lease before it raises the newest upload, and ends it when done', async () => {
    await loadChunk(
      await fileOf('newer.csv', ['new 1'], NEWER),
      config,
      deps(undefined, { leaseId: () => 'chunk-1' }),
    );
    expect(control.leaseLog).toEqual(['lease#chunk-1']);
    expect(control.leases.size).toBe(0);
  });

  it('withdraws its lease at once when it must write conditionally (nobody waits for a conditional writer)', async () => {
    await loadChunk(await fileOf('newer.csv', ['new 1'], NEWER), config, deps());
    let leasesWhileWriting = -1;
    table.latency = async () => {
      leasesWhileWriting = control.leases.size;
    };
    await loadChunk(await fileOf('older.csv', ['old 1', 'old 2'], OLDER), config, deps());
    expect(leasesWhileWriting).toBe(0);
  });
});
