import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { allEvents } from '../../local/cli/sfn-views.js';
import { LOCAL_CREDENTIALS, PROJECT_ROOT } from '../../local/config.js';
import type { Endpoints } from '../../local/endpoints.js';
import { generateCsv } from '../../local/generate-csv.js';
import { processesUsing, waitFor } from './helpers.js';

// `npm start` as a user runs it (the same command line as the npm script), on free
// ports and a temporary data directory: a persisted restart and Ctrl-C.

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'npm-start-'));
});

afterAll(() => rm(dataDir, { recursive: true, force: true }));

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
}

/** Starts local/start.ts and waits (bounded) until it serves. */
async function start(...flags: string[]): Promise<Started> {
  const ports = ['aws', 'dynamodb', 'stepfunctions', 'auth', 'api', 'console'].flatMap((name) => [
    `--${name}-port`,
    '0',
  ]);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'local/start.ts', '--data-dir', dataDir, ...ports, ...flags],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  try {
    await waitFor(
      'npm start to serve',
      () => {
        if (child.exitCode !== null) throw new Error(`npm start exited early:\n${text}`);
        return text.includes('Serving. Press Ctrl-C to stop.') ? true : undefined;
      },
      60_000,
    );
  } catch (error) {
    child.kill('SIGKILL'); // never leave a stack running behind a failed test
    throw error;
  }
  return { child, output: () => text };
}

/**
 * What Ctrl-C in a terminal does under npm: SIGINT from the terminal, then the one
 * npm forwards, which arrives while the stack is already stopping.
 */
async function ctrlC({ child }: Started): Promise<number | null> {
  const exited = once(child, 'exit');
  const forward = (chunk: Buffer) => {
    if (!chunk.toString('utf8').includes('stopping')) return;
    child.stdout?.off('data', forward);
    child.kill('SIGINT');
  };
  child.stdout?.on('data', forward);
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = (await exited) as [number | null];
  clearTimeout(timer);
  return code;
}

function sdkClients(endpoints: Endpoints): { s3: S3Client; sfn: SFNClient } {
  const common = { region: endpoints.region, credentials: LOCAL_CREDENTIALS };
  return {
    s3: new S3Client({ ...common, endpoint: endpoints.s3, forcePathStyle: true }),
    sfn: new SFNClient({ ...common, endpoint: endpoints.stepfunctions }),
  };
}

async function itemCount(endpoints: Endpoints): Promise<number> {
  const client = new DynamoDBClient({
    region: endpoints.region,
    endpoint: endpoints.dynamodb,
    credentials: LOCAL_CREDENTIALS,
  });
  try {
    let total = 0;
    let start: Record<string, never> | undefined;
    do {
      const scanned = await client.send(
        new ScanCommand({ TableName: endpoints.table, Select: 'COUNT', ExclusiveStartKey: start }),
      );
      total += scanned.Count ?? 0;
      start = scanned.LastEvaluatedKey as Record<string, never> | undefined;
    } while (start);
    return total;
  } finally {
    client.destroy();
  }
}

describe('npm start', () => {
  const endpointsFile = () => join(dataDir, 'endpoints.json');

  it('loads the samples, then stops cleanly on Ctrl-C: exit 0, no endpoints.json, no child left', async () => {
    const stack = await start();
    const endpoints = JSON.parse(await readFile(endpointsFile(), 'utf8')) as Endpoints;
    expect(stack.output()).toMatch(/books\.csv\s+csv\s+SUCCEEDED\s+100\s/);
    // sample-files/README.md: books.csv then books-update.csv leaves 103 items.
    expect(await itemCount(endpoints)).toBe(103);

    expect(await ctrlC(stack)).toBe(0);

    expect(stack.output()).toContain('Stopped.');
    expect(stack.output()).not.toContain('Forced exit');
    expect(existsSync(endpointsFile())).toBe(false);
    expect(processesUsing(dataDir)).toEqual([]);
  }, 90_000);

  it('keeps the data on disk across a restart', async () => {
    const stack = await start('--no-samples');
    try {
      const endpoints = JSON.parse(await readFile(endpointsFile(), 'utf8')) as Endpoints;
      expect(await itemCount(endpoints)).toBe(103);
      // The failure records of the bad samples are still in the DLQ.
      expect(stack.output()).toMatch(/bad-header\.csv\s+InvalidFileError/);
    } finally {
      expect(await ctrlC(stack)).toBe(0);
    }
  }, 90_000);

  it('resumes an ingestion cut short by Ctrl-C when it starts again on the same data', async () => {
    const key = 'interrupted.csv';
    const rows = 60_000;
    const sink = new PassThrough();
    const parts: Buffer[] = [];
    sink.on('data', (part: Buffer) => parts.push(part));
    await generateCsv({ rows, seed: 9 }, sink);
    const first = await start('--no-samples');
    const endpoints = JSON.parse(await readFile(endpointsFile(), 'utf8')) as Endpoints;
    const { s3, sfn } = sdkClients(endpoints);
    let executionArn = '';
    try {
      await s3.send(
        new PutObjectCommand({ Bucket: endpoints.bucket, Key: key, Body: Buffer.concat(parts) }),
      );
      executionArn = await waitFor(
        'the load to start',
        async () => {
          const { executions = [] } = await sfn.send(
            new ListExecutionsCommand({
              stateMachineArn: endpoints.stateMachineArn,
              statusFilter: 'RUNNING',
            }),
          );
          const arn = executions[0]?.executionArn;
          if (!arn) return undefined;
          const events = await allEvents(sfn, arn);
          return events.some((event) => event.type === 'MapIterationStarted') ? arn : undefined;
        },
        60_000,
      );
    } finally {
      expect(await ctrlC(first)).toBe(0);
      s3.destroy();
      sfn.destroy();
    }
    expect(first.output()).toContain(
      `Interrupting 1 running ingestion(s); they resume when the stack starts again on this data: ${key}`,
    );

    const second = await start('--no-samples');
    try {
      expect(second.output()).toMatch(
        new RegExp(
          `Resuming 1 ingestion\\(s\\).*\\n  resumed  ${key}  \\(${executionArn.split(':').at(-1)}\\)`,
        ),
      );
      await waitFor(
        'the resumed ingestion to succeed',
        () => (/interrupted\.csv .* SUCCEEDED/.test(second.output()) ? true : undefined),
        180_000,
      );
      const again = JSON.parse(await readFile(endpointsFile(), 'utf8')) as Endpoints;
      // The samples' 103 items and every generated row.
      expect(await itemCount(again)).toBe(103 + rows);
    } finally {
      expect(await ctrlC(second)).toBe(0);
    }
  }, 300_000);
});
