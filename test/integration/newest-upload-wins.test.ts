import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../handlers/load-chunk/client.js';
import type {
  ChunkSummary,
  ExecutionInput,
  FailureRecord,
  LoadChunkInput,
} from '../../handlers/shared/contracts.js';
import {
  notNewerThanWriter,
  orderAttributeNames,
  orderAttributeValues,
  PROVENANCE,
} from '../../handlers/shared/provenance.js';
import type { UploadStamp } from '../../handlers/shared/upload-order.js';
import type { DynamoDbCall } from '../../local/emulators/dynamodb-faults.js';
import type { InvokeInterceptor, InvokeOutcome } from '../../local/lambda/runtime.js';
import type { LocalStack } from '../../local/stack.js';
import type { Execution } from '../../local/stepfunctions/executions.js';
import { dlqRecordsFor, executionsOf, scanAll, startTestStack, waitFor } from './helpers.js';

/**
 * "Newest upload wins" on the local stack, end to end: every record ends with the
 * value of the newest upload that contains it, whatever order executions, chunks,
 * retries and redrives run in. Each interleaving is forced by holding Lambda
 * invocations or DynamoDB requests until another event has happened (never by
 * sleeping), and each test asserts 0 stale keys.
 */

// Small chunks (the minimum target) so a few thousand rows make several chunks.
const CHUNK_BYTES = 64 * 1024;

let stack: LocalStack;
let stop: () => Promise<void>;
/** The current test's hook around Lambda invocations (none between tests). */
let intercept: InvokeInterceptor | undefined;
/** The current test's hook before each DynamoDB request. */
let gate: ((call: DynamoDbCall) => Promise<void>) | undefined;

beforeAll(async () => {
  ({ stack, stop } = await startTestStack({
    context: { chunkTargetBytes: CHUNK_BYTES, maxRecordBytes: CHUNK_BYTES },
    interceptInvoke: (fn, event, next) => (intercept ? intercept(fn, event, next) : next()),
    faults: {
      dynamodb: { throttle: 0, partial: 0, gate: (call) => gate?.(call) ?? Promise.resolve() },
    },
  }));
}, 60_000);

afterEach(() => {
  intercept = undefined;
  gate = undefined;
});

afterAll(async () => {
  await stop?.();
}, 30_000);

/** A promise and the function that settles it. */
function signal(): { promise: Promise<void>; fire: () => void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { promise, fire: () => resolve() };
}

/** A CSV of the books dataset: one row per key, the title naming the file version. */
function csvOf(tag: string, keys: readonly number[]): Buffer {
  return Buffer.from(
    `isbn,title,author\n${keys.map((key) => `${key},${tag} ${key},A`).join('\n')}\n`,
  );
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, at) => from + at);
}

async function put(key: string, body: Buffer): Promise<void> {
  await stack.clients.s3.send(
    new PutObjectCommand({ Bucket: stack.names.bucket, Key: key, Body: body }),
  );
}

/** The (one) execution of `key` whose input satisfies `which`, once it has started. */
function started(
  key: string,
  which: (input: ExecutionInput) => boolean = () => true,
): Promise<Execution> {
  return waitFor(`an execution of ${key}`, () =>
    executionsOf(stack, key).find((execution) =>
      which(JSON.parse(execution.input) as ExecutionInput),
    ),
  );
}

async function closed(execution: Execution): Promise<Execution> {
  await execution.done;
  return execution;
}

/** Keys whose stored title is not the expected file version's. */
async function staleKeys(expected: ReadonlyMap<number, string>): Promise<number[]> {
  const stored = await scanAll(stack);
  const stale: number[] = [];
  for (const [key, tag] of expected) {
    const title = (stored.get(String(key))?.title as { S?: string } | undefined)?.S;
    if (title !== `${tag} ${key}`) stale.push(key);
  }
  return stale;
}

/** The newest upload's tag per key: later entries are newer uploads. */
function newestWins(
  ...files: readonly (readonly [tag: string, keys: readonly number[]])[]
): Map<number, string> {
  const expected = new Map<number, string>();
  for (const [tag, keys] of files) for (const key of keys) expected.set(key, tag);
  return expected;
}

function isLoadChunkOf(fn: { name: string }, event: unknown, key: string): event is LoadChunkInput {
  return fn.name.endsWith('-load-chunk') && (event as LoadChunkInput).upload?.key === key;
}

/** Records the summaries of every LoadChunk of `key` that succeeds. */
function recordSummaries(
  key: string,
  into: ChunkSummary[],
  next: () => Promise<InvokeOutcome>,
  event: unknown,
  fn: { name: string },
) {
  return next().then((outcome) => {
    if (outcome.ok && isLoadChunkOf(fn, event, key)) into.push(outcome.result as ChunkSummary);
    return outcome;
  });
}

describe('the write condition, evaluated by DynamoDB (dynalite)', () => {
  const stored = {
    uploadedAt: '2026-11-28T10:00:00.000Z',
    key: 'm.csv',
    sequencer: '05'.padEnd(32, '0'),
    version: 'v',
  };
  const writer = (change: Partial<UploadStamp>): UploadStamp => ({ ...stored, ...change });

  it.each([
    [
      'a later upload time',
      true,
      writer({ uploadedAt: '2026-11-28T10:00:00.001Z', key: 'a.csv' }),
      10,
    ],
    [
      'an earlier upload time',
      false,
      writer({ uploadedAt: '2026-11-28T09:59:59.999Z', key: 'z.csv' }),
      10,
    ],
    ['the same time and a later key', true, writer({ key: 'n.csv', sequencer: '' }), 10],
    [
      'the same time and an earlier key',
      false,
      writer({ key: 'l.csv', sequencer: 'FF'.padEnd(32, '0') }),
      10,
    ],
    ['the same key and a later sequencer', true, writer({ sequencer: '06'.padEnd(32, '0') }), 1],
    [
      'the same key and an earlier sequencer',
      false,
      writer({ sequencer: '04'.padEnd(32, '0') }),
      99,
    ],
    ['the same upload and a later line', true, writer({}), 11],
    ['the same upload and line (a retry)', true, writer({}), 10],
    ['the same upload and an earlier line', false, writer({}), 9],
  ])('a writer with %s replaces the stored item: %s', async (name, replaces, stamp, line) => {
    const dynamo = createDocumentClient(stack.clients.dynamodb);
    const isbn = 990_000 + name.length * 1_000 + line; // one item per case
    const item = (source: UploadStamp, at: number, title: string) => ({
      isbn,
      title,
      [PROVENANCE.uploadedAt]: source.uploadedAt,
      [PROVENANCE.key]: source.key,
      [PROVENANCE.sequencer]: source.sequencer,
      [PROVENANCE.version]: source.version,
      [PROVENANCE.line]: at,
    });
    await dynamo.send(
      new PutCommand({ TableName: stack.names.table, Item: item(stored, 10, 'stored') }),
    );
    const attempt = dynamo.send(
      new PutCommand({
        TableName: stack.names.table,
        Item: item(stamp, line, 'writer'),
        ConditionExpression: notNewerThanWriter(true),
        ExpressionAttributeNames: orderAttributeNames(PROVENANCE, PROVENANCE.line),
        ExpressionAttributeValues: orderAttributeValues(stamp, line),
      }),
    );
    if (replaces) await expect(attempt).resolves.toBeDefined();
    else await expect(attempt).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it('lets any writer replace an item stored before provenance existed', async () => {
    const dynamo = createDocumentClient(stack.clients.dynamodb);
    await dynamo.send(
      new PutCommand({ TableName: stack.names.table, Item: { isbn: 989_999, title: 'legacy' } }),
    );
    await expect(
      dynamo.send(
        new PutCommand({
          TableName: stack.names.table,
          Item: { isbn: 989_999, title: 'new', [PROVENANCE.uploadedAt]: stored.uploadedAt },
          ConditionExpression: notNewerThanWriter(true),
          ExpressionAttributeNames: orderAttributeNames(PROVENANCE, PROVENANCE.line),
          ExpressionAttributeValues: orderAttributeValues(stored, 1),
        }),
      ),
    ).resolves.toBeDefined();
  });
});

describe('two files sharing keys', () => {
  it("keeps the newer values when the older file's chunks are held until the newer one has loaded (older finishes last)", async () => {
    const [older, newer] = ['shared1/a.csv', 'shared1/b.csv'];
    const olderKeys = range(100_000, 3000);
    const newerKeys = range(101_500, 3000);
    const newerDone = signal();
    const olderChunks: ChunkSummary[] = [];
    intercept = async (fn, event, next) => {
      if (isLoadChunkOf(fn, event, older)) await newerDone.promise;
      return recordSummaries(older, olderChunks, next, event, fn);
    };

    await put(older, csvOf('older', olderKeys));
    const olderRun = await started(older);
    await put(newer, csvOf('newer', newerKeys));
    const newerRun = await closed(await started(newer));
    newerDone.fire();
    await closed(olderRun);

    expect([olderRun.status, newerRun.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(await staleKeys(newestWins(['older', olderKeys], ['newer', newerKeys]))).toEqual([]);
    // The older file learned of the newer one and wrote conditionally, keeping 1,500 newer values.
    expect(olderChunks.length).toBeGreaterThan(1);
    expect(olderChunks.every((chunk) => chunk.mode === 'conditional')).toBe(true);
    expect(olderChunks.reduce((sum, chunk) => sum + chunk.superseded, 0)).toBe(1500);
  }, 120_000);

  it("lets the newer values replace the older ones when the newer file's chunks are held until the older one has loaded (newer finishes last)", async () => {
    const [older, newer] = ['shared2/a.csv', 'shared2/b.csv'];
    const olderKeys = range(200_000, 3000);
    const newerKeys = range(201_500, 3000);
    const olderDone = signal();
    intercept = async (fn, event, next) => {
      if (isLoadChunkOf(fn, event, newer)) await olderDone.promise;
      return next();
    };

    await put(older, csvOf('older', olderKeys));
    const olderRun = await started(older);
    await put(newer, csvOf('newer', newerKeys));
    const newerRun = await started(newer);
    await closed(olderRun);
    olderDone.fire();
    await closed(newerRun);

    expect([olderRun.status, newerRun.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(await staleKeys(newestWins(['older', olderKeys], ['newer', newerKeys]))).toEqual([]);
  }, 120_000);

  it('makes the newer file wait while a chunk of the older one is still batch-writing shared keys', async () => {
    // One chunk each, so every request of a file comes from one chunk.
    const [older, newer] = ['shared3/a.csv', 'shared3/b.csv'];
    const olderKeys = range(300_000, 1500);
    const newerKeys = range(300_750, 1500);
    const olderWriteHeld = signal();
    const releaseOlder = signal();
    let newerLeased = false;
    let queriesWhileLeased = 0;
    gate = async (call) => {
      const source = firstSourceKey(call);
      if (call.operation === 'BatchWriteItem' && source === older) {
        olderWriteHeld.fire();
        await releaseOlder.promise;
      }
      if (call.operation === 'PutItem' && source === newer && isControl(call)) newerLeased = true;
      // A second look at the leases after the newer chunk registered: it is waiting.
      if (call.operation === 'Query' && newerLeased && ++queriesWhileLeased === 2)
        releaseOlder.fire();
    };

    await put(older, csvOf('older', olderKeys));
    const olderRun = await started(older);
    await olderWriteHeld.promise; // the older chunk holds its lease and is batch-writing
    await put(newer, csvOf('newer', newerKeys));
    const newerRun = await started(newer);
    // Were the newer chunk not to wait, it would finish first; the older writes would then land last.
    void newerRun.done.then(releaseOlder.fire);
    await Promise.all([closed(olderRun), closed(newerRun)]);

    expect([olderRun.status, newerRun.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(queriesWhileLeased).toBeGreaterThanOrEqual(2);
    expect(await staleKeys(newestWins(['older', olderKeys], ['newer', newerKeys]))).toEqual([]);
  }, 120_000);
});

/**
 * Moves the DLQ's failure record of `key` back to the file-events queue, as an SQS
 * redrive does, leaving other tests' records where they are.
 */
async function redriveRecordOf(key: string): Promise<void> {
  const { sqs } = stack.clients;
  const { dlqUrl, queueUrl } = stack.endpoints;
  await waitFor(`the failure record of ${key} to be moved`, async () => {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 5,
      }),
    );
    let moved = false;
    for (const message of Messages) {
      const record = JSON.parse(message.Body ?? '{}') as FailureRecord;
      if (!moved && record.upload?.key === key) {
        await sqs.send(
          new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message.Body ?? '' }),
        );
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle }),
        );
        moved = true;
      } else {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: dlqUrl,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 1,
          }),
        );
      }
    }
    return moved || undefined;
  });
}

/** The object key in the provenance of a request's first item (or lease), if any. */
function firstSourceKey(call: DynamoDbCall): string | undefined {
  const body = call.body as {
    RequestItems?: Record<string, { PutRequest?: { Item?: Record<string, { S?: string }> } }[]>;
    Item?: Record<string, { S?: string }>;
  };
  const item = body.Item ?? Object.values(body.RequestItems ?? {})[0]?.[0]?.PutRequest?.Item;
  return item?.[PROVENANCE.key]?.S;
}

function isControl(call: DynamoDbCall): boolean {
  return call.body.TableName === stack.names.controlTable;
}

describe('two versions of one object', () => {
  it("keeps the new version's values when the old version's chunks run after it (the old one fails as overwritten, nothing stale)", async () => {
    const key = 'versions1/books.csv';
    const oldKeys = range(400_000, 5000);
    const newKeys = range(400_000, 2000);
    const oldBody = csvOf('old', oldKeys);
    const oldPlanned = signal();
    const newDone = signal();
    intercept = async (fn, event, next) => {
      if (
        isLoadChunkOf(fn, event, key) &&
        (event as LoadChunkInput).object.eTag.includes(etagOf(oldBody))
      ) {
        oldPlanned.fire();
        await newDone.promise;
      }
      return next();
    };

    await put(key, oldBody);
    const oldRun = await started(key);
    await oldPlanned.promise; // planned, its loads held
    await put(key, csvOf('new', newKeys));
    const newBody = etagOf(csvOf('new', newKeys));
    const newRun = await closed(await started(key, (input) => input.file.eTag === newBody));
    newDone.fire();
    await closed(oldRun);

    expect(newRun.status).toBe('SUCCEEDED');
    expect([oldRun.status, oldRun.error]).toEqual(['FAILED', 'ObjectChangedError']);
    expect(await staleKeys(newestWins(['new', newKeys]))).toEqual([]);
  }, 120_000);

  it('is never a mix when the object is overwritten mid-flight with its rows reordered', async () => {
    const key = 'versions2/books.csv';
    const keys = range(500_000, 5000);
    const oldBody = csvOf('old', keys);
    const newBody = csvOf('new', [...keys].reverse());
    const firstChunkWritten = signal();
    const newDone = signal();
    intercept = async (fn, event, next) => {
      const isOld =
        isLoadChunkOf(fn, event, key) &&
        (event as LoadChunkInput).object.eTag.includes(etagOf(oldBody));
      if (isOld && (event as LoadChunkInput).chunk.index > 0) await newDone.promise;
      const outcome = await next();
      if (isOld && (event as LoadChunkInput).chunk.index === 0) firstChunkWritten.fire();
      return outcome;
    };

    await put(key, oldBody);
    const oldRun = await started(key);
    await firstChunkWritten.promise; // part of the old version is in the table
    await put(key, newBody);
    const newRun = await closed(await started(key, (input) => input.file.eTag === etagOf(newBody)));
    newDone.fire();
    await closed(oldRun);

    expect(newRun.status).toBe('SUCCEEDED');
    expect(oldRun.error).toBe('ObjectChangedError');
    expect(await staleKeys(newestWins(['new', keys]))).toEqual([]);
  }, 120_000);
});

describe('retries and redrives keep their place in the upload order', () => {
  it('does not let an old failure record, redriven after a newer file loaded, overwrite the newer values', async () => {
    const [older, newer] = ['redrive1/a.csv', 'redrive1/b.csv'];
    const olderKeys = range(600_000, 3000);
    const newerKeys = range(601_500, 3000);
    let failOlder = true;
    intercept = async (fn, event, next) => {
      if (failOlder && isLoadChunkOf(fn, event, older)) {
        return {
          ok: false,
          error: {
            errorType: 'ChunkWriteError',
            errorMessage: 'injected: table unavailable',
            trace: [],
          },
        };
      }
      return next();
    };

    await put(older, csvOf('older', olderKeys));
    const failed = await closed(await started(older));
    expect(failed.status).toBe('FAILED');
    const [record] = await waitFor('the failure record of the older file', async () => {
      const records = await dlqRecordsFor(stack, older);
      return records.length > 0 ? records : undefined;
    });
    await put(newer, csvOf('newer', newerKeys));
    expect((await closed(await started(newer))).status).toBe('SUCCEEDED');

    failOlder = false;
    await redriveRecordOf(older);
    const redriven = await closed(
      await started(older, (input) => input.redriveOf === failed.executionArn),
    );

    expect(redriven.status).toBe('SUCCEEDED');
    const input = JSON.parse(redriven.input) as ExecutionInput;
    expect(input.upload).toEqual((JSON.parse(failed.input) as ExecutionInput).upload);
    expect(record?.upload).toEqual(input.upload);
    expect(await staleKeys(newestWins(['older', olderKeys], ['newer', newerKeys]))).toEqual([]);
  }, 120_000);

  it('does not let a chunk retried after a newer file loaded overwrite the newer values', async () => {
    const [older, newer] = ['retry1/a.csv', 'retry1/b.csv'];
    const keys = range(700_000, 3000);
    const firstAttemptWrote = signal();
    const newerDone = signal();
    let crashed = false;
    const retried: ChunkSummary[] = [];
    intercept = async (fn, event, next) => {
      const isFirstChunk =
        isLoadChunkOf(fn, event, older) && (event as LoadChunkInput).chunk.index === 0;
      const outcome = await next();
      if (!isFirstChunk) return outcome;
      if (crashed) {
        if (outcome.ok) retried.push(outcome.result as ChunkSummary);
        return outcome;
      }
      // Its rows are written, then its sandbox dies: the workflow retries the chunk.
      crashed = true;
      firstAttemptWrote.fire();
      await newerDone.promise;
      return {
        ok: false,
        error: {
          errorType: 'Sandbox.Timedout',
          errorMessage: 'injected crash after writing',
          trace: [],
        },
      };
    };

    await put(older, csvOf('older', keys));
    const olderRun = await started(older);
    await firstAttemptWrote.promise;
    await put(newer, csvOf('newer', keys));
    expect((await closed(await started(newer))).status).toBe('SUCCEEDED');
    newerDone.fire();
    await closed(olderRun);

    expect(olderRun.status).toBe('SUCCEEDED');
    expect(retried).toEqual([expect.objectContaining({ mode: 'conditional', written: 0 })]);
    expect(retried[0]?.superseded).toBe(retried[0]?.rows);
    expect(await staleKeys(newestWins(['newer', keys]))).toEqual([]);
  }, 120_000);
});

describe('duplicates within one file', () => {
  it('still lets the last occurrence win across chunks, and records its line', async () => {
    const key = 'dups1/books.csv';
    const keys = range(800_000, 3000);
    const late = range(800_000, 500);
    const body = Buffer.concat([
      csvOf('early', keys),
      Buffer.from(late.map((isbn) => `${isbn},late ${isbn},A\n`).join('')),
    ]);

    await put(key, body);
    const run = await closed(await started(key));

    expect(run.status).toBe('SUCCEEDED');
    expect(JSON.parse(run.output ?? '{}')).toMatchObject({ rows: 3500, duplicateRows: 500 });
    expect(await staleKeys(newestWins(['early', keys], ['late', late]))).toEqual([]);
    const stored = await scanAll(stack);
    // The header is line 1, the 3,000 early rows lines 2–3001, the late ones from line 3002.
    expect(stored.get('800000')?.[PROVENANCE.line]).toEqual({ N: '3002' });
    expect(stored.get('800500')?.[PROVENANCE.line]).toEqual({ N: '502' });
  }, 120_000);
});

/** The ETag S3 gives a single-part upload of `body` (its MD5), as notifications carry it. */
function etagOf(body: Buffer): string {
  return createHash('md5').update(body).digest('hex');
}
