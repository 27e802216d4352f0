/**
 * What the console's server sends its page: plain JSON shapes, shared by the
 * server (local/console/*.ts) and the page (local/console/ui/*). No imports, so
 * both sides compile it. Fields are added, never renamed: the page shows fields
 * it does not know generically (chunk summaries, the execution input, the
 * failure record), so new fields of the workflow show up without a change here.
 */

/** An execution's status, as Step Functions reports it. */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** A state's status in one execution (the colours of the graph). */
export type StateStatus =
  | 'NOT_STARTED'
  | 'IN_PROGRESS'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'CAUGHT'
  | 'ABORTED';

/** Every state status, in the order the legend shows them. */
export const STATE_STATUSES: readonly StateStatus[] = [
  'IN_PROGRESS',
  'SUCCEEDED',
  'FAILED',
  'CAUGHT',
  'ABORTED',
  'NOT_STARTED',
];

/** One line of the executions list. */
export interface ExecutionSummary {
  readonly name: string;
  readonly executionArn: string;
  readonly status: ExecutionStatus;
  /** The S3 key the execution ingests (its name when the input has none). */
  readonly file: string;
  /** ISO 8601. */
  readonly startDate: string;
  readonly stopDate?: string;
  /** Milliseconds from start to stop (or to now while running). */
  readonly durationMs: number;
  readonly rowsWritten: number;
  /** Rows to write: the file's rows less the duplicates a later row supersedes. */
  readonly rowsTotal?: number;
  /** Data rows in the file, as planned. */
  readonly rowsInFile?: number;
  readonly chunksDone: number;
  /** Chunks planned, once the plan is known. */
  readonly chunksTotal?: number;
  readonly error?: string;
  /** The first problem of the cause, for one line. */
  readonly errorMessage?: string;
  /** ARN of the failed execution this one redrives. */
  readonly redriveOf?: string;
  /** History events so far (the page refetches the detail when it grows). */
  readonly eventCount: number;
}

/** The Map's iterations: how many are done, running, failed, and task attempts retried. */
export interface MapProgress {
  /** The Map state's name. */
  readonly state: string;
  /** Iterations (chunks) the Map runs, once it has started. */
  readonly total?: number;
  readonly done: number;
  readonly running: number;
  readonly failed: number;
  /** Task attempts inside the Map that failed and were tried again. */
  readonly retried: number;
}

/** One item of the Map (a planned chunk) and what became of it. */
export interface ChunkView {
  readonly index: number;
  readonly status: StateStatus;
  /** The item as the Map received it (for a chunk: start, end, firstLine, rows, skip). */
  readonly item: Readonly<Record<string, unknown>>;
  /** The iteration's output (for a chunk: its ChunkSummary), once it succeeded. */
  readonly summary?: Readonly<Record<string, unknown>>;
}

/** A failure record as the workflow built it for the DLQ, and whether it was sent. */
export interface FailureView {
  /**
   * The record's `failure` object (error, cause, state, time, ...): as BuildFailureRecord
   * made it to send (plain cause, `cut` when it was shortened), else as the `*Failed`
   * state built it.
   */
  readonly failure: Readonly<Record<string, unknown>>;
  /** The cause in readable form (a Lambda error payload's message, else the cause). */
  readonly readableCause: string;
  /** Whether the DLQ send (SendToDeadLetterQueue) delivered it: false when the record was lost. */
  readonly sentToDlq: boolean;
}

/** One history event, as GetExecutionHistory returns it (timestamps as ISO text). */
export interface HistoryEventView {
  readonly id: number;
  readonly previousEventId: number;
  readonly timestamp: string;
  readonly type: string;
  readonly [details: string]: unknown;
}

/** Everything the execution page shows. */
export interface ExecutionDetail extends ExecutionSummary {
  readonly input: string;
  readonly output?: string;
  readonly cause?: string;
  /** Status of every state of the definition, by state name. */
  readonly states: Readonly<Record<string, StateStatus>>;
  /** How many times each state was entered, by state name. */
  readonly entered: Readonly<Record<string, number>>;
  readonly map?: MapProgress;
  readonly chunks: readonly ChunkView[];
  readonly failure?: FailureView;
  readonly events: readonly HistoryEventView[];
}

/** A dataset as the records view shows it: its name, key, table and columns. */
export interface ConsoleDataset {
  /** The resource name: the API path `/<name>` and the key prefix of its files. */
  readonly name: string;
  readonly key: string;
  readonly keyType: 'S' | 'N';
  readonly table: string;
  /** Column names in schema order (the records table's columns). */
  readonly columns: readonly string[];
}

/** What the page needs to know once: names, the definition, what it may do. */
export interface ConsoleConfig {
  /** The first dataset (the one `/api/records` reads when no `dataset` is given). */
  readonly dataset: ConsoleDataset;
  /** Every dataset of the stack, in configured order (the first is `dataset`). */
  readonly datasets: readonly ConsoleDataset[];
  readonly bucket: string;
  /** The first dataset's table. */
  readonly table: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly stateMachineArn: string;
  /** The state machine definition exactly as the Step Functions endpoint serves it. */
  readonly definition: string;
  /** Whether the request carried this start's token (uploads and redrives are allowed). */
  readonly canChange: boolean;
  /** Part size of multipart uploads, in bytes (files larger than this go up in parts). */
  readonly partSize: number;
}

/** One object of the bucket. */
export interface ObjectView {
  readonly key: string;
  readonly size: number;
  readonly lastModified?: string;
  readonly eTag?: string;
}

/** The bucket listing. */
export interface ObjectsPage {
  readonly objects: readonly ObjectView[];
  /** Pass as `after` for the next page; absent on the last one. */
  readonly next?: string;
}

/** What an upload did. */
export interface UploadResult {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly eTag?: string;
  /** Parts of the multipart upload (1: a single PutObject). */
  readonly parts: number;
  readonly durationMs: number;
}

/** One message of the dead-letter queue. */
export interface DlqMessageView {
  readonly messageId: string;
  /** The file the record is about (decoded S3 key), when it is a failure record. */
  readonly file?: string;
  readonly error?: string;
  readonly cause?: string;
  readonly readableCause?: string;
  /** The first problem of the cause, for one line. */
  readonly problem?: string;
  readonly state?: string;
  readonly time?: string;
  readonly executionArn?: string;
  /** When SQS received the message (ISO 8601). */
  readonly sentAt?: string;
  /** How often the message was received (for starter failures: up to maxReceiveCount). */
  readonly receiveCount?: number;
  /** The message body exactly as it is in the queue. */
  readonly body: string;
}

/** The DLQ listing. */
export interface DlqView {
  readonly queueUrl: string;
  readonly sourceQueueUrl: string;
  readonly messages: readonly DlqMessageView[];
}

/** What a redrive did. */
export interface RedriveResult {
  readonly moved: number;
  readonly requested: number;
}

/** One HTTP exchange of the token flow, as the console made it. */
export interface HttpStep {
  readonly title: string;
  /** A curl command that makes the same request. */
  readonly curl: string;
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The response body (the access token shortened). */
  readonly body: string;
  readonly durationMs: number;
}

/** A records request: the steps it took (token, then the API call) and the answer. */
export interface RecordsResult {
  readonly steps: readonly HttpStep[];
  /** The API's status. */
  readonly status: number;
  /** The API's body, exactly as sent (numbers keep their digits). */
  readonly body: string;
  /** Claims of the access token used (decoded, not verified: the API verified it). */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** A window of an object's lines. */
export interface LinesView {
  readonly key: string;
  /** 1-based physical line number of the first line. */
  readonly firstLine: number;
  readonly lines: readonly string[];
  /** Byte offset of the first line and just past the last one. */
  readonly start: number;
  readonly end: number;
  /** Where the next window starts, when the range goes on. */
  readonly next?: { readonly start: number; readonly firstLine: number };
  readonly objectSize: number;
}

/** A server-sent event: its name and data. */
export type ConsoleEvent =
  | { readonly type: 'execution'; readonly data: ExecutionSummary }
  | { readonly type: 'dlq'; readonly data: { readonly reason: string } }
  | { readonly type: 'objects'; readonly data: { readonly key?: string } };

/** The header that carries the per-start token on requests that change something. */
export const TOKEN_HEADER = 'x-console-token';
