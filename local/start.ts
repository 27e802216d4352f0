import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { parseArgs, portOption, UsageError } from './cli/args.js';
import { datasetsContext } from './cli/datasets.js';
import { cliLine, curlPair, dlqTable, fileOf, progressLine, summaryTable } from './cli/report.js';
import { DEFAULT_DATA_DIR, PORTS, type PortName, PROJECT_ROOT } from './config.js';
import { PortInUseError } from './ports.js';
import { sampleUploads } from './samples.js';
import { type LocalStack, startLocalStack } from './stack.js';
import type { Execution } from './stepfunctions/executions.js';
import { peekMessages } from './wiring/redrive.js';

const PORT_NAMES = Object.keys(PORTS) as PortName[];

const USAGE = `Usage: npm start -- [options]

Starts the whole pipeline and the API on this machine (no AWS account, no Docker),
uploads the sample files, shows each ingestion live, then serves until Ctrl-C.

Options:
  --no-samples              do not upload the sample files at start (files already in the
                            bucket with the same content are never uploaded again)
  --datasets <file>         run with the datasets of this JSON file (a list of dataset
                            schemas, as the datasets setting of cdk.json) instead of
                            cdk.json's, e.g. sample-files/datasets.json (books and authors)
  --in-memory               keep DynamoDB, S3 and SQS in memory (default: persisted under .local/)
  --dynamodb-in-process     run dynalite in this process (default: its own child process)
  --data-dir <dir>          where data, certificate and endpoints.json live
                            (env LOCAL_DATA_DIR; default: .local)
  --log-level <level>       handler log level: DEBUG, INFO, WARN, ERROR (default: INFO)
  --handler-logs <file>     where handler logs go, or "-" for this terminal (default: .local/handlers.log)
  --wait-seconds <n>        how long to wait for the samples' executions (default: 300)
  Ports (0 picks a free one):
${PORT_NAMES.map((name) => {
  const { option, service, env, port } = PORTS[name];
  return `  ${`--${option} <n>`.padEnd(26)}${service.padEnd(22)}env ${env.padEnd(26)}default ${port}`;
}).join('\n')}
  --help                    show this help
`;

const out = (text = '') => process.stdout.write(`${text}\n`);

async function main(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv, [
    'data-dir',
    'datasets',
    'log-level',
    'handler-logs',
    'wait-seconds',
    ...PORT_NAMES.map((name) => PORTS[name].option),
  ]);
  if (args.flags.get('help') === true) {
    out(USAGE);
    return;
  }
  const ports: Partial<Record<PortName, number>> = {};
  for (const name of PORT_NAMES) {
    const port = portOption(args, PORTS[name].option, PORTS[name].env, process.env);
    if (port !== undefined) ports[name] = port;
  }
  const waitSeconds = Number(args.flags.get('wait-seconds') ?? 300);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0)
    throw new UsageError('--wait-seconds must be a number');
  const dataDir = args.flags.get('data-dir') ?? (process.env.LOCAL_DATA_DIR || undefined);

  const logTarget = String(
    args.flags.get('handler-logs') ?? join(String(dataDir ?? DEFAULT_DATA_DIR), 'handlers.log'),
  );
  await mkdir(dirname(resolve(logTarget)), { recursive: true });
  const handlerLogs = logTarget === '-' ? undefined : createWriteStream(logTarget, { flags: 'a' });
  const datasetsFile = args.flags.get('datasets');
  const context =
    typeof datasetsFile === 'string' ? await datasetsContext(datasetsFile) : undefined;
  out('Starting the local stack…');
  const started = Date.now();
  const stack = await startLocalStack({
    ports,
    ...(context === undefined ? {} : { context }),
    ...(typeof dataDir === 'string' ? { dataDir } : {}),
    inMemory: args.flags.get('in-memory') === true,
    dynamoDbInProcess: args.flags.get('dynamodb-in-process') === true,
    logLevel: String(args.flags.get('log-level') ?? 'INFO'),
    ...(handlerLogs ? { handlerLogs } : {}),
    onLog: (message) => out(`  ! ${message}`),
    // An emulator that cannot come back stops the stack (said in onLog): exit, do not hang.
    onFatal: () => {
      process.stderr.write('The local stack stopped: an emulator died (see above).\n');
      process.exit(1);
    },
  });
  const inMemory = args.flags.get('in-memory') === true;
  installShutdown(stack, inMemory, handlerLogs);
  // Short when inside the working directory; absolute otherwise (never ../../).
  const absoluteDataDir = resolve(String(dataDir ?? DEFAULT_DATA_DIR));
  const insideCwd = relative(process.cwd(), absoluteDataDir);
  const shownDataDir = insideCwd.startsWith('..') ? absoluteDataDir : insideCwd || '.';
  printEndpoints(stack, Date.now() - started, inMemory, shownDataDir);
  if (handlerLogs) out(`  Handler logs (JSON, like CloudWatch Logs): ${logTarget}`);

  if (stack.resumed.length > 0) {
    out();
    out(
      `Resuming ${stack.resumed.length} ingestion(s) the last stop left unfinished (each runs again from the start; loads are idempotent):`,
    );
    for (const execution of stack.resumed) {
      out(`  resumed  ${fileOf(execution)}  (${execution.name})`);
      void execution.done.then(() => reportClosed(execution, 40));
    }
  }

  if (args.flags.get('samples') !== false) {
    const files = await sampleFiles(stack);
    // Updates go second, once the files they update are loaded, so they visibly win.
    const waves = [files.filter((file) => !isUpdate(file)), files.filter(isUpdate)];
    const executions: Execution[] = [];
    const width = Math.min(40, Math.max(0, ...files.map((file) => file.length)));
    for (const wave of waves.filter((files) => files.length > 0)) {
      // Listening before uploading: each upload's execution is known by its file, however
      // long the uploads take.
      const listener = listenForUploads(stack, wave);
      try {
        const keys = await uploadSamples(stack, wave);
        if (keys.length > 0)
          executions.push(...(await watch(listener.found, keys, width, waitSeconds * 1000)));
      } finally {
        listener.stop();
      }
    }
    if (executions.length > 0) {
      out();
      out('Summary');
      out(summaryTable(executions));
    }
  }

  out();
  out(`Dead-letter queue (${stack.names.dlq})`);
  out(dlqTable(await peekMessages(stack.clients.sqs, stack.endpoints.dlqUrl)));

  const key = await someKey(stack);
  out();
  out('Read an item through the HTTPS API (token first, then the item):');
  out(curlPair(stack.endpoints, key));
  out();
  // The CLI finds a stack started with --data-dir through LOCAL_DATA_DIR.
  out(cliLine(String(dataDir ?? DEFAULT_DATA_DIR)));
  out(`Console: ${stack.endpoints.console}  (open it in a browser)`);
  out('Serving. Press Ctrl-C to stop.');
  followNewExecutions(stack);
}

function printEndpoints(stack: LocalStack, ms: number, inMemory: boolean, dataDir: string): void {
  const e = stack.endpoints;
  const storage = inMemory ? 'in memory' : `data persisted under ${dataDir}`;
  out(`Ready in ${(ms / 1000).toFixed(1)}s (${storage})`);
  const rows: [string, string][] = [
    [PORTS.aws.service, `${e.s3}  bucket ${e.bucket}`],
    ['', `queue ${e.queueUrl}`],
    ['', `DLQ   ${e.dlqUrl}`],
    ...e.datasets.map(({ name, table }, index): [string, string] => [
      index === 0 ? PORTS.dynamodb.service : '',
      e.datasets.length === 1
        ? `${e.dynamodb}  table ${table}`
        : `${index === 0 ? e.dynamodb : ' '.repeat(e.dynamodb.length)}  table ${table} (${name}/…)`,
    ]),
    [PORTS.stepfunctions.service, `${e.stepfunctions}  ${e.stateMachineArn}`],
    [PORTS.auth.service, `${e.tokenUrl}  client ${e.clientId} / ${e.clientSecret}`],
    [PORTS.api.service, `${e.api}  (CA: ${e.caCertFile})`],
    [PORTS.console.service, `${e.console}`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, value] of rows) out(`  ${name.padEnd(width)}  ${value}`);
}

const SAMPLES_DIR = join(PROJECT_ROOT, 'sample-files');

/** Object keys of the sample files of every dataset (see sampleUploads), by key. */
const sampleFileOfKey = new Map<string, string>();

/** The sample files' object keys, or none when there are none. */
async function sampleFiles(stack: LocalStack): Promise<string[]> {
  const uploads = await sampleUploads(stack.config, SAMPLES_DIR);
  if (uploads.length === 0) out('No sample files in sample-files/: nothing to upload.');
  for (const { file, key } of uploads) sampleFileOfKey.set(key, file);
  return uploads.map(({ key }) => key);
}

function isUpdate(file: string): boolean {
  return /update/i.test(file);
}

/**
 * Uploads the files that are not already in the bucket with the same content, so a
 * restart on persisted data does not ingest (and dead-letter) the samples again.
 * Returns the keys uploaded.
 */
async function uploadSamples(stack: LocalStack, files: readonly string[]): Promise<string[]> {
  const uploaded: string[] = [];
  const unchanged: string[] = [];
  for (const key of files) {
    const body = await readFile(join(SAMPLES_DIR, sampleFileOfKey.get(key) ?? key));
    if ((await currentETag(stack, key)) === `"${createHash('md5').update(body).digest('hex')}"`) {
      unchanged.push(key);
      continue;
    }
    await stack.clients.s3.send(
      new PutObjectCommand({
        Bucket: stack.names.bucket,
        Key: key,
        Body: body,
        ContentType: 'text/csv',
      }),
    );
    uploaded.push(key);
  }
  out();
  if (unchanged.length > 0)
    out(`Already in s3://${stack.names.bucket}/, unchanged: ${unchanged.join(', ')}`);
  if (uploaded.length > 0) out(`Uploaded ${uploaded.join(', ')} to s3://${stack.names.bucket}/`);
  return uploaded;
}

async function currentETag(stack: LocalStack, key: string): Promise<string | undefined> {
  try {
    const head = await stack.clients.s3.send(
      new HeadObjectCommand({ Bucket: stack.names.bucket, Key: key }),
    );
    return head.ETag;
  } catch (error) {
    if (error instanceof Error && (error.name === 'NotFound' || error.name === 'NoSuchKey'))
      return undefined;
    throw error;
  }
}

/** A redrive of a failure record, not an upload's own execution. */
function isRedrive(execution: Execution): boolean {
  try {
    return (JSON.parse(execution.input) as { redriveOf?: unknown }).redriveOf !== undefined;
  } catch {
    return false;
  }
}

/**
 * Listens for the executions of `files` that start from now on: the first one of
 * each file (not a redrive) is that file's upload. Listening, not a time window, so
 * slow uploads on a busy machine never hide an execution.
 */
function listenForUploads(
  stack: LocalStack,
  files: readonly string[],
): { readonly found: ReadonlyMap<string, Execution>; stop(): void } {
  const wanted = new Set(files);
  const found = new Map<string, Execution>();
  const stop = stack.executions.onEvent((execution, event) => {
    if (event.type !== 'ExecutionStarted') return;
    const file = fileOf(execution);
    if (wanted.has(file) && !found.has(file) && !isRedrive(execution)) found.set(file, execution);
  });
  return { found, stop };
}

/** Shows one progress line per file until each uploaded file's execution has closed. */
async function watch(
  found: ReadonlyMap<string, Execution>,
  keys: readonly string[],
  width: number,
  timeoutMs: number,
): Promise<Execution[]> {
  const tty = process.stdout.isTTY === true;
  let drawn = 0;
  const relevant = () =>
    keys
      .map((key) => found.get(key))
      .filter((execution): execution is Execution => execution !== undefined)
      .sort((a, b) => fileOf(a).localeCompare(fileOf(b)));
  const printedClosed = new Set<string>();
  const draw = () => {
    const executions = relevant();
    if (tty) {
      if (drawn > 0) process.stdout.write(`\x1b[${drawn}A`);
      for (const execution of executions)
        process.stdout.write(`\x1b[2K  ${progressLine(execution, width)}\n`);
      drawn = executions.length;
    } else {
      for (const execution of executions) {
        if (execution.status !== 'RUNNING' && !printedClosed.has(execution.executionArn)) {
          printedClosed.add(execution.executionArn);
          out(`  ${progressLine(execution, width)}`);
        }
      }
    }
    return executions;
  };
  out();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const executions = draw();
    const closed = executions.filter((execution) => execution.status !== 'RUNNING');
    if (closed.length === keys.length) {
      for (const execution of closed) warnIfRecordLost(execution);
      return executions;
    }
    if (Date.now() > deadline) {
      const done = new Set(closed.map((execution) => fileOf(execution)));
      const missing = keys.filter((key) => !done.has(key));
      out(`  Still running or not started after ${timeoutMs / 1000}s: ${missing.join(', ')}`);
      return executions;
    }
    await new Promise((resolve) => setTimeout(resolve, tty ? 150 : 500));
  }
}

/** A failed file without a failure record must not go unnoticed. */
function warnIfRecordLost(execution: Execution): void {
  if (execution.error !== 'FailureRecordLostError') return;
  out(
    `  ! ${fileOf(execution)} failed and its failure record is NOT in the DLQ: ${execution.cause ?? ''}`,
  );
}

/** One line for an execution that closed (and the warning for a lost failure record). */
function reportClosed(execution: Execution, width: number): void {
  out(`  ${progressLine(execution, width)}`);
  warnIfRecordLost(execution);
}

/** After the summary, reports every new execution when it closes. */
function followNewExecutions(stack: LocalStack): void {
  const seen = new Set(stack.executions.list().map((execution) => execution.executionArn));
  stack.executions.onEvent((execution, event) => {
    if (event.type !== 'ExecutionStarted' || seen.has(execution.executionArn)) return;
    seen.add(execution.executionArn);
    out(`  started  ${fileOf(execution)}  (${execution.name})`);
    void execution.done.then(() => reportClosed(execution, 40));
  });
}

async function someKey(stack: LocalStack): Promise<string | undefined> {
  const scanned = await stack.clients.dynamodb.send(
    new ScanCommand({ TableName: stack.names.table, Limit: 1 }),
  );
  const value = scanned.Items?.[0]?.[stack.config.dataset.key];
  return value?.S ?? value?.N;
}

/**
 * One Ctrl-C reaches this process more than once (from the terminal, and again
 * from npm, which forwards it): signals this close to the first are the same
 * request. Pressing Ctrl-C again later forces the exit.
 */
const REPEATED_SIGNAL_MS = 2_000;

function installShutdown(stack: LocalStack, inMemory: boolean, handlerLogs?: Writable): void {
  let stoppingSince: number | undefined;
  const stop = (signal: string) => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince < REPEATED_SIGNAL_MS) return;
      out('Forced exit.');
      process.exit(130);
    }
    stoppingSince = Date.now();
    out(
      `\n${signal}: stopping${inMemory ? '' : ' (data on disk stays intact)'}… ` +
        '(Ctrl-C again to force)',
    );
    // Running executions are kept on disk and resume on the next start; in memory
    // they are lost with everything else.
    const running = stack.executions.list('RUNNING').map((execution) => fileOf(execution));
    if (running.length > 0) {
      out(
        inMemory
          ? `  Aborting ${running.length} running ingestion(s) (in memory: nothing is kept): ${running.join(', ')}`
          : `  Interrupting ${running.length} running ingestion(s); they resume when the stack starts again on this data: ${running.join(', ')}`,
      );
    }
    stack.stop().then(
      async () => {
        // Flush the handlers' last log lines before exiting.
        if (handlerLogs) await new Promise<void>((resolve) => handlerLogs.end(resolve));
        out('Stopped.');
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`Error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || error instanceof PortInUseError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  }
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
