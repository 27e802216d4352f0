import { join, resolve } from 'node:path';
import type { Message } from '@aws-sdk/client-sqs';
import type { FailureRecord } from '../../handlers/shared/contracts.js';
import { DEFAULT_DATA_DIR } from '../config.js';
import type { Endpoints } from '../endpoints.js';
import { count, duration, progressBar, readableCause, table, truncate } from './format.js';
import {
  type HistoryEventLike,
  type IngestProgress,
  progressFromHistory,
  rowsSoFar,
} from './progress.js';

/** What the views need to know about an execution (from the API or in-process). */
export interface ExecutionView {
  readonly name: string;
  readonly status: string;
  readonly input: string;
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
  readonly startDate: Date;
  readonly stopDate?: Date;
  readonly events: readonly HistoryEventLike[];
  /** While it runs: rows each loading chunk has reported so far, by chunk index. */
  readonly liveRows?: ReadonlyMap<number, number>;
}

/** The S3 key an execution ingests (from its input), or its name. */
export function fileOf(execution: Pick<ExecutionView, 'input' | 'name'>): string {
  try {
    const input = JSON.parse(execution.input) as { file?: { key?: string } };
    return input.file?.key ?? execution.name;
  } catch {
    return execution.name;
  }
}

/**
 * Rows an execution wrote: the Summarize output, else what the history shows so far
 * plus what its loading chunks have reported (`progress`: the history's, when the
 * caller has it already).
 */
export function rowsOf(
  execution: Pick<ExecutionView, 'output' | 'events' | 'liveRows'>,
  progress: IngestProgress = progressFromHistory(execution.events),
): number {
  if (execution.output) {
    try {
      const output = JSON.parse(execution.output) as { written?: unknown };
      if (typeof output.written === 'number') return output.written;
    } catch {
      // fall through to the history
    }
  }
  return rowsSoFar(progress, execution.liveRows);
}

/**
 * The format the planner chose (`csv`, `jsonl`, `json`): from the execution output,
 * else from PlanFile's output in the history; `-` before planning.
 */
export function formatOfExecution(execution: Pick<ExecutionView, 'output' | 'events'>): string {
  const formatIn = (
    text: string | undefined,
    pick: (value: Record<string, unknown>) => unknown,
  ) => {
    try {
      const value: unknown = pick(JSON.parse(text ?? '') as Record<string, unknown>);
      return typeof value === 'string' ? value : undefined;
    } catch {
      return undefined;
    }
  };
  const planned = execution.events.find(
    (event) =>
      event.type === 'TaskStateExited' && event.stateExitedEventDetails?.name === 'PlanFile',
  );
  return (
    formatIn(execution.output, (output) => output.format) ??
    formatIn(
      planned?.stateExitedEventDetails?.output,
      (state) => (state.plan as { format?: unknown } | undefined)?.format,
    ) ??
    '-'
  );
}

/** One live line: file, bar, chunks done of total, rows written, status, elapsed, why it failed. */
export function progressLine(
  execution: ExecutionView,
  fileWidth: number,
  now = Date.now(),
): string {
  const progress = progressFromHistory(execution.events);
  const elapsed = (execution.stopDate?.getTime() ?? now) - execution.startDate.getTime();
  // A failed execution's last task failure is its error, shown as such; the others were retried.
  const retried = progress.taskFailures - (execution.status === 'FAILED' ? 1 : 0);
  const note =
    execution.status === 'FAILED' && execution.error
      ? ` ${truncate(`${execution.error}: ${firstProblem(execution.cause)}`, 60)}`
      : retried > 0
        ? ` ${retried} task attempt(s) retried`
        : '';
  return (
    [
      truncate(fileOf(execution), fileWidth).padEnd(fileWidth),
      progressBar(progress.chunksDone, progress.chunks),
      chunksText(execution, progress).padEnd(16),
      `${count(rowsOf(execution))} rows`.padEnd(14),
      execution.status.padEnd(9),
      duration(elapsed).padEnd(6),
    ].join(' ') + note
  ).trimEnd();
}

function chunksText(execution: ExecutionView, progress: IngestProgress): string {
  if (progress.chunks !== undefined) return `${progress.chunksDone}/${progress.chunks} chunks`;
  return execution.status === 'RUNNING' ? 'planning' : 'not planned';
}

/** The CLI's execution list: progress, status and the name `history` takes. */
export function executionsTable(executions: readonly ExecutionView[], now = Date.now()): string {
  if (executions.length === 0) return '(no executions yet)';
  return table(
    ['file', 'format', 'progress', 'chunks', 'rows', 'status', 'duration', 'execution'],
    executions.map((execution) => {
      const progress = progressFromHistory(execution.events);
      return [
        truncate(fileOf(execution), 40),
        formatOfExecution(execution),
        progressBar(progress.chunksDone, progress.chunks),
        chunksText(execution, progress),
        count(rowsOf(execution)),
        execution.status,
        duration((execution.stopDate?.getTime() ?? now) - execution.startDate.getTime()),
        execution.name,
      ];
    }),
  );
}

/** The summary table printed once the sample files are done. */
export function summaryTable(executions: readonly ExecutionView[]): string {
  return table(
    ['file', 'format', 'status', 'rows', 'duration', 'error'],
    executions.map((execution) => [
      fileOf(execution),
      formatOfExecution(execution),
      execution.status,
      execution.status === 'SUCCEEDED' ? count(rowsOf(execution)) : '0',
      duration(
        execution.stopDate
          ? execution.stopDate.getTime() - execution.startDate.getTime()
          : undefined,
      ),
      execution.error ? truncate(`${execution.error}: ${firstProblem(execution.cause)}`, 100) : '',
    ]),
  );
}

/** The DLQ listing: which file, which error, why. */
export function dlqTable(messages: readonly Message[]): string {
  if (messages.length === 0) return '(empty)';
  const rows = messages.map((message) => {
    const record = parseFailure(message.Body ?? '');
    const key = record?.Records[0]?.s3.object.key;
    return [
      key ? decodeURIComponent(key.replaceAll('+', ' ')) : '(not a failure record)',
      record?.failure?.error ?? 'never started (maxReceiveCount reached)',
      truncate(firstProblem(record?.failure?.cause), 100),
    ];
  });
  // SQS returns messages in no particular order: list them by file.
  return table(
    ['file', 'error', 'cause'],
    rows.sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? '')),
  );
}

/**
 * The most useful line of a failure's cause: the first problem an
 * InvalidFileError lists (with how many more follow), else the message.
 */
export function firstProblem(cause: string | undefined): string {
  const lines = readableCause(cause)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (lines.length <= 1) return lines[0] ?? '';
  const more = lines.length - 2;
  return `${lines[1]}${more > 0 ? ` (+${more} more)` : ''}`;
}

/** Parses a DLQ message body as a failure record (or an S3 event that failed in the starter). */
export function parseFailure(
  body: string,
): (Partial<FailureRecord> & Pick<FailureRecord, 'Records'>) | undefined {
  try {
    const parsed = JSON.parse(body) as Partial<FailureRecord>;
    return Array.isArray(parsed.Records) ? (parsed as FailureRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** A copy-paste pair of commands: fetch a token, then read one item with it. */
export function curlPair(endpoints: Endpoints, key: string | undefined): string {
  const path = `/${endpoints.dataset.name}/${key === undefined ? '<key>' : encodeURIComponent(key)}`;
  return `${tokenCurl(endpoints)}\n${apiCurl(endpoints, path)}`;
}

/** The curl command that gets an access token into $TOKEN (client-credentials grant). */
export function tokenCurl(
  endpoints: Pick<Endpoints, 'clientId' | 'clientSecret' | 'scope' | 'tokenUrl'>,
): string {
  return (
    `TOKEN=$(curl -s -u ${endpoints.clientId}:${endpoints.clientSecret} ` +
    // Several datasets: several scopes, one shell word.
    `-d grant_type=client_credentials -d ${endpoints.scope.includes(' ') ? `'scope=${endpoints.scope}'` : `scope=${endpoints.scope}`} ${endpoints.tokenUrl} ` +
    `| sed -E 's/.*"access_token":"([^"]+)".*/\\1/')`
  );
}

/** The curl command that calls the HTTPS API at `path` with the token in $TOKEN. */
export function apiCurl(endpoints: Pick<Endpoints, 'api' | 'caCertFile'>, path: string): string {
  const url = `${endpoints.api}${path}`;
  // A query string holds shell characters (? &): quote it.
  const arg = /[?&]/.test(url) ? `'${url}'` : url;
  return `curl --cacert ${endpoints.caCertFile} -H "Authorization: Bearer $TOKEN" ${arg}`;
}

/**
 * How to reach a running stack with the CLI, as `npm start` prints it: for a data
 * directory other than the default, the LOCAL_DATA_DIR to set, absolute so the line
 * works from any directory.
 */
export function cliLine(dataDir: string): string {
  const dir = resolve(dataDir);
  const env = dir === DEFAULT_DATA_DIR ? '' : `LOCAL_DATA_DIR=${shellWord(dir)} `;
  return `CLI: ${env}npm run cli -- help   ·   endpoints: ${join(dir, 'endpoints.json')}`;
}

/** A word a POSIX shell reads back as `text`: as it is when safe, else single-quoted. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}
