import { PassThrough } from 'node:stream';
import type { ApiClient } from '../../local/cli/api-client.js';
import { generateCsv } from '../../local/generate-csv.js';
import type { LocalStack } from '../../local/stack.js';
import type { Execution } from '../../local/stepfunctions/executions.js';
import {
  dlqRecordsFor,
  expectedItems,
  keyOf,
  nextEvent,
  readThroughApi,
  scanAll,
  startTestStack,
  uploadAndWait,
  waitFor,
} from './helpers.js';

// Small chunks so one file spreads over several LoadChunk tasks.
const CHUNK_BYTES = 64 * 1024;
const ROWS = 4000;
const THROTTLED_CALLS = 8;
const PARTIAL_CALLS = 12;
// How long a chunk keeps retrying an unreachable DynamoDB (cdk.json unreachableBudgetSeconds).
const UNREACHABLE_BUDGET_SECONDS = 10;

let stack: LocalStack;
let api: ApiClient;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ stack, api, stop } = await startTestStack({
    context: {
      chunkTargetBytes: CHUNK_BYTES,
      maxRecordBytes: CHUNK_BYTES,
      unreachableBudgetSeconds: UNREACHABLE_BUDGET_SECONDS,
    },
    // On disk: a killed dynalite comes back with its data.
    inMemory: false,
    faults: {
      dynamodb: { throttle: THROTTLED_CALLS, partial: PARTIAL_CALLS },
      crashLoadChunkOnce: true,
    },
  }));
}, 60_000);

afterAll(async () => {
  await stop?.();
}, 30_000);

async function generated(rows: number, seed = 7): Promise<Buffer> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  await generateCsv({ rows, seed }, sink);
  sink.end();
  return Buffer.concat(chunks);
}

describe('local stack under faults', () => {
  it('writes every row exactly once despite throttling, UnprocessedItems and a crashed load-chunk', async () => {
    const csv = await generated(ROWS);
    const expected = expectedItems(csv, stack.config.dataset);
    expect(expected.size).toBe(ROWS);

    const execution = await uploadAndWait(stack, 'faults/generated.csv', csv, 120_000);

    expect(execution.status).toBe('SUCCEEDED');
    const chunks = execution.events.find((event) => event.type === 'MapStateStarted') as
      | { mapStateStartedEventDetails: { length: number } }
      | undefined;
    expect(chunks?.mapStateStartedEventDetails.length).toBeGreaterThan(1);
    // The faults really happened: the crash was retried by the workflow...
    const crashes = execution.events.filter(
      (event) =>
        event.type === 'TaskFailed' &&
        (event as { taskFailedEventDetails?: { error?: string } }).taskFailedEventDetails?.error ===
          'Sandbox.Timedout',
    );
    expect(crashes).toHaveLength(1);
    // ...and DynamoDB throttled and left items unprocessed as configured.
    expect(stack.faultCounters).toMatchObject({
      throttled: THROTTLED_CALLS,
      partial: PARTIAL_CALLS,
    });

    const stored = await scanAll(stack);
    expect(stored.size).toBe(ROWS);
    expect([...stored.keys()].sort()).toEqual([...expected.keys()].sort());
    expect(await readThroughApi(stack, api, [...expected.keys()])).toEqual(expected);
  }, 150_000);

  it('fails a file as ServiceUnreachableError within the budget when DynamoDB refuses connections mid-load', async () => {
    const key = 'faults/unreachable.csv';
    const csv = await generated(ROWS, 11);
    // The outage starts as the first chunk starts loading.
    const loading = nextEvent(
      stack,
      'the first LoadChunk to start',
      (execution, event) => keyOf(execution) === key && event.type === 'TaskStateEntered',
    ).then(async () => {
      await stack.dynamoDbFaults?.refuseConnections();
      return Date.now();
    });

    let execution: Execution;
    let outageFrom: number;
    try {
      execution = await uploadAndWait(stack, key, csv, 120_000);
      outageFrom = await loading;
    } finally {
      await stack.dynamoDbFaults?.acceptConnections();
    }

    expect(execution).toMatchObject({ status: 'FAILED', error: 'ServiceUnreachableError' });
    expect(execution.cause).toMatch(
      new RegExp(
        // Whichever call of a chunk ran out first: one of its writes, or its write lease.
        `^chunk \\d+ .* of s3://${stack.names.bucket}/${key}(, rows on lines \\d+–\\d+: DynamoDB did not answer BatchWriteItem on table ${stack.names.table}|, its write lease: DynamoDB did not answer (PutItem|UpdateItem|DeleteItem|Query) on table ${stack.names.controlTable}) for 1\\d\\.\\d s .*UNREACHABLE_BUDGET_MS=${UNREACHABLE_BUDGET_SECONDS * 1000}\\) is spent\\. Nothing answered, so this is not throttling`,
      ),
    );
    // Named for what it is: never the throttling error, never retried again by the workflow.
    const failures = execution.events.flatMap((event) =>
      event.type === 'TaskFailed'
        ? [(event as { taskFailedEventDetails?: { error?: string } }).taskFailedEventDetails?.error]
        : [],
    );
    expect(failures.length).toBeGreaterThan(0);
    expect(new Set(failures)).toEqual(new Set(['ServiceUnreachableError']));
    // Within the budget (and far from the half hour it took before), whatever the load.
    expect((execution.stopDate?.getTime() ?? 0) - outageFrom).toBeLessThan(
      UNREACHABLE_BUDGET_SECONDS * 1000 * 6,
    );
    const [record] = await waitFor('the failure record', async () => {
      const records = await dlqRecordsFor(stack, key);
      return records.length > 0 ? records : undefined;
    });
    expect(record?.failure).toMatchObject({
      error: 'ServiceUnreachableError',
      state: 'LoadChunk',
      cause: execution.cause,
    });
  }, 150_000);

  it('loads every row exactly once when dynalite is killed mid-load: it is restarted on its data and the chunks retry', async () => {
    const key = 'faults/dynalite-killed.csv';
    const rows = 20_000;
    // Keys of their own (978-1…): the failed file above may still have loaders finishing
    // their retries, as in AWS, and their rows must not be mistaken for these.
    const csv = Buffer.from(
      (await generated(rows, 13)).toString('utf8').replace(/^978000/gm, '978100'),
    );
    const expected = expectedItems(csv, stack.config.dataset);
    const restartsBefore = stack.emulators.dynamodb.restarts;
    // Killed once the first chunk is in: the others are loading or waiting.
    const killed = nextEvent(
      stack,
      'the first chunk to succeed',
      (execution, event) => keyOf(execution) === key && event.type === 'MapIterationSucceeded',
    ).then(() => {
      process.kill(stack.emulators.dynamodb.pid ?? 0, 'SIGKILL');
    });

    const execution = await uploadAndWait(stack, key, csv, 240_000);
    await killed;

    expect(stack.emulators.dynamodb.restarts).toBe(restartsBefore + 1);
    expect(execution.status).toBe('SUCCEEDED');
    const chunks = execution.events.find((event) => event.type === 'MapStateStarted') as
      | { mapStateStartedEventDetails: { length: number } }
      | undefined;
    const done = execution.events.filter((event) => event.type === 'MapIterationSucceeded');
    expect(done).toHaveLength(chunks?.mapStateStartedEventDetails.length ?? -1);
    expect(done.length).toBeGreaterThan(10);
    const stored = [...(await scanAll(stack)).keys()].filter((isbn) => isbn.startsWith('978100'));
    expect(stored.sort()).toEqual([...expected.keys()].sort());
    expect(expected.size).toBe(rows);
    const sample = [...expected.keys()].filter((_, index) => index % 50 === 0);
    const read = await readThroughApi(stack, api, sample);
    expect(read).toEqual(new Map(sample.map((isbn) => [isbn, expected.get(isbn)])));
  }, 300_000);
});
