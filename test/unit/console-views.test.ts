import { fileURLToPath } from 'node:url';
import { buildFailureRecord } from '../../handlers/failure-record/record.js';
import type { ChunkSummary } from '../../handlers/shared/contracts.js';
import { executionInputFor } from '../../handlers/start-ingestion/start.js';
import type { StateStatus } from '../../local/console/model.js';
import { detail, type ExecutionLike, statesOf, summarize } from '../../local/console/views.js';
import { prepareDefinition } from '../../local/stepfunctions/definition.js';
import { type Execution, ExecutionService } from '../../local/stepfunctions/executions.js';
import { TaskError, type TaskHandler } from '../../local/stepfunctions/tasks.js';
import { ASL_PATH, SAMPLE_SUBSTITUTIONS } from '../support/workflow-definition.js';
import { s3Record } from '../support/workflow-fakes.js';

// The console's views of an execution, from real histories: the ASL file runs in
// ExecutionService (as in the local stack) with in-process task handlers, and
// BuildFailureRecord with the real record builder.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const PLAN_OBJECT = { bucket: 'uploads', key: 'books.csv', eTag: '"abc"', size: 3000 };

function plan(chunks: number, duplicateRows = 0): Json {
  return {
    dataset: 'books',
    object: PLAN_OBJECT,
    format: 'csv',
    header: ['isbn', 'title'],
    chunks: Array.from({ length: chunks }, (_, index) => ({
      index,
      start: 100 + index * 1000,
      end: 1100 + index * 1000,
      firstLine: 2 + index * 10,
      rows: 10,
      skip: [],
    })),
    totalRows: chunks * 10,
    duplicateRows,
    chunkBytes: 1000,
  };
}

// The input the starter sends for an upload of uploads/books.csv (file, upload stamp, Records).
const INPUT = JSON.stringify(executionInputFor(s3Record({ key: 'books.csv', size: 3000 })));

async function service(tasks: Record<string, TaskHandler>): Promise<ExecutionService> {
  const prepared = await prepareDefinition(fileURLToPath(ASL_PATH), SAMPLE_SUBSTITUTIONS);
  return new ExecutionService(
    {
      name: 'ingest',
      arn: 'arn:aws:states:us-east-1:000000000000:stateMachine:ingest',
      roleArn: 'arn:aws:iam::000000000000:role/ingest',
      region: 'us-east-1',
      account: '000000000000',
      createdAt: new Date(),
    },
    prepared,
    tasks,
  );
}

let definition: Record<string, unknown>;
beforeAll(async () => {
  const prepared = await prepareDefinition(fileURLToPath(ASL_PATH), SAMPLE_SUBSTITUTIONS);
  definition = JSON.parse(prepared.text) as Record<string, unknown>;
});

async function run(
  tasks: Record<string, TaskHandler>,
  input = INPUT,
): Promise<{ execution: Execution; machine: ExecutionService }> {
  const machine = await service(tasks);
  const execution = machine.start(machine.info.arn, 'books-csv-1', input);
  await execution.done;
  return { execution, machine };
}

const loadChunk: TaskHandler = async (input) => {
  const chunk = (input as { chunk: { index: number; rows: number } }).chunk;
  const summary: ChunkSummary = {
    index: chunk.index,
    rows: chunk.rows,
    written: chunk.rows,
    superseded: 0,
    skipped: 0,
    mode: 'batch',
    durationMs: 1,
  };
  return { ...summary };
};
/** BuildFailureRecord: the real record builder (what handlers/failure-record runs). */
const buildRecord: TaskHandler = async (input) =>
  JSON.parse(JSON.stringify(buildFailureRecord(input))) as Json;
/** Message bodies the sqs:sendMessage task was given, in order. */
let sentBodies: string[] = [];
beforeEach(() => {
  sentBodies = [];
});
const sentToDlq: TaskHandler = async (input) => {
  sentBodies.push((input as { MessageBody: string }).MessageBody);
  return { MessageId: `m-${sentBodies.length}` };
};

/** A deferred result, to look at an execution while a task is still running. */
function deferred<T>() {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

const ALL_NOT_STARTED = (): Record<string, StateStatus> =>
  Object.fromEntries([...statesOf(definition).keys()].map((name) => [name, 'NOT_STARTED']));

describe('console views: state statuses', () => {
  it('returns SUCCEEDED for the states a successful run went through and NOT_STARTED for the failure branch', async () => {
    const { execution } = await run({
      PlanFile: async () => plan(2),
      LoadChunk: loadChunk,
      BuildFailureRecord: buildRecord,
      SendToDeadLetterQueue: sentToDlq,
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(detail(execution, definition).states).toEqual({
      ...ALL_NOT_STARTED(),
      Configure: 'SUCCEEDED',
      PlanFile: 'SUCCEEDED',
      LoadChunks: 'SUCCEEDED',
      LoadChunk: 'SUCCEEDED',
      Summarize: 'SUCCEEDED',
      Succeeded: 'SUCCEEDED',
    });
  });

  it('returns CAUGHT for a state whose Catch took over, FAILED for the Fail state, and the failure record as sent', async () => {
    const message =
      's3://uploads/books.csv is invalid, nothing was written: 1 error\n  line 3: bad';
    // A Lambda error reaches Step Functions as its error payload.
    const cause = JSON.stringify({ errorType: 'InvalidFileError', errorMessage: message });
    const { execution } = await run({
      PlanFile: async () => {
        throw new TaskError('InvalidFileError', cause);
      },
      LoadChunk: loadChunk,
      BuildFailureRecord: buildRecord,
      SendToDeadLetterQueue: sentToDlq,
    });
    const view = detail(execution, definition);
    expect(view.states).toEqual({
      ...ALL_NOT_STARTED(),
      Configure: 'SUCCEEDED',
      PlanFile: 'CAUGHT',
      PlanFileFailed: 'SUCCEEDED',
      BuildFailureRecord: 'SUCCEEDED',
      SendToDeadLetterQueue: 'SUCCEEDED',
      Failed: 'FAILED',
    });
    // The record BuildFailureRecord made (plain cause) is the one the DLQ got.
    expect(sentBodies).toHaveLength(1);
    const sent = JSON.parse(sentBodies[0] ?? '') as { failure: unknown; upload: unknown };
    expect(view.failure).toEqual({
      failure: sent.failure,
      readableCause: message,
      sentToDlq: true,
    });
    expect(view.failure?.failure).toMatchObject({
      error: 'InvalidFileError',
      cause: message,
      state: 'PlanFile',
      executionArn: execution.executionArn,
    });
    expect(sent.upload).toEqual((JSON.parse(INPUT) as { upload: unknown }).upload);
    expect(view.error).toBe('InvalidFileError');
    expect(view.cause).toBe(message);
    expect(view.errorMessage).toBe('line 3: bad');
  });

  it('returns CAUGHT for BuildFailureRecord, FAILED for FailedWithoutRecord and the record not sent when it cannot be built', async () => {
    const { execution } = await run({
      PlanFile: async () => {
        throw new TaskError('InvalidFileError', 'line 3: bad');
      },
      LoadChunk: loadChunk,
      BuildFailureRecord: async () => {
        throw new TaskError('InvalidTaskInputError', 'The failure record would be too large');
      },
      SendToDeadLetterQueue: sentToDlq,
    });
    const view = detail(execution, definition);
    expect(view.states).toEqual({
      ...ALL_NOT_STARTED(),
      Configure: 'SUCCEEDED',
      PlanFile: 'CAUGHT',
      PlanFileFailed: 'SUCCEEDED',
      BuildFailureRecord: 'CAUGHT',
      FailureRecordLost: 'SUCCEEDED',
      FailedWithoutRecord: 'FAILED',
    });
    expect(sentBodies).toEqual([]);
    expect(view.failure).toEqual({
      failure: expect.objectContaining({ error: 'InvalidFileError', state: 'PlanFile' }),
      readableCause: 'line 3: bad',
      sentToDlq: false,
    });
    expect(view.error).toBe('FailureRecordLostError');
    expect(view.cause).toContain('did not reach the dead-letter queue');
  });

  it('returns IN_PROGRESS for the running state and SUCCEEDED for the ones before it', async () => {
    const planned = deferred<Json>();
    const machine = await service({
      PlanFile: () => planned.promise,
      LoadChunk: loadChunk,
      BuildFailureRecord: buildRecord,
      SendToDeadLetterQueue: sentToDlq,
    });
    const entered = deferred<void>();
    machine.onEvent((_execution, event) => {
      if (event.type === 'TaskStateEntered') entered.resolve();
    });
    const execution = machine.start(machine.info.arn, 'running', INPUT);
    await entered.promise;
    const view = detail(execution, definition);
    expect(view.status).toBe('RUNNING');
    expect(view.states).toEqual({
      ...ALL_NOT_STARTED(),
      Configure: 'SUCCEEDED',
      PlanFile: 'IN_PROGRESS',
    });
    expect(view.map).toBeUndefined();
    planned.resolve(plan(1));
    await execution.done;
  });

  it('returns ABORTED for the state an aborted execution was in', async () => {
    const hold = deferred<Json>();
    const machine = await service({
      PlanFile: () => hold.promise,
      LoadChunk: loadChunk,
      BuildFailureRecord: buildRecord,
      SendToDeadLetterQueue: sentToDlq,
    });
    const entered = deferred<void>();
    machine.onEvent((_execution, event) => {
      if (event.type === 'TaskStateEntered') entered.resolve();
    });
    const execution = machine.start(machine.info.arn, 'aborted', INPUT);
    await entered.promise;
    execution.abort();
    await execution.done;
    expect(execution.status).toBe('ABORTED');
    expect(detail(execution, definition).states.PlanFile).toBe('ABORTED');
    // Settle the task, so the runner drops its timeout timer.
    hold.resolve(plan(1));
  });
});

describe('console views: the Map', () => {
  it('counts chunks done and running while the Map runs, with each chunk and its summary', async () => {
    const releases = [deferred<void>(), deferred<void>(), deferred<void>()];
    const machine = await service({
      PlanFile: async () => plan(3),
      LoadChunk: async (input) => {
        const index = (input as { chunk: { index: number } }).chunk.index;
        await releases[index]?.promise;
        return loadChunk(input);
      },
      BuildFailureRecord: buildRecord,
      SendToDeadLetterQueue: sentToDlq,
    });
    const firstDone = deferred<void>();
    machine.onEvent((_execution, event) => {
      if (event.type === 'MapIterationSucceeded') firstDone.resolve();
    });
    const execution = machine.start(machine.info.arn, 'map', INPUT);
    releases[1]?.resolve();
    await firstDone.promise;

    const running = detail(execution, definition);
    expect(running.map).toEqual({
      state: 'LoadChunks',
      total: 3,
      done: 1,
      running: 2,
      failed: 0,
      retried: 0,
    });
    expect(running.states.LoadChunks).toBe('IN_PROGRESS');
    expect(running.states.LoadChunk).toBe('IN_PROGRESS');
    expect(running.chunks.map((chunk) => chunk.status)).toEqual([
      'IN_PROGRESS',
      'SUCCEEDED',
      'IN_PROGRESS',
    ]);
    expect(running.chunks[1]).toEqual({
      index: 1,
      status: 'SUCCEEDED',
      item: { index: 1, start: 1100, end: 2100, firstLine: 12, rows: 10, skip: [] },
      // The chunk summary as the LoadChunk state's ResultSelector keeps it.
      summary: { index: 1, written: 10, superseded: 0 },
    });
    expect(summarize(execution)).toMatchObject({
      status: 'RUNNING',
      rowsWritten: 10,
      rowsTotal: 30,
      chunksDone: 1,
      chunksTotal: 3,
    });
    // With what the loading chunks have reported (chunk 1's report is replaced by its
    // summary): the rows move within a chunk, not only when one ends.
    const reported = new Map([
      [0, 4],
      [1, 10],
      [2, 7],
    ]);
    expect(summarize(execution, Date.now(), reported).rowsWritten).toBe(21);
    expect(detail(execution, definition, Date.now(), reported).rowsWritten).toBe(21);

    releases[0]?.resolve();
    releases[2]?.resolve();
    await execution.done;
    const done = detail(execution, definition);
    expect(done.map).toEqual({
      state: 'LoadChunks',
      total: 3,
      done: 3,
      running: 0,
      failed: 0,
      retried: 0,
    });
    expect(done.rowsWritten).toBe(30);
    // A closed execution's own count wins over any report still around.
    expect(summarize(execution, Date.now(), new Map([[0, 3]])).rowsWritten).toBe(30);
  });

  it('marks the Map CAUGHT and its inner state FAILED when a chunk fails for good', async () => {
    const { execution } = await run({
      PlanFile: async () => plan(2),
      LoadChunk: async (input) => {
        const index = (input as { chunk: { index: number } }).chunk.index;
        if (index === 1) throw new TaskError('RowRejectedError', 'chunk 1, line 12: rejected');
        return loadChunk(input);
      },
      BuildFailureRecord: buildRecord,
      SendToDeadLetterQueue: sentToDlq,
    });
    const view = detail(execution, definition);
    expect(view.states).toEqual({
      ...ALL_NOT_STARTED(),
      Configure: 'SUCCEEDED',
      PlanFile: 'SUCCEEDED',
      LoadChunks: 'CAUGHT',
      LoadChunk: 'FAILED',
      LoadChunksFailed: 'SUCCEEDED',
      BuildFailureRecord: 'SUCCEEDED',
      SendToDeadLetterQueue: 'SUCCEEDED',
      Failed: 'FAILED',
    });
    expect(view.map).toMatchObject({ total: 2, failed: 1, running: 0 });
    expect(view.chunks[1]?.status).toBe('FAILED');
    expect(view.failure).toMatchObject({
      failure: { error: 'RowRejectedError', state: 'LoadChunk' },
      readableCause: 'chunk 1, line 12: rejected',
      sentToDlq: true,
    });
  });
});

describe('console views: summaries and history details', () => {
  const base: ExecutionLike = {
    executionArn: 'arn:aws:states:us-east-1:000000000000:execution:ingest:redrive-x',
    name: 'redrive-x',
    input: JSON.stringify({
      file: { key: 'in/books.csv' },
      redriveOf: 'arn:aws:states:us-east-1:000000000000:execution:ingest:first',
    }),
    status: 'SUCCEEDED',
    startDate: new Date('2026-01-01T00:00:00.000Z'),
    stopDate: new Date('2026-01-01T00:00:01.500Z'),
    events: [],
  };
  const event = (id: number, type: string, details: Record<string, unknown> = {}) => ({
    id,
    previousEventId: id - 1,
    timestamp: new Date('2026-01-01T00:00:00.100Z'),
    type,
    ...details,
  });

  it('counts rows to write as the file less the superseded duplicates, and names the redriven execution', () => {
    const summary = summarize({
      ...base,
      events: [
        event(1, 'TaskStateExited', {
          stateExitedEventDetails: {
            name: 'PlanFile',
            output: JSON.stringify({ plan: { totalRows: 13, duplicateRows: 1 } }),
          },
        }),
      ],
      output: JSON.stringify({ written: 12 }),
    });
    expect(summary).toEqual({
      name: 'redrive-x',
      executionArn: base.executionArn,
      status: 'SUCCEEDED',
      file: 'in/books.csv',
      startDate: '2026-01-01T00:00:00.000Z',
      stopDate: '2026-01-01T00:00:01.500Z',
      durationMs: 1500,
      rowsWritten: 12,
      rowsInFile: 13,
      rowsTotal: 12,
      chunksDone: 0,
      redriveOf: 'arn:aws:states:us-east-1:000000000000:execution:ingest:first',
      eventCount: 1,
    });
  });

  it('counts task failures inside the Map that were retried, not the ones that failed the chunk', () => {
    const view = detail(
      {
        ...base,
        status: 'RUNNING',
        events: [
          event(1, 'MapStateEntered', {
            stateEnteredEventDetails: {
              name: 'LoadChunks',
              input: JSON.stringify({ plan: plan(2) }),
            },
          }),
          event(2, 'MapStateStarted', { mapStateStartedEventDetails: { length: 2 } }),
          event(3, 'MapIterationStarted', { mapIterationStartedEventDetails: { index: 0 } }),
          event(4, 'TaskStateEntered', { stateEnteredEventDetails: { name: 'LoadChunk' } }),
          event(5, 'TaskFailed', { taskFailedEventDetails: { error: 'Sandbox.Timedout' } }),
          event(6, 'TaskStateExited', {
            stateExitedEventDetails: {
              name: 'LoadChunk',
              output: JSON.stringify({ index: 0, written: 10, superseded: 2 }),
            },
          }),
          event(7, 'MapIterationSucceeded', { mapIterationSucceededEventDetails: { index: 0 } }),
          event(8, 'MapIterationStarted', { mapIterationStartedEventDetails: { index: 1 } }),
          event(9, 'TaskStateEntered', { stateEnteredEventDetails: { name: 'LoadChunk' } }),
        ],
      },
      definition,
    );
    expect(view.map).toEqual({
      state: 'LoadChunks',
      total: 2,
      done: 1,
      running: 1,
      failed: 0,
      retried: 1,
    });
    // New fields of a chunk summary pass through as they are.
    expect(view.chunks[0]?.summary).toEqual({ index: 0, written: 10, superseded: 2 });
    expect(view.events[0]?.timestamp).toBe('2026-01-01T00:00:00.100Z');
  });

  it('returns the record BuildFailureRecord built, and sentToDlq false when the DLQ send was caught', () => {
    const record = {
      Records: [],
      failure: {
        error: 'InvalidFileError',
        cause: JSON.stringify({ errorType: 'InvalidFileError', errorMessage: 'bad' }),
        executionArn: base.executionArn,
        state: 'PlanFile',
        time: '2026-01-01T00:00:00.100Z',
      },
    };
    const built = buildFailureRecord(record);
    const view = detail(
      {
        ...base,
        status: 'FAILED',
        events: [
          event(1, 'PassStateExited', {
            stateExitedEventDetails: { name: 'PlanFileFailed', output: JSON.stringify(record) },
          }),
          event(2, 'TaskStateEntered', {
            stateEnteredEventDetails: { name: 'BuildFailureRecord', input: JSON.stringify(record) },
          }),
          event(3, 'TaskStateExited', {
            stateExitedEventDetails: { name: 'BuildFailureRecord', output: JSON.stringify(built) },
          }),
          event(4, 'TaskStateEntered', {
            stateEnteredEventDetails: {
              name: 'SendToDeadLetterQueue',
              input: JSON.stringify(built),
            },
          }),
          event(5, 'TaskFailed', { taskFailedEventDetails: { error: 'SQS.QueueDoesNotExist' } }),
          event(6, 'TaskStateExited', {
            stateExitedEventDetails: {
              name: 'SendToDeadLetterQueue',
              output: JSON.stringify({ ...built, lostBecause: { Error: 'SQS.QueueDoesNotExist' } }),
            },
          }),
          event(7, 'PassStateEntered', {
            stateEnteredEventDetails: { name: 'FailureRecordLost', input: '{}' },
          }),
        ],
      },
      definition,
    );
    expect(view.failure).toEqual({
      failure: { ...record.failure, cause: 'bad' },
      readableCause: 'bad',
      sentToDlq: false,
    });
    expect(view.states.SendToDeadLetterQueue).toBe('CAUGHT');
  });
});
