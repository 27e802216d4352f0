import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, type GetObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { mockClient } from 'aws-sdk-client-mock';
import { isSqsSafe } from '../../handlers/failure-record/record.js';
import type {
  ExecutionInput,
  FailureRecord,
  FilePlan,
  LoadChunkInput,
} from '../../handlers/shared/contracts.js';
import { executionInputFor } from '../../handlers/start-ingestion/start.js';
import { writeItemsThroughSdk } from '../support/sdk-item-writes.js';
import { loadDefinition, SAMPLE_SUBSTITUTIONS } from '../support/workflow-definition.js';
import {
  DATASET_JSON,
  FakeTable,
  piecewise,
  type StoredObject,
  s3Error,
  s3Record,
  serveBucket,
} from '../support/workflow-fakes.js';

/** One entry of the execution's event log (the package does not export the type). */
type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer Event> ? Event : never;

/**
 * Runs the real statemachines/ingest-file.asl.json with aws-local-stepfunctions,
 * its Task states bound to the real plan-file and load-chunk handlers over mocked
 * S3 and DynamoDB clients, and SendToDeadLetterQueue bound to a recorder.
 */

// Handlers read their configuration once, at import: set it first.
Object.assign(process.env, {
  DATASET: DATASET_JSON,
  TABLE_NAME: 'books',
  CONTROL_TABLE_NAME: 'control',
  WRITE_CONCURRENCY: '2',
  CHUNK_TARGET_BYTES: '1024',
  MAX_RECORD_BYTES: '1024',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
});
// Items go through the SDK's low-level client: the mocked DynamoDBClient below answers
// them as the fake table.
await writeItemsThroughSdk();
const planFile = await import('../../handlers/plan-file/index.js');
const loadChunkHandler = await import('../../handlers/load-chunk/index.js');
const failureRecord = await import('../../handlers/failure-record/index.js');

const s3 = mockClient(S3Client);
const dynamo = mockClient(DynamoDBDocumentClient);
// The loader's item writes (see above), through the SDK's low-level client.
const writer = mockClient(DynamoDBClient);

const BUCKET = 'uploads';
const EXECUTION_ARN = 'arn:aws:states:eu-west-1:123456789012:execution:ingest-file:books-csv-0123';

const lambdaContext = {
  functionName: 'test',
  awsRequestId: 'req',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

let table: FakeTable;
let objects: Map<string, StoredObject>;
let gets: GetObjectCommandInput[];
let deadLetters: { QueueUrl: string; MessageBody: string }[];
/** What the dead-letter queue does with a message: SQS refuses characters outside its set. */
let queueAccepts: (body: string) => void;

beforeEach(() => {
  s3.reset();
  dynamo.reset();
  writer.reset();
  objects = new Map();
  gets = serveBucket(s3, objects, { pieceBytes: 64 });
  table = new FakeTable('books', 'isbn');
  table.attach(dynamo, undefined, writer);
  deadLetters = [];
  queueAccepts = (body) => {
    if (!isSqsSafe(body)) {
      throw Object.assign(new Error('Invalid characters found.'), {
        name: 'SQS.InvalidMessageContents',
      });
    }
  };
});

function sample(name: string): Buffer {
  return readFileSync(new URL(`../../sample-files/${name}`, import.meta.url));
}

/** Stores a file and returns the execution input start-ingestion would send for it. */
function upload(key: string, body: Buffer): ExecutionInput {
  const eTag = `"etag-${key}"`;
  objects.set(`${BUCKET}/${key}`, { body, eTag });
  const record = s3Record({
    bucket: BUCKET,
    // S3 form-encodes keys in notifications: '/' stays, a space becomes '+'.
    key: encodeURIComponent(key).replaceAll('%2F', '/').replaceAll('%20', '+'),
    size: body.length,
    eTag: eTag.replaceAll('"', ''),
  });
  return executionInputFor(record);
}

interface Run {
  result: Promise<unknown>;
  events: EventLog[];
  plans: FilePlan[];
}

/** Runs the workflow as Step Functions would, with the real handlers bound by state name. */
function run(input: ExecutionInput, loadChunk = loadChunkHandler.handler): Run {
  const machine = new StateMachine(loadDefinition() as never, {
    validationOptions: { checkArn: true, checkPaths: true },
  });
  const plans: FilePlan[] = [];
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: {
        PlanFile: async (event) => {
          const plan = await planFile.handler(event, lambdaContext);
          plans.push(plan);
          return plan as never;
        },
        LoadChunk: async (event) =>
          (await loadChunk(event as unknown as LoadChunkInput, lambdaContext)) as never,
        BuildFailureRecord: async (event) =>
          (await failureRecord.handler(event, lambdaContext)) as never,
        // The sqs:sendMessage integration sends a string MessageBody as it is.
        SendToDeadLetterQueue: async (event) => {
          const { QueueUrl, MessageBody } = event as { QueueUrl: string; MessageBody: string };
          queueAccepts(MessageBody);
          deadLetters.push({ QueueUrl, MessageBody });
          return { MessageId: `m-${deadLetters.length}` };
        },
      },
      retryIntervalOverrides: {
        PlanFile: 0,
        LoadChunk: 0,
        BuildFailureRecord: 0,
        SendToDeadLetterQueue: 0,
      },
    },
    context: {
      Execution: { Id: EXECUTION_ARN, Name: 'books-csv-0123' },
      // aws-local-stepfunctions has no per-state context: a getter gives "now".
      State: {
        get EnteredTime() {
          return new Date().toISOString();
        },
      },
    },
  });
  const events: EventLog[] = [];
  const collected = (async () => {
    for await (const event of execution.eventLogs) events.push(event);
  })();
  return {
    result: execution.result.finally(() => collected),
    events,
    plans,
  };
}

function statesEntered(events: readonly EventLog[]): string[] {
  return events.flatMap((event) => (event.type === 'StateEntered' ? [event.state.name] : []));
}

describe('ingest-file workflow (real ASL, real handlers, mocked AWS)', () => {
  it('loads sample-files/books.csv in several chunks and succeeds with the right counts', async () => {
    const body = sample('books.csv');
    const execution = run(upload('incoming/books.csv', body));
    const output = await execution.result;

    const [plan] = execution.plans;
    expect(plan?.chunks.length).toBeGreaterThan(3);
    expect(output).toEqual({
      dataset: 'books',
      bucket: BUCKET,
      key: 'incoming/books.csv',
      eTag: '"etag-incoming/books.csv"',
      format: 'csv',
      rows: plan?.totalRows,
      duplicateRows: plan?.duplicateRows,
      written: (plan?.totalRows ?? 0) - (plan?.duplicateRows ?? 0),
      chunks: plan?.chunks.length,
      chunkBytes: plan?.chunkBytes,
      startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      finishedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    // Every data line of the file is one item (books.csv has no duplicate keys).
    expect(plan?.duplicateRows).toBe(0);
    expect(table.items.size).toBe(plan?.totalRows);
    expect(table.items.size).toBeGreaterThanOrEqual(90);
    // The loaders read exactly the planned ranges, which tile the file after the header.
    const ranges = gets.filter((get) => get.Range !== undefined).map((get) => get.Range);
    expect(ranges.sort()).toEqual(
      plan?.chunks.map((chunk) => `bytes=${chunk.start}-${chunk.end - 1}`).sort(),
    );
    expect(deadLetters).toEqual([]);
    expect(statesEntered(execution.events)).toEqual(
      expect.arrayContaining(['Configure', 'PlanFile', 'LoadChunks', 'Summarize', 'Succeeded']),
    );
    // Each LoadChunk keeps only its index and written count of the ChunkSummary (the
    // whole summary stays in the task's history event): the Map's result array stays small.
    const summaries = execution.events.flatMap((event) =>
      event.type === 'StateExited' && event.state.name === 'LoadChunk' ? [event.state.output] : [],
    );
    expect(summaries).toHaveLength(plan?.chunks.length ?? -1);
    for (const summary of summaries) {
      expect(Object.keys(summary ?? {}).sort()).toEqual(['index', 'superseded', 'written']);
    }
  });

  it('keeps the last occurrence of a key that repeats in a later chunk', async () => {
    const books = sample('books.csv').toString('utf8');
    const [header = '', firstRow = ''] = books.split('\n');
    const changed = firstRow.replace('Pride and Prejudice', 'Pride and Prejudice (2nd ed.)');
    const file = Buffer.from(`${books}${changed}\n`);
    const execution = run(upload('incoming/books-with-update.csv', file));
    const output = (await execution.result) as { rows: number; written: number };

    expect(header.startsWith('isbn,')).toBe(true);
    expect(output).toMatchObject({ duplicateRows: 1, written: output.rows - 1 });
    expect(table.items.size).toBe(output.written);
    expect(table.items.get('9781400000005')?.title).toBe('Pride and Prejudice (2nd ed.)');
  });

  it('sends the documented failure record to the DLQ and fails with the same error for a bad file', async () => {
    const input = upload('incoming/bad key.csv', sample('bad-key-not-a-number.csv'));
    const execution = run(input);
    const error = await execution.result.catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ExecutionError);
    const cause = (error as ExecutionError).cause as Error;
    expect(cause.name).toBe('InvalidFileError');
    expect(deadLetters).toHaveLength(1);
    const [letter] = deadLetters;
    expect(letter?.QueueUrl).toBe(SAMPLE_SUBSTITUTIONS.DeadLetterQueueUrl);
    const record = JSON.parse(letter?.MessageBody ?? '{}') as FailureRecord;
    expect(record).toEqual({
      Records: input.Records,
      // The redrive keeps the failed execution's place in the upload order.
      upload: input.upload,
      failure: {
        error: 'InvalidFileError',
        cause: cause.message,
        executionArn: EXECUTION_ARN,
        state: 'PlanFile',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/),
      },
    });
    expect(record.failure.cause).toMatch(/line \d+, column 1 \(isbn\)/);
    // A file that fails validation writes nothing.
    expect(table.calls).toHaveLength(0);
    expect(statesEntered(execution.events)).toEqual(
      expect.arrayContaining([
        'PlanFileFailed',
        'BuildFailureRecord',
        'SendToDeadLetterQueue',
        'Failed',
      ]),
    );
    expect(statesEntered(execution.events)).not.toContain('LoadChunks');
  });

  it('re-runs a chunk that fails twice with a retryable error, then succeeds', async () => {
    const body = sample('books.csv');
    const input = upload('incoming/books.csv', body);
    let failuresLeft = 2;
    let flakyRange: string | undefined;
    // The second chunk's Range GET fails twice with a 503 (ChunkReadError), then works.
    s3.on(GetObjectCommand).callsFake((get: GetObjectCommandInput) => {
      const object = objects.get(`${get.Bucket}/${get.Key}`);
      if (!object) throw s3Error('NoSuchKey', 404);
      if (get.Range !== undefined) {
        flakyRange ??= execution.plans[0]?.chunks[1]
          ? `bytes=${execution.plans[0].chunks[1].start}-${execution.plans[0].chunks[1].end - 1}`
          : undefined;
        if (get.Range === flakyRange && failuresLeft > 0) {
          failuresLeft--;
          throw s3Error('ServiceUnavailable', 503);
        }
        const [, from = '0', to = '0'] = /^bytes=(\d+)-(\d+)$/.exec(get.Range) ?? [];
        return { Body: piecewise(object.body.subarray(Number(from), Number(to) + 1), 64) as never };
      }
      return { Body: piecewise(object.body, 64) as never };
    });
    const execution = run(input);
    const output = (await execution.result) as { written: number };

    expect(failuresLeft).toBe(0);
    const retried = execution.events.filter(
      (event) => event.type === 'StateRetried' && event.state.name === 'LoadChunk',
    );
    expect(retried).toHaveLength(2);
    const failed = execution.events.filter(
      (event): event is Extract<EventLog, { type: 'StateFailed' }> =>
        event.type === 'StateFailed' && event.state.name === 'LoadChunk',
    );
    expect(failed.map((event) => event.Error)).toEqual(['ChunkReadError', 'ChunkReadError']);
    expect(output.written).toBe(table.items.size);
    expect(deadLetters).toEqual([]);
  });

  it('gives up on a chunk after its retries and sends the failure record naming LoadChunk', async () => {
    const input = upload('incoming/books.csv', sample('books.csv'));
    const execution = run(input, async (event) => {
      // The file is overwritten after planning: the Range GET's IfMatch fails.
      objects.set(`${BUCKET}/incoming/books.csv`, { body: Buffer.from('x'), eTag: '"other"' });
      return loadChunkHandler.handler(event, lambdaContext);
    });
    const error = await execution.result.catch((e: unknown) => e);

    expect(((error as ExecutionError).cause as Error).name).toBe('ObjectChangedError');
    const record = JSON.parse(deadLetters[0]?.MessageBody ?? '{}') as FailureRecord;
    expect(record.failure).toMatchObject({
      error: 'ObjectChangedError',
      state: 'LoadChunk',
      cause: expect.stringContaining('overwritten after it was planned'),
    });
    expect(record.Records).toEqual(input.Records);
    // ObjectChangedError is terminal: not retried.
    expect(execution.events.some((event) => event.type === 'StateRetried')).toBe(false);
  });

  it('delivers the failure record of a file with U+FFFF in a cell and an emoji in its key', async () => {
    const key = 'incoming/📚 books.csv';
    // A key cell holding U+FFFF: the cause quotes it.
    const [header = ''] = sample('books.csv').toString('utf8').split('\n');
    const input = upload(
      key,
      Buffer.from(`${header}\n97801\uFFFF,Title,Author,1999,en,1,1.00,,\n`),
    );
    const execution = run(input);
    const error = await execution.result.catch((e: unknown) => e);

    expect(((error as ExecutionError).cause as Error).name).toBe('InvalidFileError');
    expect(deadLetters).toHaveLength(1);
    const text = deadLetters[0]?.MessageBody ?? '';
    expect(isSqsSafe(text)).toBe(true);
    const record = JSON.parse(text) as FailureRecord;
    expect(record.Records).toEqual(input.Records);
    expect(record.failure.cause).toContain(`s3://${BUCKET}/${key} is invalid`);
    expect(record.failure.cause).toContain('\uFFFF');
    // The execution fails with the same plain cause as the record.
    expect(((error as ExecutionError).cause as Error).message).toBe(record.failure.cause);
  });

  it('fails with FailureRecordLostError naming the file when the DLQ refuses the record', async () => {
    queueAccepts = () => {
      throw Object.assign(new Error('The specified queue does not exist.'), {
        name: 'SQS.QueueDoesNotExistException',
      });
    };
    const execution = run(upload('incoming/bad.csv', sample('bad-header.csv')));
    const error = await execution.result.catch((e: unknown) => e);

    const cause = (error as ExecutionError).cause as Error;
    expect(cause.name).toBe('FailureRecordLostError');
    expect(cause.message).toMatch(
      /^The failure record of s3:\/\/uploads\/incoming\/bad\.csv \(InvalidFileError in PlanFile\) did not reach the dead-letter queue \(.*SQS\.QueueDoesNotExistException.*The specified queue does not exist/,
    );
    expect(deadLetters).toEqual([]);
    // Retried first: a lost record is the last resort.
    const sends = execution.events.filter(
      (event) => event.type === 'StateFailed' && event.state.name === 'SendToDeadLetterQueue',
    );
    expect(sends.length).toBeGreaterThan(1);
    expect(statesEntered(execution.events)).toEqual(
      expect.arrayContaining(['FailureRecordLost', 'FailedWithoutRecord']),
    );
  });
});
