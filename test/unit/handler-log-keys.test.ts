import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  type GetObjectCommandInput,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { jest } from '@jest/globals';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { LoadChunkInput } from '../../handlers/shared/contracts.js';
import { readCsvRecords } from '../../handlers/shared/csv.js';
import { writeItemsThroughSdk } from '../support/sdk-item-writes.js';
import { DATASET_JSON, FakeTable, s3Error, uploadStamp } from '../support/workflow-fakes.js';

/**
 * The local stack runs invocations of one handler module side by side (one Lambda
 * container runs one at a time). Each log line must carry its own invocation's file
 * and chunk, whatever the other invocations did in between.
 */

// Handlers read their configuration once, at import: set it first (INFO, so the lines
// are written; they are captured from stdout below).
Object.assign(process.env, {
  DATASET: DATASET_JSON,
  TABLE_NAME: 'books',
  CONTROL_TABLE_NAME: 'control',
  WRITE_CONCURRENCY: '2',
  POWERTOOLS_LOG_LEVEL: 'INFO',
});
// Items go through the SDK's low-level client (mocked below).
await writeItemsThroughSdk();
const loadChunk = await import('../../handlers/load-chunk/index.js');
const planFile = await import('../../handlers/plan-file/index.js');

const s3 = mockClient(S3Client);
const dynamo = mockClient(DynamoDBDocumentClient);
const writer = mockClient(DynamoDBClient);

const BOOKS = readFileSync(new URL('../../sample-files/books.csv', import.meta.url));
const HEADER_END = BOOKS.indexOf(0x0a) + 1;
let ROWS = 0;
for await (const _record of readCsvRecords(Readable.from([BOOKS.subarray(HEADER_END)]), {
  delimiter: ',',
  maxRecordBytes: 400 * 1024,
})) {
  ROWS += 1;
}

/**
 * Chunk `index` of `key` (the whole sample file). b.csv was uploaded an hour before a.csv,
 * so its load never waits for a.csv's write lease (only a newer upload waits for an older one).
 */
function inputFor(key: string, index: number): LoadChunkInput {
  return {
    object: { bucket: 'uploads', key, eTag: '"e"', size: BOOKS.length },
    header: BOOKS.subarray(0, HEADER_END).toString('utf8').trim().split(','),
    chunk: { index, start: HEADER_END, end: BOOKS.length, firstLine: 2, rows: ROWS, skip: [] },
    upload: uploadStamp(key, key === 'b.csv' ? '2026-11-28T09:00:00.000Z' : undefined),
  };
}

function contextFor(requestId: string): Context {
  return {
    functionName: 'load-chunk',
    awsRequestId: requestId,
    getRemainingTimeInMillis: () => 60_000,
  } as unknown as Context;
}

let lines: Record<string, unknown>[];
let held: Map<string, Promise<void>>;

beforeEach(() => {
  s3.reset();
  dynamo.reset();
  writer.reset();
  new FakeTable('books', 'isbn').attach(dynamo, undefined, writer);
  held = new Map();
  // Every object is the sample file (ETag "e"); a key in `held` is answered once its
  // promise settles.
  s3.on(HeadObjectCommand).resolves({
    ContentLength: BOOKS.length,
    ETag: '"e"',
    ContentType: 'text/csv',
  });
  s3.on(GetObjectCommand).callsFake(async (input: GetObjectCommandInput) => {
    await held.get(input.Key ?? '');
    if (input.IfMatch !== undefined && input.IfMatch !== '"e"')
      throw s3Error('PreconditionFailed', 412);
    const [, from = '0', to = String(BOOKS.length - 1)] =
      /bytes=(\d+)-(\d+)/.exec(input.Range ?? '') ?? [];
    return { Body: Readable.from([BOOKS.subarray(Number(from), Number(to) + 1)]), ETag: '"e"' };
  });
  lines = [];
  // The logger's Console writes to process.stdout and process.stderr (errors): keep its
  // JSON lines, in the order written.
  const keep = (text: string | Uint8Array) => {
    for (const line of String(text).split('\n')) {
      if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    return true;
  };
  jest.spyOn(process.stdout, 'write').mockImplementation(keep);
  jest.spyOn(process.stderr, 'write').mockImplementation(keep);
});

afterEach(() => {
  jest.restoreAllMocks();
});

const linesSaying = (message: string) => lines.filter((line) => line.message === message);

describe('load-chunk log lines, with invocations side by side', () => {
  it('carry their own file and chunk when another invocation starts and ends in between', async () => {
    const { promise: release, resolve } = Promise.withResolvers<void>();
    held.set('a.csv', release);
    const first = loadChunk.handler(inputFor('a.csv', 0), contextFor('req-a'));
    // The second invocation starts, loads and logs while the first waits for its bytes.
    await loadChunk.handler(inputFor('b.csv', 3), contextFor('req-b'));
    resolve();
    await first;

    const loaded = linesSaying('Loaded chunk');
    expect(loaded).toHaveLength(2);
    expect(loaded[0]).toMatchObject({ file: 's3://uploads/b.csv', chunk: 3, written: ROWS });
    expect(loaded[1]).toMatchObject({ file: 's3://uploads/a.csv', chunk: 0, written: ROWS });
  });

  it('name the chunk that failed (its object changed), not the one that started after it', async () => {
    const { promise: release, resolve } = Promise.withResolvers<void>();
    held.set('a.csv', release);
    const first = loadChunk.handler(
      { ...inputFor('a.csv', 1), object: { ...inputFor('a.csv', 1).object, eTag: '"other"' } },
      contextFor('req-a'),
    );
    const second = loadChunk.handler(inputFor('b.csv', 2), contextFor('req-b'));
    resolve();
    await expect(first).rejects.toThrow();
    await second;

    expect(linesSaying('Chunk failed')).toEqual([
      expect.objectContaining({ file: 's3://uploads/a.csv', chunk: 1 }),
    ]);
    expect(linesSaying('Loaded chunk')).toEqual([
      expect.objectContaining({ file: 's3://uploads/b.csv', chunk: 2 }),
    ]);
  });
});

describe('plan-file log lines, with invocations side by side', () => {
  it('carry their own file when another file is planned in between', async () => {
    const { promise: release, resolve } = Promise.withResolvers<void>();
    held.set('a.csv', release);
    const first = planFile.handler(
      { file: { bucket: 'uploads', key: 'a.csv' } },
      contextFor('req-a'),
    );
    await planFile.handler({ file: { bucket: 'uploads', key: 'b.csv' } }, contextFor('req-b'));
    resolve();
    await first;

    expect(linesSaying('Planned file')).toEqual([
      expect.objectContaining({ file: 's3://uploads/b.csv', dataset: 'books', totalRows: ROWS }),
      expect.objectContaining({ file: 's3://uploads/a.csv', dataset: 'books', totalRows: ROWS }),
    ]);
  });
});
