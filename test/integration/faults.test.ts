import { PassThrough } from 'node:stream';
import type { ApiClient } from '../../local/cli/api-client.js';
import { generateCsv } from '../../local/generate-csv.js';
import type { LocalStack } from '../../local/stack.js';
import {
  expectedItems,
  readThroughApi,
  scanAll,
  startTestStack,
  uploadAndWait,
} from './helpers.js';

// Small chunks so one file spreads over several LoadChunk tasks.
const CHUNK_BYTES = 64 * 1024;
const ROWS = 4000;
const THROTTLED_CALLS = 8;
const PARTIAL_CALLS = 12;

let stack: LocalStack;
let api: ApiClient;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ stack, api, stop } = await startTestStack({
    context: { chunkTargetBytes: CHUNK_BYTES, maxRecordBytes: CHUNK_BYTES },
    faults: {
      dynamodb: { throttle: THROTTLED_CALLS, partial: PARTIAL_CALLS },
      crashLoadChunkOnce: true,
    },
  }));
}, 60_000);

afterAll(async () => {
  await stop?.();
}, 30_000);

async function generated(rows: number): Promise<Buffer> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  await generateCsv({ rows, seed: 7 }, sink);
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
});
