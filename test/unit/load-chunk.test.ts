import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, NumberValue } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import {
  backoffDelay,
  isTransient,
  type RetryPolicy,
} from '../../handlers/load-chunk/batch-writer.js';
import { createDocumentClient } from '../../handlers/load-chunk/client.js';
import { type LoadChunkConfig, loadChunk } from '../../handlers/load-chunk/load.js';
import type { LoadChunkInput } from '../../handlers/shared/contracts.js';
import { splitProvenance } from '../../handlers/shared/provenance.js';
import {
  FakeTable,
  plannedObject,
  type StoredObject,
  s3Error,
  books as schema,
  serveBucket,
  simplePlan,
  uploadStamp,
  VirtualClock,
} from '../support/workflow-fakes.js';

const retry: RetryPolicy = { baseDelayMs: 100, maxDelayMs: 2_000, safetyMarginMs: 5_000 };
const config: LoadChunkConfig = {
  schema,
  tableName: 'books',
  controlTableName: 'control',
  lease: { pollMs: 200, clockSkewMs: 5_000 },
  writeConcurrency: 3,
  maxRecordBytes: 400 * 1024,
  retry,
};

const HEADER = 'isbn,title,author,year,price,in_print';
/** Row `i` of a synthetic file: unique ISBN, a quoted comma, optional cells empty on every 5th. */
function row(i: number): string {
  const isbn = 9780000000000 + i;
  const optional = i % 5 === 0 ? ',,' : `${1900 + (i % 120)},${(i % 50) + 0.5},${i % 2 === 0}`;
  return `${isbn},"Title ${i}, vol. ${i % 3}",Author ${i},${optional}`;
}
function csv(rows: readonly string[], eol = '\n'): string {
  return `${[HEADER, ...rows].join(eol)}${eol}`;
}

const s3 = mockClient(S3Client);
const dynamo = mockClient(DynamoDBDocumentClient);
// Real clients: mockClient replaced `send` on their prototypes, so nothing leaves the process.
const s3Client = new S3Client({ region: 'eu-west-1' });
const dynamoClient = createDocumentClient(new DynamoDBClient({ region: 'eu-west-1' }));

let table: FakeTable;
let objects: Map<string, StoredObject>;
let gets: ReturnType<typeof serveBucket>;

beforeEach(() => {
  s3.reset();
  dynamo.reset();
  objects = new Map();
  gets = serveBucket(s3, objects);
  table = new FakeTable('books', 'isbn');
  table.attach(dynamo);
});

/** Stores `text` as uploads/books.csv and plans it with `rowsPerChunk` rows per chunk. */
async function upload(
  text: string | Buffer,
  rowsPerChunk: number,
  skips: Record<number, number[]> = {},
  versionId?: string,
) {
  const object: StoredObject = {
    body: typeof text === 'string' ? Buffer.from(text) : text,
    eTag: '"etag-1"',
    ...(versionId === undefined ? {} : { versionId }),
  };
  objects.set('uploads/books.csv', object);
  const plan = await simplePlan(text, rowsPerChunk, skips);
  const inputs: LoadChunkInput[] = plan.chunks.map((chunk) => ({
    object: plannedObject('uploads', 'books.csv', object),
    header: plan.header,
    chunk,
    upload: uploadStamp(),
  }));
  return inputs;
}

function deps(clock = new VirtualClock(60_000)) {
  return { s3: s3Client, dynamo: dynamoClient, clock, now: () => 0 };
}

describe('loadChunk', () => {
  it('writes every row of the chunk as an item and returns the summary', async () => {
    const [input] = await upload(csv([row(1), row(2), row(3)]), 10);
    const summary = await loadChunk(input as LoadChunkInput, config, deps());
    expect(summary).toEqual({
      index: 0,
      rows: 3,
      written: 3,
      superseded: 0,
      skipped: 0,
      mode: 'batch',
      durationMs: 0,
      stats: { batches: 1, retries: 0, waitedFor: 0, progressReportsFailed: 0 },
    });
    expect(table.plainItems()).toEqual([
      {
        isbn: '9780000000001',
        title: 'Title 1, vol. 1',
        author: 'Author 1',
        year: '1901',
        price: '1.5',
        in_print: false,
      },
      {
        isbn: '9780000000002',
        title: 'Title 2, vol. 2',
        author: 'Author 2',
        year: '1902',
        price: '2.5',
        in_print: true,
      },
      {
        isbn: '9780000000003',
        title: 'Title 3, vol. 0',
        author: 'Author 3',
        year: '1903',
        price: '3.5',
        in_print: false,
      },
    ]);
  });

  it('reads exactly the planned byte range of the planned version, IfMatch its ETag', async () => {
    const inputs = await upload(csv([row(1), row(2), row(3), row(4)]), 2, {}, 'v1');
    const second = inputs[1] as LoadChunkInput;
    await loadChunk(second, config, deps());
    expect(gets).toEqual([
      {
        Bucket: 'uploads',
        Key: 'books.csv',
        VersionId: 'v1',
        Range: `bytes=${second.chunk.start}-${second.chunk.end - 1}`,
        IfMatch: '"etag-1"',
      },
    ]);
    expect(table.plainItems().map((item) => item.isbn)).toEqual(['9780000000003', '9780000000004']);
  });

  it('keeps numbers exact (NumberValue with the cell text) and omits empty optional cells', async () => {
    const text = `isbn,title,author,price,pages\n1234567890123456789,Exact,Someone,0.1,\n`;
    const [input] = await upload(text, 10);
    await loadChunk(input as LoadChunkInput, config, deps());
    const [call] = table.calls;
    const item = call?.[0]?.PutRequest?.Item ?? {};
    expect(item.isbn).toBeInstanceOf(NumberValue);
    expect(String(item.isbn)).toBe('1234567890123456789');
    expect(String(item.price)).toBe('0.1');
    expect(Object.keys(splitProvenance(item).record).sort()).toEqual([
      'author',
      'isbn',
      'price',
      'title',
    ]);
  });

  it('parses a chunk with CRLF line ends, quoted newlines and non-ASCII text at its planned line', async () => {
    const rows = [
      '9780000000001,"Line one\r\nline two",Zoë',
      '9780000000002,"Say ""hi""",Łukasz',
      '9780000000003,Tail,渡辺',
    ];
    const inputs = await upload(`isbn,title,author\r\n${rows.join('\r\n')}`, 2);
    expect(inputs[1]?.chunk.firstLine).toBe(5);
    for (const input of inputs) await loadChunk(input, config, deps());
    expect(table.plainItems()).toEqual([
      { isbn: '9780000000001', title: 'Line one\r\nline two', author: 'Zoë' },
      { isbn: '9780000000002', title: 'Say "hi"', author: 'Łukasz' },
      { isbn: '9780000000003', title: 'Tail', author: '渡辺' },
    ]);
  });

  it('skips the rows the plan marks as superseded, so the last occurrence of a key wins across chunks', async () => {
    const rows = [row(1), row(2).replace('Title 2', 'Old title'), row(3), row(2)];
    // Chunk 0 holds rows 1-2, chunk 1 rows 3 and the newer row 2: the plan skips chunk 0's index 1.
    const inputs = await upload(csv(rows), 2, { 0: [1] });
    const summaries = [];
    // The later chunk first: the skipped row must not overwrite it, whatever the order.
    for (const input of [...inputs].reverse())
      summaries.push(await loadChunk(input, config, deps()));
    expect(
      summaries.map(({ rows: total, written, skipped }) => ({ total, written, skipped })),
    ).toEqual([
      { total: 2, written: 2, skipped: 0 },
      { total: 2, written: 1, skipped: 1 },
    ]);
    expect(table.items.get('9780000000002')?.title).toBe('Title 2, vol. 2');
    expect(table.items.size).toBe(3);
  });

  it.each([
    [1, [1]],
    [25, [25]],
    [26, [25, 1]],
    [60, [25, 25, 10]],
  ])('writes %i rows in BatchWriteItem calls of %j items', async (count, sizes) => {
    const [input] = await upload(csv(Array.from({ length: count }, (_, i) => row(i + 1))), 1000);
    await loadChunk(input as LoadChunkInput, config, deps());
    expect(table.calls.map((call) => call.length).sort((a, b) => b - a)).toEqual(sizes);
    expect(table.items.size).toBe(count);
  });

  it('never puts two items with the same key in one call', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => row((i % 10) + 1));
    // Every key occurs three times; the plan skips the first two occurrences.
    const skip = Array.from({ length: 20 }, (_, i) => i);
    const [input] = await upload(csv(rows), 1000, { 0: skip });
    const summary = await loadChunk(input as LoadChunkInput, config, deps());
    expect(summary).toMatchObject({ rows: 30, written: 10, skipped: 20 });
    for (const call of table.calls) {
      const keys = call.map((request) => String(request.PutRequest?.Item?.isbn));
      expect(new Set(keys).size).toBe(keys.length);
    }
  });

  it('keeps at most WRITE_CONCURRENCY calls in flight', async () => {
    const [input] = await upload(csv(Array.from({ length: 250 }, (_, i) => row(i + 1))), 1000);
    table.latency = () => new Promise((resolve) => setTimeout(resolve, 5));
    await loadChunk(input as LoadChunkInput, config, deps());
    expect(table.calls).toHaveLength(10);
    expect(table.maxInFlight).toBe(config.writeConcurrency);
  });

  it('stops reading the chunk while every write slot is busy (bounded memory)', async () => {
    const text = csv(Array.from({ length: 20_000 }, (_, i) => row(i + 1)));
    const [input] = await upload(text, 100_000);
    const range = Buffer.from(text).subarray(input?.chunk.start, input?.chunk.end);
    let pulled = 0;
    s3.on(GetObjectCommand).resolves({
      Body: Readable.from(
        (function* () {
          for (let at = 0; at < range.length; at += 4096) {
            const piece = range.subarray(at, at + 4096);
            pulled += piece.length;
            yield piece;
          }
        })(),
      ) as never,
    });
    let release = () => {};
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    table.latency = () => blocked;

    const loading = loadChunk(input as LoadChunkInput, config, deps());
    await waitUntil(() => table.calls.length === config.writeConcurrency);
    // Give the reader every chance to run ahead while the writes are stuck.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const pulledWhileBlocked = pulled;
    release();
    await loading;

    expect(range.length).toBeGreaterThan(1_000_000);
    // Three in-flight batches plus stream buffers: far below the 1.2 MB chunk.
    expect(pulledWhileBlocked).toBeLessThan(256 * 1024);
    expect(table.calls).toHaveLength(20_000 / 25);
  });

  describe('UnprocessedItems and throttling', () => {
    it('retries UnprocessedItems with backoff until none are left', async () => {
      const [input] = await upload(csv(Array.from({ length: 10 }, (_, i) => row(i + 1))), 1000);
      // The first three calls leave their last 4, 2 and 1 requests unprocessed.
      const leftOver = [4, 2, 1];
      table.behaviour = (requests, call) => requests.slice(requests.length - (leftOver[call] ?? 0));
      const clock = new VirtualClock(60_000, () => 0.5);
      const summary = await loadChunk(input as LoadChunkInput, config, deps(clock));

      expect(table.calls.map((call) => call.length)).toEqual([10, 4, 2, 1]);
      expect(table.items.size).toBe(10);
      expect(summary).toMatchObject({ written: 10, stats: { retries: 3 } });
      // Full jitter with random() = 0.5: half of 100, 200, 400 ms.
      expect(clock.sleeps).toEqual([50, 100, 200]);
    });

    it('resends our own items (exact numbers), not the unmarshalled copies DynamoDB returns', async () => {
      const [input] = await upload(
        `isbn,title,author,price\n9780000000001,T,A,0.30000000000000000001\n`,
        10,
      );
      table.behaviour = (requests, call) =>
        call === 0
          ? requests.map((request) => ({
              PutRequest: { Item: { ...request.PutRequest?.Item, price: 0.3 } },
            }))
          : [];
      await loadChunk(input as LoadChunkInput, config, deps());
      expect(String(table.calls[1]?.[0]?.PutRequest?.Item?.price)).toBe('0.30000000000000000001');
    });

    it.each([
      'ProvisionedThroughputExceededException',
      'ThrottlingException',
      'RequestLimitExceeded',
    ])('backs off and retries the whole call after %s', async (name) => {
      const [input] = await upload(csv([row(1), row(2)]), 10);
      table.behaviour = (_requests, call) => {
        if (call < 2) throw Object.assign(new Error('slow down'), { name, $fault: 'client' });
        return [];
      };
      const clock = new VirtualClock(60_000, () => 1 - Number.EPSILON);
      await loadChunk(input as LoadChunkInput, config, deps(clock));
      expect(table.items.size).toBe(2);
      expect(clock.sleeps).toEqual([99, 199]);
    });

    it('throws ChunkTimeBudgetExceededError instead of waiting into the safety margin', async () => {
      const [input] = await upload(csv([row(1), row(2)]), 10);
      table.behaviour = () => {
        throw Object.assign(new Error('Rate exceeded'), {
          name: 'ProvisionedThroughputExceededException',
          $fault: 'client',
        });
      };
      // 7 s left, 5 s margin: waits of 50, 100, 200, 400, 800 ms fit (1.55 s); the next 1 s would not.
      const clock = new VirtualClock(7_000, () => 0.5);
      const error = await loadChunk(input as LoadChunkInput, config, deps(clock)).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({
        name: 'ChunkTimeBudgetExceededError',
        message: expect.stringMatching(
          /^chunk 0 \(line 2, bytes \d+–\d+\) of s3:\/\/uploads\/books\.csv, rows on lines 2–3: 2 item\(s\) still unwritten after 6 throttled/,
        ),
      });
      expect(clock.sleeps).toEqual([50, 100, 200, 400, 800]);
      expect(clock.remainingTimeMs()).toBeGreaterThanOrEqual(retry.safetyMarginMs);
    });

    it('throws ChunkTimeBudgetExceededError before the first call when the margin is already gone', async () => {
      const [input] = await upload(csv([row(1)]), 10);
      const error = await loadChunk(
        input as LoadChunkInput,
        config,
        deps(new VirtualClock(4_999)),
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'ChunkTimeBudgetExceededError' });
      expect(table.calls).toHaveLength(0);
    });

    it('fails at once, without retrying, on an error that is not transient', async () => {
      const [input] = await upload(csv([row(1)]), 10);
      table.behaviour = () => {
        throw Object.assign(new Error('Requested resource not found'), {
          name: 'ResourceNotFoundException',
          $fault: 'client',
        });
      };
      await expect(loadChunk(input as LoadChunkInput, config, deps())).rejects.toMatchObject({
        name: 'ChunkWriteError',
        cause: { name: 'ResourceNotFoundException' },
      });
      expect(table.calls).toHaveLength(1);
    });

    it('names the file, chunk, lines and table when a write fails for good', async () => {
      const rows = Array.from({ length: 30 }, (_, i) => row(i + 1));
      const [input] = await upload(csv(rows), 1000);
      table.behaviour = (_requests, call) => {
        if (call === 1) {
          throw Object.assign(new Error('Item size has exceeded the maximum allowed size'), {
            name: 'ValidationException',
            $fault: 'client',
          });
        }
        return [];
      };
      const error = await loadChunk(input as LoadChunkInput, config, deps()).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({
        name: 'ChunkWriteError',
        message: `chunk 0 (line 2, bytes ${HEADER.length + 1}–${csv(rows).length - 1}) of s3://uploads/books.csv, rows on lines 27–31: BatchWriteItem on table books failed: ValidationException: Item size has exceeded the maximum allowed size`,
      });
    });

    it('waits for the calls in flight before it reports a failed one', async () => {
      const [input] = await upload(csv(Array.from({ length: 100 }, (_, i) => row(i + 1))), 1000);
      table.latency = () => new Promise((resolve) => setTimeout(resolve, 5));
      table.behaviour = (_requests, call) => {
        if (call === 0)
          throw Object.assign(new Error('bad'), { name: 'ValidationException', $fault: 'client' });
        return [];
      };
      await expect(loadChunk(input as LoadChunkInput, config, deps())).rejects.toMatchObject({
        name: 'ChunkWriteError',
        cause: { name: 'ValidationException' },
      });
      expect(table.inFlight).toBe(0);
    });
  });

  describe('reading', () => {
    it('throws ObjectChangedError when the object was overwritten after planning (412)', async () => {
      const [input] = await upload(csv([row(1)]), 10);
      objects.set('uploads/books.csv', { body: Buffer.from(csv([row(9)])), eTag: '"etag-2"' });
      const error = await loadChunk(input as LoadChunkInput, config, deps()).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({
        name: 'ObjectChangedError',
        message: expect.stringContaining(
          'overwritten after it was planned (its ETag is no longer "etag-1")',
        ),
      });
      expect(table.calls).toHaveLength(0);
    });

    it('throws ObjectChangedError when the object was deleted after planning', async () => {
      const [input] = await upload(csv([row(1)]), 10);
      objects.clear();
      await expect(loadChunk(input as LoadChunkInput, config, deps())).rejects.toMatchObject({
        name: 'ObjectChangedError',
        message: expect.stringContaining('deleted after it was planned'),
      });
    });

    it.each([
      ['SlowDown', 503],
      ['RequestTimeout', 400],
    ])('throws the retryable ChunkReadError when S3 answers %s (HTTP %i)', async (name, status) => {
      const [input] = await upload(csv([row(1)]), 10);
      s3.on(GetObjectCommand).rejects(s3Error(name, status));
      await expect(loadChunk(input as LoadChunkInput, config, deps())).rejects.toMatchObject({
        name: 'ChunkReadError',
        message: expect.stringContaining(name),
      });
    });

    it('throws the terminal ObjectAccessError naming the chunk when S3 refuses the read (403)', async () => {
      const [input] = await upload(csv([row(1)]), 10);
      s3.on(GetObjectCommand).rejects(s3Error('AccessDenied', 403));
      await expect(loadChunk(input as LoadChunkInput, config, deps())).rejects.toMatchObject({
        name: 'ObjectAccessError',
        message: expect.stringMatching(
          /^chunk 0 \(line 2, bytes \d+–\d+\) of s3:\/\/uploads\/books\.csv: S3 refused the Range GET \(HTTP 403, AccessDenied: AccessDenied \(403\)\); check that the loader's role may s3:GetObject it/,
        ),
      });
    });

    it('repeats a Range GET that S3 does not answer, and loads the chunk once S3 answers', async () => {
      const [input] = await upload(csv([row(1), row(2)]), 10);
      const refused = () =>
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' });
      serveBucket(s3, objects, { failFirstGets: [refused(), refused()] });
      const summary = await loadChunk(input as LoadChunkInput, config, deps());
      expect(summary).toMatchObject({ rows: 2, written: 2 });
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(3);
    });

    it('fails with the terminal ServiceUnreachableError naming S3 and the chunk when S3 does not answer the Range GET for the budget', async () => {
      const [input] = await upload(csv([row(1)]), 10);
      s3.on(GetObjectCommand).rejects(
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' }),
      );
      const clock = new VirtualClock(600_000);
      await expect(
        loadChunk(
          input as LoadChunkInput,
          { ...config, retry: { ...config.retry, unreachableBudgetMs: 5_000 } },
          deps(clock),
        ),
      ).rejects.toMatchObject({
        name: 'ServiceUnreachableError',
        message: expect.stringMatching(
          /^chunk 0 \(line 2, bytes \d+–\d+\) of s3:\/\/uploads\/books\.csv: the Range GET: S3 did not answer for \d+\.\d s \(\d+ attempt\(s\), ECONNREFUSED: Error: connect ECONNREFUSED 127\.0\.0\.1:4566\) and the budget for an unreachable service \(UNREACHABLE_BUDGET_MS=5000\) is spent/,
        ),
      });
      expect(table.items.size).toBe(0);
    });

    it('names a connection that broke while the body streamed as the retried ChunkReadError', async () => {
      const [input] = await upload(csv([row(1), row(2)]), 10);
      s3.on(GetObjectCommand).resolves({
        Body: Readable.from(
          (async function* () {
            yield Buffer.from(`${row(1)}\n`);
            throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
          })(),
        ) as never,
      });
      await expect(loadChunk(input as LoadChunkInput, config, deps())).rejects.toMatchObject({
        name: 'ChunkReadError',
        message: expect.stringMatching(
          /the connection to S3 broke while the byte range was read \(ECONNRESET: Error: read ECONNRESET\); the workflow retries the chunk/,
        ),
      });
    });

    it('throws ChunkReadError when the body stream breaks mid-chunk', async () => {
      const [input] = await upload(csv([row(1), row(2)]), 10);
      s3.on(GetObjectCommand).resolves({
        Body: Readable.from(
          (async function* () {
            yield Buffer.from(`${row(1)}\n`);
            throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          })(),
        ) as never,
      });
      await expect(loadChunk(input as LoadChunkInput, config, deps())).rejects.toMatchObject({
        name: 'ChunkReadError',
        message: expect.stringContaining('socket hang up'),
      });
    });
  });

  describe('plan mismatches (never retried)', () => {
    it('throws ChunkPlanMismatchError when the chunk holds fewer rows than planned', async () => {
      const [input] = await upload(csv([row(1), row(2)]), 10);
      const wrong = {
        ...(input as LoadChunkInput),
        chunk: { ...(input as LoadChunkInput).chunk, rows: 3 },
      };
      await expect(loadChunk(wrong, config, deps())).rejects.toMatchObject({
        name: 'ChunkPlanMismatchError',
        message: expect.stringContaining('holds 2 rows, the plan says 3'),
      });
    });

    it('throws ChunkPlanMismatchError naming the line when a row is invalid', async () => {
      const [input] = await upload(csv([row(1), '97800000000x2,T,A,,,']), 10);
      await expect(loadChunk(input as LoadChunkInput, config, deps())).rejects.toMatchObject({
        name: 'ChunkPlanMismatchError',
        message: expect.stringContaining(
          'line 3, column 1 (isbn), value "97800000000x2": not a number',
        ),
      });
    });

    it('throws ChunkPlanMismatchError when a key repeats and the plan does not skip it', async () => {
      const [input] = await upload(csv([row(1), row(1)]), 10);
      await expect(loadChunk(input as LoadChunkInput, config, deps())).rejects.toMatchObject({
        name: 'ChunkPlanMismatchError',
        message: expect.stringContaining('repeats at line 3'),
      });
    });

    it('throws ChunkPlanMismatchError when the planned header no longer fits the schema', async () => {
      const [input] = await upload(csv([row(1)]), 10);
      const wrong = { ...(input as LoadChunkInput), header: ['isbn', 'colour'] };
      await expect(loadChunk(wrong, config, deps())).rejects.toMatchObject({
        name: 'ChunkPlanMismatchError',
        message: expect.stringContaining('column 2 (colour)'),
      });
    });
  });
});

describe('backoffDelay', () => {
  it.each([
    [1, 1, 100],
    [2, 1, 200],
    [5, 1, 1_600],
    [6, 1, 2_000],
    [30, 1, 2_000],
    [3, 0, 0],
    [3, 0.25, 100],
  ])(
    'waits at most min(max, base × 2^(attempt-1)): attempt %i, random %d → %i ms',
    (attempt, random, expected) => {
      expect(backoffDelay(attempt, retry, () => (random === 1 ? 1 - Number.EPSILON : random))).toBe(
        random === 1 ? expected - 1 : expected,
      );
    },
  );
});

describe('isTransient', () => {
  it.each([
    ['ProvisionedThroughputExceededException', {}, true],
    ['ThrottlingException', {}, true],
    ['InternalServerError', { $fault: 'server' }, true],
    ['TimeoutError', {}, true],
    ['Error', { code: 'ECONNRESET' }, true],
    ['ValidationException', { $fault: 'client' }, false],
    ['ResourceNotFoundException', { $fault: 'client' }, false],
    // No response at all (the SDK attaches $metadata without an HTTP status): worth a retry.
    ['Error', { code: 'ECONNREFUSED', $metadata: { attempts: 3 } }, true],
    ['Error', { code: 'EAI_AGAIN', $metadata: { attempts: 3 } }, true],
    ['AccessDeniedException', { $fault: 'client', $metadata: { httpStatusCode: 400 } }, false],
    // A bug in our own code is not transient.
    ['TypeError', {}, false],
  ])('%s %j → %s', (name, extra, expected) => {
    expect(isTransient(Object.assign(new Error('x'), { name, ...extra }))).toBe(expected);
  });
});

/** Polls `condition` every few milliseconds; fails after `timeoutMs`. */
async function waitUntil(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
