import { execFileSync } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import type { FailureRecord } from '../../handlers/shared/contracts.js';
import type { ColumnSpec, DatasetSchema } from '../../handlers/shared/dataset.js';
import { ApiClient, fetchToken } from '../../local/cli/api-client.js';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack.js';
import type { Execution, HistoryEvent } from '../../local/stepfunctions/executions.js';
import { peekMessages } from '../../local/wiring/redrive.js';

/** Where the sample files live. */
export const SAMPLES = join(import.meta.dirname, '..', '..', 'sample-files');

/** Starts an in-memory stack on free ports, its handler logs in a temp file. */
export async function startTestStack(options: Partial<LocalStackOptions> = {}): Promise<{
  stack: LocalStack;
  api: ApiClient;
  /** Stops the stack and removes its temporary directory. */
  stop: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'local-stack-'));
  const stack = await startLocalStack({
    ports: { aws: 0, dynamodb: 0, stepfunctions: 0, auth: 0, api: 0, console: 0 },
    dataDir: dir,
    inMemory: true,
    writeEndpointsFile: false,
    pollWaitSeconds: 1,
    logLevel: 'INFO',
    handlerLogs: createWriteStream(join(dir, 'handlers.log')),
    ...options,
  });
  const api = await ApiClient.create(stack.endpoints);
  return {
    stack,
    api,
    stop: async () => {
      await api.close();
      await stack.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Executions of `key` started at or after `since` (epoch ms). */
export function executionsSince(stack: LocalStack, key: string, since: number): Execution[] {
  return executionsOf(stack, key).filter((execution) => execution.startDate.getTime() >= since);
}

/** Processes running with `dir` on their command line (a stack started on that data, its dynalite child). */
export function processesUsing(dir: string): string[] {
  const table = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return table.split('\n').filter((line) => line.includes(dir));
}

/** Polls `probe` until it returns a value, or fails after `timeoutMs` saying what it waited for. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The S3 key an execution ingests. */
export function keyOf(execution: Execution): string | undefined {
  return (JSON.parse(execution.input) as { file?: { key?: string } }).file?.key;
}

/** Executions of `key`, newest first. */
export function executionsOf(stack: LocalStack, key: string): Execution[] {
  return stack.executions.list().filter((execution) => keyOf(execution) === key);
}

/** Rejects after `timeoutMs` saying what was awaited; the timer never keeps the process alive. */
function within<T>(what: string, promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves with the first history event, of any execution, that `matches`, from now
 * on: listening to the execution service, not polling a clock.
 */
export function nextEvent(
  stack: LocalStack,
  what: string,
  matches: (execution: Execution, event: HistoryEvent) => boolean,
  timeoutMs = 60_000,
): Promise<{ execution: Execution; event: HistoryEvent }> {
  let unsubscribe: () => void = () => undefined;
  const seen = new Promise<{ execution: Execution; event: HistoryEvent }>((resolve) => {
    unsubscribe = stack.executions.onEvent((execution, event) => {
      if (matches(execution, event)) resolve({ execution, event });
    });
  });
  return within(what, seen, timeoutMs).finally(() => unsubscribe());
}

/** The next execution of `key` to start (an upload's, a redrive's), from now on. */
export function nextExecutionOf(
  stack: LocalStack,
  key: string,
  timeoutMs = 60_000,
  matches: (execution: Execution) => boolean = () => true,
): Promise<Execution> {
  return nextEvent(
    stack,
    `an execution of ${key} to start`,
    (execution, event) =>
      event.type === 'ExecutionStarted' && keyOf(execution) === key && matches(execution),
    timeoutMs,
  ).then(({ execution }) => execution);
}

/** Waits (bounded) for an execution to close. */
export async function closed(execution: Execution, timeoutMs = 60_000): Promise<Execution> {
  await within(`${execution.name} to close`, execution.done, timeoutMs);
  return execution;
}

/** Uploads a body and waits for the execution that this upload starts to close. */
export async function uploadAndWait(
  stack: LocalStack,
  key: string,
  body: string | Buffer,
  timeoutMs = 60_000,
): Promise<Execution> {
  const started = nextExecutionOf(stack, key, timeoutMs);
  started.catch(() => undefined); // awaited below, unless the upload itself fails
  await stack.clients.s3.send(
    new PutObjectCommand({ Bucket: stack.names.bucket, Key: key, Body: body }),
  );
  return closed(await started, timeoutMs);
}

/** Reads a sample file. */
export function sample(name: string): Promise<Buffer> {
  return readFile(join(SAMPLES, name));
}

/** The failure records in the DLQ for a key (left in the queue). */
export async function dlqRecordsFor(stack: LocalStack, key: string): Promise<FailureRecord[]> {
  const messages = await peekMessages(stack.clients.sqs, stack.endpoints.dlqUrl);
  return messages
    .map((message) => JSON.parse(message.Body ?? '{}') as FailureRecord)
    .filter((record) => record.Records?.[0]?.s3.object.key === key);
}

/** Every item of the table, by key (as DynamoDB JSON). */
export async function scanAll(stack: LocalStack): Promise<Map<string, Record<string, unknown>>> {
  const items = new Map<string, Record<string, unknown>>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await stack.clients.dynamodb.send(
      new ScanCommand({
        TableName: stack.names.table,
        ...(start ? { ExclusiveStartKey: start as never } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const key = item[stack.config.dataset.key];
      const text = key?.N ?? key?.S ?? '';
      if (items.has(text)) throw new Error(`key ${text} appears twice in a scan`);
      items.set(text, item);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** A bearer token from the local issuer. */
export async function token(stack: LocalStack): Promise<string> {
  return (await fetchToken(stack.endpoints)).access_token;
}

/**
 * The records a CSV file should leave in the table: one per key, the last
 * occurrence winning, each cell typed by the schema (empty optional cells absent).
 */
export function expectedItems(
  csv: Buffer,
  schema: DatasetSchema,
): Map<string, Record<string, unknown>> {
  const rows = parse(csv, { bom: true, columns: true, skip_empty_lines: true }) as Record<
    string,
    string
  >[];
  const items = new Map<string, Record<string, unknown>>();
  for (const row of rows) {
    const item: Record<string, unknown> = {};
    for (const column of schema.columns) {
      const cell = row[column.name] ?? '';
      if (cell.trim() === '') continue;
      item[column.name] = typed(column, cell);
    }
    items.set(String(Number(row[schema.key])), item);
  }
  return items;
}

function typed(column: ColumnSpec, cell: string): unknown {
  switch (column.type) {
    case 'number':
    case 'integer':
      return Number(cell.trim());
    case 'boolean':
      return ['true', 'yes', '1'].includes(cell.trim().toLowerCase());
    default:
      return column.type === 'date' ? cell.trim() : cell;
  }
}

/** Reads items through the HTTPS API with a fresh token, 100 keys per batch-get. */
export async function readThroughApi(
  stack: LocalStack,
  api: ApiClient,
  keys: readonly string[],
): Promise<Map<string, Record<string, unknown>>> {
  const bearer = await token(stack);
  const found = new Map<string, Record<string, unknown>>();
  for (let start = 0; start < keys.length; start += 100) {
    const batch = keys.slice(start, start + 100);
    const response = await api.send('POST', `/${stack.config.dataset.name}/batch-get`, {
      token: bearer,
      body: `{"keys":[${batch.join(',')}]}`,
    });
    if (response.status !== 200)
      throw new Error(`batch-get answered ${response.status}: ${response.body}`);
    const body = JSON.parse(response.body) as { items: Record<string, unknown>[] };
    for (const item of body.items) found.set(String(item[stack.config.dataset.key]), item);
  }
  return found;
}

/**
 * The bad sample files and, line by line, the InvalidFileError message that
 * sample-files/README.md documents for each (its "Bad files" table).
 */
export function documentedBadFiles(): Array<[string, string[]]> {
  const readme = readFileSync(join(SAMPLES, 'README.md'), 'utf8');
  const rows: Array<[string, string[]]> = [];
  for (const line of readme.split('\n')) {
    const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
    const file = /^`(bad-[^`]+\.(?:csv|jsonl|json))`$/.exec(cells[1] ?? '')?.[1];
    if (!file) continue;
    const message = (cells[3] ?? '').split('<br>').map((part) => part.replace(/^`|`$/g, ''));
    rows.push([file, message]);
  }
  if (rows.length === 0) throw new Error('sample-files/README.md documents no bad files');
  return rows;
}
