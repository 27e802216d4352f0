import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseDataset } from '../../handlers/shared/dataset.js';
import { allEvents } from '../../local/cli/sfn-views.js';
import { LOCAL_CREDENTIALS, PROJECT_ROOT } from '../../local/config.js';
import type { Endpoints } from '../../local/endpoints.js';
import { generateCsv } from '../../local/generate-csv.js';
import { CDK_DATASET } from '../support/workflow-fakes.js';
import { expectedItems, processesUsing, waitFor } from './helpers.js';

// The local stack in a child process, killed with SIGKILL in the middle of a load and
// started again on the same data directory: the execution resumes by itself and the
// file ends loaded, every row exactly once, with no new upload.

const ROWS = 20_000;
const KEY = 'restart/generated.csv';

let dataDir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'restart-'));
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
  await rm(dataDir, { recursive: true, force: true });
}, 30_000);

/** Starts the stack process on `dataDir` and waits (bounded) until it serves. */
async function startStack(): Promise<{ process: ChildProcess; resumed: string[] }> {
  const options = {
    dataDir,
    ports: { aws: 0, dynamodb: 0, stepfunctions: 0, auth: 0, api: 0 },
    pollWaitSeconds: 1,
    // Small chunks, one at a time: the load takes long enough to be killed in the middle.
    context: { chunkTargetBytes: 64 * 1024, maxRecordBytes: 64 * 1024, mapMaxConcurrency: 1 },
  };
  const started = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/support/local-stack-process.ts', JSON.stringify(options)],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  started.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  started.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const ready = await waitFor(
    'the stack process to serve',
    () => {
      if (started.exitCode !== null) throw new Error(`the stack process exited:\n${output}`);
      const line = /^ready (.*)$/m.exec(output)?.[1];
      return line === undefined ? undefined : (JSON.parse(line) as { resumed: string[] });
    },
    60_000,
  );
  child = started;
  return { process: started, resumed: ready.resumed };
}

async function clients() {
  const endpoints = JSON.parse(
    await readFile(join(dataDir, 'endpoints.json'), 'utf8'),
  ) as Endpoints;
  const common = { region: endpoints.region, credentials: LOCAL_CREDENTIALS };
  return {
    endpoints,
    s3: new S3Client({ ...common, endpoint: endpoints.s3, forcePathStyle: true }),
    sqs: new SQSClient({ ...common, endpoint: endpoints.sqs }),
    sfn: new SFNClient({ ...common, endpoint: endpoints.stepfunctions }),
    dynamodb: new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb }),
  };
}

async function generated(): Promise<Buffer> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  await generateCsv({ rows: ROWS, seed: 5 }, sink);
  return Buffer.concat(chunks);
}

const count = (events: readonly HistoryEvent[], type: string) =>
  events.filter((event) => event.type === type).length;

describe('a local stack killed mid-load', () => {
  it('resumes the execution on restart: SUCCEEDED, every row exactly once, no new upload', async () => {
    const csv = await generated();
    const expected = expectedItems(csv, parseDataset(CDK_DATASET));
    const first = await startStack();
    const before = await clients();
    await before.s3.send(
      new PutObjectCommand({ Bucket: before.endpoints.bucket, Key: KEY, Body: csv }),
    );
    // Mid-load: the first chunks are in, the others are not.
    const executionArn = await waitFor('the first chunk to be loaded', async () => {
      const { executions = [] } = await before.sfn.send(
        new ListExecutionsCommand({ stateMachineArn: before.endpoints.stateMachineArn }),
      );
      const arn = executions[0]?.executionArn;
      if (!arn) return undefined;
      return count(await allEvents(before.sfn, arn), 'MapIterationSucceeded') > 0 ? arn : undefined;
    });

    first.process.kill('SIGKILL');
    await once(first.process, 'exit');
    // dynalite follows its parent (the IPC channel closed): wait until it has.
    await waitFor('the killed stack’s processes to exit', () =>
      processesUsing(dataDir).length === 0 ? true : undefined,
    );

    const second = await startStack();
    expect(second.resumed).toEqual([executionArn.split(':').at(-1)]);
    const after = await clients();
    const described = await waitFor(
      'the resumed execution to close',
      async () => {
        const execution = await after.sfn.send(new DescribeExecutionCommand({ executionArn }));
        return execution.status === 'RUNNING' ? undefined : execution;
      },
      180_000,
    );

    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output ?? '{}')).toMatchObject({ rows: ROWS, written: ROWS });
    // One execution, the same one: resumed, not started again by a new upload.
    const { executions = [] } = await after.sfn.send(
      new ListExecutionsCommand({ stateMachineArn: after.endpoints.stateMachineArn }),
    );
    expect(executions.map((execution) => execution.executionArn)).toEqual([executionArn]);
    const events = await allEvents(after.sfn, executionArn);
    expect(count(events, 'ExecutionStarted')).toBe(1);
    expect(count(events, 'ExecutionResumed')).toBe(1);
    const resumedAt = events.findIndex((event) => String(event.type) === 'ExecutionResumed');
    const chunks = Number(
      events.findLast((event) => event.type === 'MapStateStarted')?.mapStateStartedEventDetails
        ?.length,
    );
    expect(count(events.slice(resumedAt), 'MapIterationSucceeded')).toBe(chunks);
    expect(chunks).toBeGreaterThan(10);

    // Every row exactly once, with this file's values.
    const stored = new Map<string, string>();
    let start: Record<string, never> | undefined;
    do {
      const page = await after.dynamodb.send(
        new ScanCommand({ TableName: after.endpoints.table, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) {
        const isbn = item.isbn?.N ?? '';
        expect(stored.has(isbn)).toBe(false);
        stored.set(isbn, item.title?.S ?? '');
      }
      start = page.LastEvaluatedKey as Record<string, never> | undefined;
    } while (start);
    expect(stored.size).toBe(ROWS);
    for (const [isbn, item] of expected) expect(stored.get(isbn)).toBe(item.title);

    // The name is kept too: the same notification again starts nothing.
    const { Records } = JSON.parse(described.input ?? '{}') as { Records: unknown[] };
    await after.sqs.send(
      new SendMessageCommand({
        QueueUrl: after.endpoints.queueUrl,
        MessageBody: JSON.stringify({ Records }),
      }),
    );
    await waitFor('the file-events queue to drain', async () => {
      const { Attributes } = await after.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: after.endpoints.queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return Number(Attributes?.ApproximateNumberOfMessages) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible) ===
        0
        ? true
        : undefined;
    });
    const again = await after.sfn.send(
      new ListExecutionsCommand({ stateMachineArn: after.endpoints.stateMachineArn }),
    );
    expect(again.executions?.map((execution) => execution.executionArn)).toEqual([executionArn]);
    for (const client of [before, after]) {
      client.s3.destroy();
      client.sqs.destroy();
      client.sfn.destroy();
      client.dynamodb.destroy();
    }
  }, 300_000);
});
