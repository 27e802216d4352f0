import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, NumberValue, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { ChunkProgress } from '../../handlers/load-chunk/progress.js';
import { chunkAttribute, progressKey, rowsByChunk } from '../../handlers/shared/load-progress.js';
import type { UploadStamp } from '../../handlers/shared/upload-order.js';
import { type IngestProgress, rowsSoFar } from '../../local/cli/progress.js';

const upload: UploadStamp = {
  uploadedAt: '2026-12-02T04:00:00.000Z',
  key: 'incoming/books.csv',
  sequencer: '0055AED6DCD90281E5'.padEnd(32, '0'),
  version: 'etag-1',
};

const dynamo = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));

beforeEach(() => dynamo.reset());

/** A progress reporter on a clock the test moves, every interval 1,000 ms. */
function reporter(intervalMs = 1000) {
  let time = 0;
  const progress = new ChunkProgress(
    { client, tableName: 'control', intervalMs },
    upload,
    3,
    () => time,
  );
  return { progress, advance: (ms: number) => (time += ms) };
}

function reportedCounts(): unknown[] {
  return dynamo
    .commandCalls(UpdateCommand)
    .map((call) => call.args[0].input.ExpressionAttributeValues?.[':rows']);
}

describe('ChunkProgress', () => {
  it('reports the rows written at most once per interval, and the final count on close', async () => {
    dynamo.on(UpdateCommand).resolves({});
    const { progress, advance } = reporter();
    progress.add(25); // before the interval: nothing sent
    advance(1000);
    progress.add(25); // interval passed: 50 sent
    await Promise.resolve();
    advance(400);
    progress.add(25); // too soon
    expect(await progress.close()).toEqual({ failedReports: 0 });
    expect(reportedCounts()).toEqual([50, 75]);
    const [first] = dynamo.commandCalls(UpdateCommand);
    expect(first?.args[0].input).toMatchObject({
      TableName: 'control',
      Key: progressKey(upload),
      ExpressionAttributeNames: { '#chunk': 'chunk3' },
    });
  });

  it('never sends a second report while one is in flight', async () => {
    const { promise: answered, resolve: answer } = Promise.withResolvers<object>();
    dynamo.on(UpdateCommand).callsFake(() => answered);
    const { progress, advance } = reporter();
    advance(1000);
    progress.add(25);
    advance(5000);
    progress.add(25); // the first report has not been answered yet
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(1);
    answer({});
    await progress.close();
    expect(reportedCounts()).toEqual([25, 50]);
  });

  it('counts a failed report without throwing it, and the load goes on', async () => {
    const error = Object.assign(new Error('throttled'), {
      name: 'ProvisionedThroughputExceededException',
    });
    dynamo.on(UpdateCommand).rejects(error);
    const { progress, advance } = reporter();
    advance(1000);
    progress.add(25);
    advance(1000);
    await Promise.resolve();
    progress.add(25);
    expect(await progress.close()).toEqual({ failedReports: 2, lastError: error });
  });

  it('sends nothing when reporting is off (interval 0) or nothing was written', async () => {
    dynamo.on(UpdateCommand).resolves({});
    const off = reporter(0);
    off.advance(10_000);
    off.progress.add(25);
    await off.progress.close();
    const idle = reporter();
    await idle.progress.close();
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(0);
  });
});

describe('the progress item', () => {
  it('has one key per file version, different for another version, key or upload', () => {
    const keys = new Set(
      [
        upload,
        { ...upload, version: 'etag-2' },
        { ...upload, key: 'incoming/other.csv' },
        { ...upload, sequencer: '0055AED6DCD90281E6'.padEnd(32, '0') },
        { ...upload, uploadedAt: '2026-12-02T04:00:00.001Z' },
      ].map((stamp) => progressKey(stamp).pk),
    );
    expect(keys.size).toBe(5);
    expect(progressKey(upload)).toEqual(progressKey({ ...upload }));
    expect(progressKey(upload).pk).toMatch(/^progress#[0-9a-f]{32}$/);
  });

  it('reads the rows of every chunk attribute and ignores the others', () => {
    expect(
      rowsByChunk({
        pk: 'progress#x',
        sk: 'rows',
        key: 'incoming/books.csv',
        expiresAt: 1_790_000_000,
        [chunkAttribute(0)]: 1200,
        [chunkAttribute(12)]: NumberValue.from('75'), // a wrapped number reads the same
        chunkX: 5,
      }),
    ).toEqual(
      new Map([
        [0, 1200],
        [12, 75],
      ]),
    );
    expect(rowsByChunk(undefined)).toEqual(new Map());
  });
});

describe('rowsSoFar', () => {
  const history = (writtenByChunk: Array<[number, number]>): IngestProgress => ({
    chunksDone: writtenByChunk.length,
    rowsWritten: writtenByChunk.reduce((sum, [, rows]) => sum + rows, 0),
    writtenByChunk: new Map(writtenByChunk),
    taskFailures: 0,
  });

  it("adds the loading chunks' reports to the finished chunks' summaries", () => {
    expect(
      rowsSoFar(
        history([[0, 1000]]),
        new Map([
          [0, 900], // finished: its summary counts, not its last report
          [1, 400],
          [2, 250],
        ]),
      ),
    ).toBe(1650);
  });

  it('is the history alone without reports', () => {
    expect(rowsSoFar(history([[0, 1000]]))).toBe(1000);
  });
});
