/**
 * Every named error of the system. The names are a contract: the Step Functions
 * workflow (`statemachines/ingest-file.asl.json`) retries and catches on
 * `error.name`, and the README's error catalogue documents each one.
 */

/** Base class: sets `name` from the subclass so `Retry`/`Catch` can match it. */
export abstract class NamedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Configuration (environment or cdk.json context) is missing or invalid. Never retried. */
export class ConfigurationError extends NamedError {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`Invalid ${source}:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * An SQS message on the file-events queue is neither an S3 event notification nor a
 * failure record. Not retryable: the message goes to the DLQ after maxReceiveCount.
 */
export class MalformedFileEventError extends NamedError {}

/**
 * The object changed (overwritten or deleted) between planning and loading, so a Range
 * GET with `IfMatch` failed. Not retried: loading would mix two versions. The new
 * version has its own notification and execution.
 */
export class ObjectChangedError extends NamedError {}

/**
 * A chunk's rows do not match its plan (row count or validity). Not retried: the object
 * is the planned version (IfMatch), so this means a planner/loader disagreement.
 */
export class ChunkPlanMismatchError extends NamedError {}

/**
 * Reading a chunk's byte range failed for a transient reason (network, S3 5xx after
 * the SDK's own retries). Retried by the workflow.
 */
export class ChunkReadError extends NamedError {}

/**
 * DynamoDB refused a chunk's BatchWriteItem for a reason that retrying cannot fix (the
 * table is missing, access is denied, an item is invalid). The message names the file,
 * chunk, lines and table; the cause is DynamoDB's error. Not retried.
 */
export class ChunkWriteError extends NamedError {}

/**
 * S3 refused to read the object (HTTP 403, or another 4xx that neither a retry nor
 * the file can change: access denied, a KMS key the role may not use, an archived
 * object). The message names the file and S3's answer. Not retried: fix the
 * permissions or restore the object, then redrive the failure record.
 */
export class ObjectAccessError extends NamedError {}

/**
 * The loader ran out of Lambda time while DynamoDB kept throttling or returning
 * UnprocessedItems. Retried by the workflow: a chunk rewrites the same items, so
 * re-running it is idempotent.
 */
export class ChunkTimeBudgetExceededError extends NamedError {}

/**
 * A chunk of an older upload of the same table was still writing with
 * BatchWriteItem when this chunk's Lambda time ran short; this chunk must write
 * after it (so the newer value lands last) and wrote nothing. Retried by the workflow.
 */
export class OlderLoadStillWritingError extends NamedError {}

/**
 * DynamoDB or S3 did not answer at all (connection refused, a DNS failure, a timeout,
 * a connection reset: no HTTP response) for longer than the handler's budget for it
 * (UNREACHABLE_BUDGET_MS, cdk.json `unreachableBudgetSeconds`). Not throttling and not
 * a refusal: nothing answered. Retried inside the planner or the loader for the
 * budget, then terminal: the workflow does not retry it again, so a file fails within
 * about the budget instead of running for half an hour. The message names the service.
 */
export class ServiceUnreachableError extends NamedError {}

/**
 * The workflow could not deliver a file's failure record to the dead-letter queue (the
 * send failed after its retries, or the record could not be built). Never thrown by a
 * handler: the workflow's `FailureRecordLost` Fail state ends the execution with this
 * name, and its cause names the file and why the record was lost. Alarms match the name.
 */
export class FailureRecordLostError extends NamedError {}

/** Where a file is wrong and why: one entry of an InvalidFileError. */
export interface FileProblem {
  /** 1-based physical line number (line breaks inside quoted fields count). */
  readonly line: number;
  /** 1-based column position in the header, when the problem is in one cell. */
  readonly column?: number;
  /** Header name of that column. */
  readonly field?: string;
  /** A short excerpt of the offending value. */
  readonly value?: string;
  readonly reason: string;
}

/** One line of text for a problem: `line 7, column 1 (isbn), value "97x": not a number`. */
export function formatProblem(problem: FileProblem): string {
  let where = `line ${problem.line}`;
  if (problem.column !== undefined) where += `, column ${problem.column}`;
  if (problem.field !== undefined) where += ` (${problem.field})`;
  if (problem.value !== undefined) where += `, value ${JSON.stringify(problem.value)}`;
  return `${where}: ${problem.reason}`;
}

/**
 * The CSV text itself is malformed at a line (unclosed or stray quote, invalid UTF-8,
 * a record over the size limit). Parsing cannot continue past it. Never retried.
 */
export class MalformedCsvError extends NamedError {
  constructor(readonly problem: FileProblem) {
    super(formatProblem(problem));
  }
}

/**
 * The JSON text of a JSON Lines or JSON array file is malformed at a place (a trailing
 * comma, an unclosed string, two top-level values, a byte order mark in the middle,
 * invalid UTF-8, a record over the size limit). In a JSON array parsing cannot go on
 * past it; in JSON Lines it is one bad line among the others. Never retried.
 */
export class MalformedJsonError extends NamedError {
  constructor(readonly problem: FileProblem) {
    super(formatProblem(problem));
  }
}

/**
 * Longest list of problems in an InvalidFileError message, in characters as they
 * stand JSON-escaped in the error cause. The Lambda runtime's error JSON holds the
 * message twice (`errorMessage`, and the first lines of `trace`), and Step Functions
 * keeps at most 32,768 characters of a cause: two lists plus the stack frames fit.
 */
export const MAX_MESSAGE_CHARS = 14_000;

/** Longest line about one problem, in characters (a reason can quote a whole header). */
const MAX_PROBLEM_CHARS = 1_000;

/** A value excerpt short enough for an error message: at most `chars` code points. */
export function excerpt(value: string, chars = 40): string {
  const codePoints = [...value];
  return codePoints.length <= chars ? value : `${codePoints.slice(0, chars - 1).join('')}…`;
}

/**
 * The file failed validation, so nothing was written. The message lists the first
 * problems (line, column, value, reason) and the total count. Never retried: fix the
 * file and upload it again.
 */
export class InvalidFileError extends NamedError {
  /** The problems the message lists: the first ones, as many as fit MAX_MESSAGE_CHARS. */
  readonly listed: readonly FileProblem[];

  constructor(
    readonly file: string,
    readonly problems: readonly FileProblem[],
    /** Every problem found, including those not listed. */
    readonly totalProblems: number,
    /**
     * Where validation stopped early, if it did: at a malformed line (more problems may
     * follow it) or at the header (the rows were not checked).
     */
    readonly stoppedAt?: 'malformed' | 'header',
  ) {
    // List only as many problems as fit MAX_MESSAGE_CHARS once JSON-escaped (a quote
    // in a value costs four characters there): see MAX_MESSAGE_CHARS.
    const lines: string[] = [];
    let length = 0;
    for (const problem of problems) {
      const line = excerpt(formatProblem(problem), MAX_PROBLEM_CHARS);
      // The escaped line, minus JSON.stringify's own quotes, plus the escaped "\n  " before it.
      const escaped = JSON.stringify(line).length + 2;
      if (length + escaped > MAX_MESSAGE_CHARS && lines.length > 0) break;
      lines.push(line);
      length += escaped;
    }
    const plural = totalProblems === 1 ? '' : 's';
    const count =
      stoppedAt === 'malformed'
        ? `at least ${totalProblems} error${plural}`
        : `${totalProblems} error${plural}${stoppedAt === 'header' ? ' in the header' : ''}`;
    const shown = lines.length < totalProblems ? ` (the first ${lines.length} are listed)` : '';
    const stop =
      stoppedAt === 'malformed'
        ? '; validation stopped at the malformed line'
        : stoppedAt === 'header'
          ? '; the rows were not checked'
          : '';
    super(
      `${file} is invalid, nothing was written: ${count}${shown}${stop}\n  ${lines.join('\n  ')}`,
    );
    this.listed = problems.slice(0, lines.length);
  }
}

/** The object is empty (0 bytes, or no header row). Never retried. */
export class EmptyFileError extends NamedError {}

/**
 * The object is not a file this system loads: a content type of no supported format, a
 * format the dataset's `formats` does not accept, another charset, or compressed. Never retried.
 */
export class UnsupportedFileTypeError extends NamedError {}

/** The object is larger than the configured MAX_FILE_BYTES. Never retried. */
export class FileTooLargeError extends NamedError {}

/**
 * The object (or the notified version) no longer exists. Terminal, never retried: a
 * deleted object will not come back, and a new upload has its own notification.
 */
export class ObjectNotFoundError extends NamedError {}

/**
 * The plan would not fit the workflow's payload budget (too many rows superseded by
 * a later row with the same key). Never retried: deduplicate or split the file.
 */
export class PlanTooLargeError extends NamedError {}

/**
 * The object's key names no configured dataset: its first segment (`books/2026/x.csv`
 * → `books`) is not a dataset's name, and the deployment has more than one dataset, so
 * an unprefixed key cannot be placed either. Never retried: upload the file again
 * under a known dataset's prefix.
 */
export class UnknownDatasetError extends NamedError {}

/** A Lambda task got input that does not match its contract (a workflow bug). Never retried. */
export class InvalidTaskInputError extends NamedError {}

/**
 * Reading the object failed for a transient reason (the stream broke, S3 answered
 * 5xx after the SDK's own retries). Retryable: planning again reads the same version.
 */
export class FileReadError extends NamedError {}

/** The HTTP status an AWS SDK error carries, when a response arrived at all. */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

/**
 * AWS error names that mean "too fast" or "too slow", not "wrong", even when they come
 * with a 4xx status (S3's `RequestTimeout` is HTTP 400, throttling is often 429 or 400).
 */
export const THROTTLING_OR_TIMEOUT_ERRORS: ReadonlySet<string> = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'TooManyRequestsException',
  'SlowDown',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/**
 * True when AWS rejected the request itself (HTTP 4xx, or an SDK `client` fault):
 * repeating it cannot help. Throttling and timeouts are never client faults, whatever
 * their status; anything else (a 5xx, a dropped connection with no response at all)
 * may succeed when tried again.
 */
export function isClientFault(error: unknown): boolean {
  if (error instanceof Error && THROTTLING_OR_TIMEOUT_ERRORS.has(error.name)) return false;
  const status = httpStatusOf(error);
  if (status !== undefined) return status >= 400 && status < 500;
  return (error as { $fault?: unknown } | null)?.$fault === 'client';
}

/** Error codes of a request that got no answer: refused, reset, unresolved, timed out. */
const NO_ANSWER_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/**
 * The network code of a request that never got an HTTP answer (`ECONNREFUSED`,
 * `ENOTFOUND`, `TimeoutError`, ...), or undefined when an answer arrived (or the
 * error is not a network error at all). An AWS error that came with an HTTP status,
 * throttling included, is never "unreachable".
 */
export function unreachableCode(error: unknown): string | undefined {
  // Shape, not `instanceof Error`: Node's socket errors come from its own realm, which
  // is not the caller's inside a VM context (a test runner, a sandbox).
  if (typeof error !== 'object' || error === null || httpStatusOf(error) !== undefined) {
    return undefined;
  }
  const { code, errors, name } = error as { code?: unknown; errors?: unknown; name?: unknown };
  if (typeof code === 'string' && NO_ANSWER_CODES.has(code)) return code;
  if (typeof name === 'string' && NO_ANSWER_CODES.has(name)) return name;
  // The SDK's connection and socket timeouts (@smithy/node-http-handler).
  if (name === 'TimeoutError') return 'TimeoutError';
  // Happy Eyeballs tried several addresses and each failed.
  if (Array.isArray(errors) && errors.length > 0) {
    const codes = errors.map((inner: unknown) => unreachableCode(inner));
    if (codes.every((inner) => inner !== undefined)) return codes[0];
  }
  return undefined;
}

/** `Name: message` of any thrown value, for the message of an error that wraps it. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
