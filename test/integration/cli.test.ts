import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Message } from '@aws-sdk/client-sqs';
import { dlqDetails, historyDetails } from '../../local/cli/full-views.js';
import { cliLine, dlqTable } from '../../local/cli/report.js';
import { ingestsVersion } from '../../local/cli/watch.js';
import { DEFAULT_DATA_DIR, PROJECT_ROOT } from '../../local/config.js';
import { readEndpointsFromEnv, StackNotRunningError } from '../../local/endpoints.js';
import type { LocalStack } from '../../local/stack.js';
import { keyOf, SAMPLES, startTestStack } from './helpers.js';

// `npm run cli` as a user runs it, against a stack in this process whose
// endpoints.json lives in a temporary data directory (as with npm start --data-dir).

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs local/cli.ts in a child process (asynchronously: the stack runs in this one). */
function cli(
  args: readonly string[],
  env: Record<string, string>,
  cwd = tmpdir(),
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        join(PROJECT_ROOT, 'node_modules/tsx/dist/cli.mjs'),
        join(PROJECT_ROOT, 'local/cli.ts'),
        ...args,
      ],
      { cwd, env: { ...process.env, LOCAL_DATA_DIR: '', ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The LOCAL_DATA_DIR value of the line npm start prints. */
function printedDataDir(line: string): string | undefined {
  return /LOCAL_DATA_DIR=(\S+)/.exec(line)?.[1];
}

describe('cliLine (what npm start prints for the CLI)', () => {
  it('names LOCAL_DATA_DIR as an absolute directory when --data-dir was relative', () => {
    const line = cliLine('some/data');
    expect(printedDataDir(line)).toBe(join(process.cwd(), 'some/data'));
    expect(line).toContain(`endpoints: ${join(process.cwd(), 'some/data', 'endpoints.json')}`);
  });

  it('needs no LOCAL_DATA_DIR for the default directory', () => {
    expect(cliLine(relative(process.cwd(), DEFAULT_DATA_DIR))).toBe(
      `CLI: npm run cli -- help   ·   endpoints: ${join(DEFAULT_DATA_DIR, 'endpoints.json')}`,
    );
  });

  it('quotes a directory the shell would split', () => {
    expect(cliLine("/tmp/my data/it's")).toContain(`LOCAL_DATA_DIR='/tmp/my data/it'\\''s' npm`);
  });
});

describe('readEndpointsFromEnv', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'no-stack-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('tells how to reach a stack started with --data-dir when none runs under the default directory', async () => {
    await expect(readEndpointsFromEnv({}, dir)).rejects.toThrow(
      `The local stack is not running (${join(dir, 'endpoints.json')} not found). Start it with: npm start.\n` +
        'For a stack started with --data-dir <dir>, set LOCAL_DATA_DIR=<dir> (npm start prints the line to copy).',
    );
  });

  it('says the directory came from LOCAL_DATA_DIR when it is set', async () => {
    await expect(readEndpointsFromEnv({ LOCAL_DATA_DIR: dir })).rejects.toThrow(
      `(${join(dir, 'endpoints.json')} not found). Start it with: npm start (the directory comes from LOCAL_DATA_DIR=${dir}).`,
    );
  });

  it('resolves a relative LOCAL_DATA_DIR against the working directory', async () => {
    const run = readEndpointsFromEnv({ LOCAL_DATA_DIR: 'no/such/dir' });
    await expect(run).rejects.toThrow(StackNotRunningError);
    await expect(run).rejects.toThrow(join(process.cwd(), 'no/such/dir', 'endpoints.json'));
  });
});

describe('ingestsVersion (which execution an upload started)', () => {
  const input = (file: object) => JSON.stringify({ file: { bucket: 'b', ...file } });

  it.each([
    [
      'the same key and ETag, quotes aside',
      { key: 'a.csv', eTag: 'e1' },
      { key: 'a.csv', eTag: '"e1"' },
      true,
    ],
    ['another ETag', { key: 'a.csv', eTag: 'e1' }, { key: 'a.csv', eTag: '"e2"' }, false],
    ['another key', { key: 'b.csv', eTag: 'e1' }, { key: 'a.csv', eTag: '"e1"' }, false],
    [
      'the same version id',
      { key: 'a.csv', eTag: 'e1', versionId: 'v2' },
      { key: 'a.csv', eTag: '"e1"', versionId: 'v2' },
      true,
    ],
    [
      'another version with the same content',
      { key: 'a.csv', eTag: 'e1', versionId: 'v1' },
      { key: 'a.csv', eTag: '"e1"', versionId: 'v2' },
      false,
    ],
  ])('tells an execution of %s apart (%j → %j: %s)', (_case, file, upload, expected) => {
    expect(ingestsVersion(input(file), upload)).toBe(expected);
  });
});

describe('full views', () => {
  const longCause = `s3://b/x.csv is invalid, nothing was written: 2 errors\n  line 1, column 1 (ISBN): ${'x'.repeat(150)}\n  line 9: the last one`;
  const message: Message = {
    Body: JSON.stringify({
      Records: [{ s3: { object: { key: 'a+file.csv' } } }],
      failure: {
        error: 'InvalidFileError',
        cause: longCause,
        executionArn: 'arn:aws:states:r:0:execution:m:x',
        state: 'PlanFile',
        time: '2026-01-01T00:00:00.000Z',
      },
    }),
  };

  it('dlq cuts the cause in its table, dlq --full shows every line of it', () => {
    expect(dlqTable([message])).not.toContain('the last one');
    expect(dlqDetails([message])).toBe(
      [
        '1/1  a file.csv',
        '  error      InvalidFileError',
        '  state      PlanFile',
        '  time       2026-01-01T00:00:00.000Z',
        '  execution  arn:aws:states:r:0:execution:m:x',
        '  cause      s3://b/x.csv is invalid, nothing was written: 2 errors',
        `               line 1, column 1 (ISBN): ${'x'.repeat(150)}`,
        '               line 9: the last one',
      ].join('\n'),
    );
  });

  it('history --full prints each event with its whole detail below it', () => {
    const text = historyDetails(
      [{ id: 7, type: 'ExecutionFailed', timestamp: new Date(0) }],
      () => ({ state: '', detail: `InvalidFileError: ${longCause}` }),
    );
    expect(text.split('\n')).toEqual([
      '   7  1970-01-01T00:00:00.000Z  ExecutionFailed',
      '      InvalidFileError: s3://b/x.csv is invalid, nothing was written: 2 errors',
      `        line 1, column 1 (ISBN): ${'x'.repeat(150)}`,
      '        line 9: the last one',
    ]);
  });
});

describe('npm run cli against a stack started with a data directory', () => {
  let stack: LocalStack;
  let stop: () => Promise<void>;
  let dataDir: string;
  let files: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cli-data-'));
    files = await mkdtemp(join(tmpdir(), 'cli-files-'));
    ({ stack, stop } = await startTestStack({ dataDir, writeEndpointsFile: true }));
    // Exactly what npm start tells the user to type.
    env = { LOCAL_DATA_DIR: printedDataDir(cliLine(dataDir)) ?? '' };
  }, 60_000);

  afterAll(async () => {
    await stop?.();
    await rm(dataDir, { recursive: true, force: true });
    await rm(files, { recursive: true, force: true });
  }, 30_000);

  it('finds the stack by the absolute LOCAL_DATA_DIR npm start prints, from any directory', async () => {
    const run = await cli(['executions'], env, files);

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('(no executions yet)');
  }, 120_000);

  it('upload watches the load until its execution closes', async () => {
    const file = join(files, 'books.csv');
    await copyFile(join(SAMPLES, 'books.csv'), file);

    const run = await cli(['upload', file], env);

    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ {2}s3:\/\/books-dev-uploads\/books\.csv {2}\d[\d,]* bytes/);
    expect(lines.at(-1)).toMatch(/^ {2}books\.csv .*1\/1 chunks\s+100 rows\s+SUCCEEDED/);
    // The command returned only once the execution had closed.
    const executions = stack.executions
      .list()
      .filter((execution) => keyOf(execution) === 'books.csv');
    expect(executions.map((execution) => execution.status)).toEqual(['SUCCEEDED']);
  }, 120_000);

  it('upload of a bad file ends with its error, a pointer to the whole cause and exit code 1', async () => {
    const file = join(files, 'bad-header.csv');
    await copyFile(join(SAMPLES, 'bad-header.csv'), file);

    const run = await cli(['upload', file], env);

    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /bad-header\.csv .*FAILED .*InvalidFileError: line 1, column 1 \(ISBN\)/,
    );
    expect(run.stdout).toContain('npm run cli -- dlq --full');
  }, 120_000);

  it('dlq <file> --full and history <file> --full show the whole cause', async () => {
    const lastProblem = 'line 1 (author): required column is missing';

    const table = await cli(['dlq'], env);
    const dlq = await cli(['dlq', 'bad-header.csv', '--full'], env);
    const history = await cli(['history', 'bad-header.csv', '--full'], env);

    expect(table.stdout).not.toContain(lastProblem);
    expect(dlq.code).toBe(0);
    expect(dlq.stdout).toMatch(/^1\/1 {2}bad-header\.csv\n {2}error {6}InvalidFileError\n/);
    expect(dlq.stdout).toContain(
      'line 1, column 1 (ISBN): not a column of dataset "books" (did you mean "isbn"?); expected isbn, title, author, year, language, pages, price, in_print, published',
    );
    expect(dlq.stdout).toContain(lastProblem);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/ExecutionFailed\n {6}InvalidFileError: /);
    expect(history.stdout).toContain(lastProblem);
  }, 120_000);
});
