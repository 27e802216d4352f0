import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progressFromHistory } from '../../local/cli/progress.js';
import { ExecutionStore } from '../../local/stepfunctions/store.js';

// The local executions' journal: what a killed stack leaves behind is read back.

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'executions-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ARN = 'arn:aws:states:us-east-1:000000000000:execution:ingest:books-csv-01';
const started = new Date('2026-11-28T10:00:00.000Z');

function begin(store: ExecutionStore, arn = ARN): void {
  store.begin({
    executionArn: arn,
    name: arn.split(':').at(-1) ?? '',
    input: '{"a":1}',
    startDate: started,
  });
  store.event(arn, { id: 1, previousEventId: 0, type: 'ExecutionStarted', timestamp: started });
}

describe('ExecutionStore', () => {
  it('reads back a closed execution: name, input, history and how it ended', () => {
    const store = new ExecutionStore(dir);
    begin(store);
    const stopDate = new Date('2026-11-28T10:00:05.000Z');
    store.close(ARN, {
      status: 'FAILED',
      stopDate,
      error: 'InvalidFileError',
      cause: 'line 2: bad',
    });

    expect(new ExecutionStore(dir).load()).toEqual([
      {
        executionArn: ARN,
        name: 'books-csv-01',
        input: '{"a":1}',
        startDate: started,
        closed: { status: 'FAILED', stopDate, error: 'InvalidFileError', cause: 'line 2: bad' },
        events: [{ id: 1, previousEventId: 0, type: 'ExecutionStarted', timestamp: started }],
      },
    ]);
  });

  it('reads an execution the stack left running (no close line) as not closed', () => {
    const store = new ExecutionStore(dir);
    begin(store);
    store.release(ARN);

    const [loaded] = new ExecutionStore(dir).load();
    expect(loaded).not.toHaveProperty('closed');
    expect(loaded?.events).toHaveLength(1);
  });

  it('ignores a last line torn by a kill in the middle of a write', () => {
    const store = new ExecutionStore(dir);
    begin(store);
    store.release(ARN);
    const [file = ''] = readdirSync(dir);
    appendFileSync(join(dir, file), '{"kind":"event","event":{"id":2,"ty');

    expect(new ExecutionStore(dir).load()[0]?.events).toHaveLength(1);
  });

  it('names a journal damaged anywhere else', () => {
    const store = new ExecutionStore(dir);
    begin(store);
    store.release(ARN);
    const [file = ''] = readdirSync(dir);
    appendFileSync(
      join(dir, file),
      'not json\n{"kind":"close","status":"SUCCEEDED","stopDate":"x"}\n',
    );

    expect(() => new ExecutionStore(dir).load()).toThrow(
      `The execution journal ${join(dir, file)} is damaged`,
    );
  });

  it('refuses to begin an execution twice (names are unique)', () => {
    const store = new ExecutionStore(dir);
    begin(store);
    expect(() => begin(new ExecutionStore(dir))).toThrow(/EEXIST/);
  });
});

describe('progressFromHistory of a resumed execution', () => {
  it('counts the run after the last ExecutionResumed only', () => {
    const run = (written: number[]) => [
      { type: 'MapStateStarted', mapStateStartedEventDetails: { length: 3 } },
      ...written.flatMap((rows) => [
        {
          type: 'TaskStateExited',
          stateExitedEventDetails: { name: 'LoadChunk', output: `{"written":${rows}}` },
        },
        { type: 'MapIterationSucceeded' },
      ]),
    ];
    const progress = progressFromHistory([
      ...run([10, 10]),
      { type: 'ExecutionResumed' },
      ...run([10]),
    ]);
    expect(progress).toMatchObject({ chunks: 3, chunksDone: 1, rowsWritten: 10 });
  });
});
