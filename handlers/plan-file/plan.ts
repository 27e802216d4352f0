import {
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type Clock, DEFAULT_UNREACHABLE_BUDGET_MS, invocationClock } from '../shared/backoff.js';
import type { ChunkPlan, FilePlan, FileRef, PlannedObject } from '../shared/contracts.js';
import { type CsvRecord, readCsvBatches } from '../shared/csv.js';
import type { DatasetSchema, FileFormat } from '../shared/dataset.js';
import {
  describeError,
  EmptyFileError,
  type FileProblem,
  FileReadError,
  FileTooLargeError,
  httpStatusOf,
  InvalidFileError,
  isClientFault,
  MalformedCsvError,
  MalformedJsonError,
  NamedError,
  ObjectAccessError,
  ObjectChangedError,
  ObjectNotFoundError,
  PlanTooLargeError,
  UnsupportedFileTypeError,
} from '../shared/errors.js';
import {
  acceptedContentTypes,
  FORMAT_NAMES,
  type FormatChoice,
  firstNonBlank,
  formatOf,
  SNIFF_BYTES,
  sniffFormat,
} from '../shared/formats.js';
import { type JsonRecord, readJsonBatches } from '../shared/json-records.js';
import { checkJsonRecord, jsonLayout } from '../shared/json-rows.js';
import { provenanceBytes } from '../shared/provenance.js';
import { checkRow, type HeaderLayout, type RowCheck, validateHeader } from '../shared/rows.js';
import { sendUntilS3Answers, type UnansweredPolicy } from '../shared/s3-calls.js';
import { SEQUENCER_WIDTH } from '../shared/upload-order.js';
import { ChunkCutter, chunkLayout } from './chunk-sizing.js';
import { KeyIndex } from './key-index.js';

/** Planner settings, read once from the environment by the handler. */
export interface PlanConfig {
  readonly schema: DatasetSchema;
  /** Largest object accepted. @default 5368709120 (5 GiB) */
  readonly maxFileBytes: number;
  /** Largest chunk size the planner aims for (chunk-sizing.ts). @default 4194304 (4 MiB) */
  readonly chunkTargetBytes: number;
  /** Hard cap on chunks per file: the target grows to `ceil(size / maxChunks)` for huge files. @default 1000 */
  readonly maxChunks: number;
  /** Chunks the workflow loads at once: a file big enough gets at least this many. @default 10 */
  readonly mapMaxConcurrency: number;
  /** Largest record accepted (csv-parse `max_record_size`). @default 409600 */
  readonly maxRecordBytes: number;
  /** Problems listed in an InvalidFileError (all are counted). @default 20 */
  readonly maxReportedErrors: number;
  /** Largest plan (JSON bytes) handed to the workflow, far below the 256 KiB state limit. @default 163840 */
  readonly maxPlanBytes: number;
  /** How long S3 calls are repeated while S3 does not answer at all. @default DEFAULT_UNANSWERED_POLICY */
  readonly unanswered?: UnansweredPolicy;
}

/** Two minutes without an answer from S3 (cdk.json `unreachableBudgetSeconds`), as for the loader. */
export const DEFAULT_UNANSWERED_POLICY: UnansweredPolicy = {
  unreachableBudgetMs: DEFAULT_UNREACHABLE_BUDGET_MS,
  baseDelayMs: 100,
  maxDelayMs: 10_000,
  safetyMarginMs: 10_000,
};

/** Bytes a skip entry adds to the plan's JSON at most (index digits and a comma). */
const SKIP_ENTRY_BYTES = 8;

/** S3 location as users write it, for messages. */
export function fileLabel(file: Pick<FileRef, 'bucket' | 'key'>): string {
  return `s3://${file.bucket}/${file.key}`;
}

/** Errors about the uploaded file itself, not the system: the DLQ record explains them to the uploader. */
const FILE_ERRORS: ReadonlySet<string> = new Set(
  [
    InvalidFileError,
    EmptyFileError,
    UnsupportedFileTypeError,
    FileTooLargeError,
    ObjectNotFoundError,
    ObjectChangedError,
    PlanTooLargeError,
  ].map((type) => type.name),
);

/** True when planning stopped because of the file (bad, gone, changed), not because of the system. */
export function isRejectedFile(error: unknown): error is NamedError {
  return error instanceof NamedError && FILE_ERRORS.has(error.name);
}

/**
 * Plans one object version: HeadObject checks (exists, not empty, a format the
 * dataset accepts, within the size limit), then one streamed GetObject (IfMatch the
 * head's ETag) through the format's reader and `planRecords` or `planJsonRecords`.
 * Throws the named errors of handlers/shared/errors.ts.
 */
export async function planFile(
  s3: S3Client,
  file: FileRef,
  config: PlanConfig,
  clock: Clock = invocationClock(),
): Promise<FilePlan> {
  // While S3 does not answer at all, HeadObject and GetObject are repeated for a bounded time.
  const repeat: Repeat = (call, send) =>
    sendUntilS3Answers(call, send, config.unanswered ?? DEFAULT_UNANSWERED_POLICY, clock);
  const { object, choice } = await headObject(s3, repeat, file, config);
  const label = fileLabel(object);
  if (choice.format !== undefined) checkFormat(label, choice, config.schema);
  let source: AsyncIterable<Uint8Array> = readErrorsAreRetryable(
    await getObjectBody(s3, repeat, object),
    label,
  );
  let format = choice.format;
  if (format === undefined) {
    const sniffed = await sniff(source);
    source = sniffed.body;
    format = sniffed.format;
    checkFormat(label, { format, by: 'first byte', detail: choice.detail }, config.schema);
  }
  if (format === 'csv') {
    const records = readCsvBatches(source, {
      delimiter: config.schema.delimiter,
      maxRecordBytes: config.maxRecordBytes,
    });
    return planRecords(records, object, config);
  }
  const records = readJsonBatches(source, format, { maxRecordBytes: config.maxRecordBytes });
  return planJsonRecords(records, object, config, format);
}

/** Refuses a format the dataset does not accept, saying how the format was chosen. */
function checkFormat(label: string, choice: FormatChoice, schema: DatasetSchema): void {
  const { format } = choice;
  if (format === undefined || schema.formats.includes(format)) return;
  const how =
    choice.by === 'first byte'
      ? `its first byte (${choice.detail} does not say)`
      : `its ${choice.by} ${choice.detail}`;
  throw new UnsupportedFileTypeError(
    `${label} is ${FORMAT_NAMES[format]} (by ${how}), but dataset "${schema.name}" accepts ${schema.formats.map((accepted) => FORMAT_NAMES[accepted]).join(', ')} only`,
  );
}

/**
 * Reads the body's first pieces until a non-blank byte (or SNIFF_BYTES) shows the
 * format, and returns the format with the body whole again (the pieces read put back).
 */
async function sniff(
  body: AsyncIterable<Uint8Array>,
): Promise<{ format: FileFormat; body: AsyncIterable<Uint8Array> }> {
  const iterator = body[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let bytes = 0;
  let done = false;
  while (bytes < SNIFF_BYTES) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    head.push(next.value);
    bytes += next.value.length;
    if (firstNonBlank(Buffer.concat(head)) !== -1) break;
  }
  const format = sniffFormat(Buffer.concat(head));
  async function* whole(): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      yield* head;
      if (done) return;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        yield next.value;
      }
    } finally {
      // Planning that stops early closes the S3 stream, as a for-await over it would.
      if (!done) await iterator.return?.();
    }
  }
  return { format, body: whole() };
}

/**
 * The most bytes the loader's provenance attributes add to each item of this object
 * (the sequencer at its padded width), so a row is refused here rather than by
 * DynamoDB when its stamped item would pass 400 KB.
 */
function provenanceBytesBound(object: PlannedObject): number {
  return provenanceBytes({
    uploadedAt: '0000-00-00T00:00:00.000Z',
    key: object.key,
    sequencer: '0'.repeat(SEQUENCER_WIDTH),
    version: object.versionId ?? object.eTag,
  });
}

/**
 * Passes the body through, turning a failure of the stream itself (a broken
 * connection, a timeout) into the retryable FileReadError. Errors of the consumer
 * (validation) never pass through here: they end the iteration from the other side.
 */
async function* readErrorsAreRetryable(
  body: AsyncIterable<Uint8Array>,
  label: string,
): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    yield* body;
  } catch (error) {
    throw new FileReadError(`reading ${label} failed: ${describeError(error)}`, { cause: error });
  }
}

/** Sends one S3 call, repeated while S3 does not answer; `call` names it in errors. */
type Repeat = <T>(call: string, send: () => Promise<T>) => Promise<T>;

async function headObject(
  s3: S3Client,
  repeat: Repeat,
  file: FileRef,
  config: PlanConfig,
): Promise<{ object: PlannedObject; choice: FormatChoice }> {
  const label = fileLabel(file);
  let head: HeadObjectCommandOutput;
  try {
    head = await repeat(`HeadObject of ${label}`, () =>
      s3.send(
        new HeadObjectCommand({
          Bucket: file.bucket,
          Key: file.key,
          ...(file.versionId ? { VersionId: file.versionId } : {}),
        }),
      ),
    );
  } catch (error) {
    if (httpStatusOf(error) === 404) {
      throw new ObjectNotFoundError(
        `${label}${file.versionId ? ` version ${file.versionId}` : ''} no longer exists; nothing to ingest (upload the file again to ingest it)`,
        { cause: error },
      );
    }
    throw transient(error, file);
  }
  const size = head.ContentLength ?? 0;
  const choice = checkObject(label, { ...head, ContentLength: size }, config);
  if (!head.ETag) throw new FileReadError(`HeadObject returned no ETag for ${label}`);
  const object = {
    bucket: file.bucket,
    key: file.key,
    ...(file.versionId ? { versionId: file.versionId } : {}),
    eTag: head.ETag,
    size,
  };
  return { object, choice };
}

/**
 * Rejects, before reading a byte, objects the planner cannot load: empty, too large,
 * a content type of no supported format, a charset other than UTF-8, or compressed.
 * Returns the format the name or content type decides (undefined: the first byte will).
 */
export function checkObject(
  label: string,
  head: {
    readonly ContentLength: number;
    readonly ContentType?: string | undefined;
    readonly ContentEncoding?: string | undefined;
  },
  config: Pick<PlanConfig, 'maxFileBytes'>,
): FormatChoice {
  if (head.ContentLength === 0) throw new EmptyFileError(`${label} is empty (0 bytes)`);
  if (head.ContentLength > config.maxFileBytes) {
    throw new FileTooLargeError(
      `${label} is ${head.ContentLength} bytes, over the ${config.maxFileBytes}-byte limit (MAX_FILE_BYTES); split it into smaller files`,
    );
  }
  const [mediaType = '', ...parameters] = (head.ContentType ?? '')
    .split(';')
    .map((part) => part.trim().toLowerCase());
  const choice = formatOf(label, mediaType);
  if ('unsupported' in choice) {
    throw new UnsupportedFileTypeError(
      `${label} has content type "${head.ContentType}", which is none of the formats loaded (CSV, JSON Lines, JSON array); expected one of ${acceptedContentTypes().join(', ')}, or a name ending in .csv, .jsonl, .ndjson or .json`,
    );
  }
  const charset = parameters.find((parameter) => parameter.startsWith('charset='))?.slice(8);
  if (charset !== undefined && !['utf-8', 'utf8', 'us-ascii'].includes(charset.replace(/"/g, ''))) {
    throw new UnsupportedFileTypeError(
      `${label} declares charset ${charset}; save the file as UTF-8 and upload it again`,
    );
  }
  const encoding = (head.ContentEncoding ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity' && encoding !== 'utf-8') {
    throw new UnsupportedFileTypeError(
      `${label} is stored with Content-Encoding "${head.ContentEncoding}"; upload the plain, uncompressed file`,
    );
  }
  return choice;
}

async function getObjectBody(
  s3: S3Client,
  repeat: Repeat,
  object: PlannedObject,
): Promise<AsyncIterable<Uint8Array>> {
  const label = fileLabel(object);
  try {
    const response = await repeat(`GetObject of ${label}`, () =>
      s3.send(
        new GetObjectCommand({
          Bucket: object.bucket,
          Key: object.key,
          ...(object.versionId ? { VersionId: object.versionId } : {}),
          IfMatch: object.eTag,
        }),
      ),
    );
    const body: unknown = response.Body;
    if (!isByteStream(body)) {
      throw new FileReadError(`GetObject returned no readable body for ${label}`);
    }
    return body;
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === 404) {
      throw new ObjectNotFoundError(`${label} was deleted while it was being planned`, {
        cause: error,
      });
    }
    if (status === 412) {
      throw new ObjectChangedError(
        `${label} was overwritten while it was being planned; the new version is ingested by its own execution`,
        { cause: error },
      );
    }
    throw transient(error, object);
  }
}

/**
 * Our own named errors pass through; what S3 refused (a 4xx other than the 404 and
 * 412 handled by the caller) becomes the terminal ObjectAccessError; anything else (a
 * 5xx after the SDK's own retries, a timeout, a dropped connection with no response
 * at all) becomes the retryable FileReadError.
 */
function transient(error: unknown, file: FileRef): unknown {
  if (error instanceof NamedError) return error;
  const label = fileLabel(file);
  if (isClientFault(error)) {
    const version = file.versionId ? ` version ${file.versionId}` : '';
    return new ObjectAccessError(
      `S3 refused to read ${label}${version} (HTTP ${httpStatusOf(error) ?? '4xx'}, ${describeError(error)}); check that the planner's role may s3:GetObject it (and decrypt it, if it is KMS-encrypted). Without s3:ListBucket, S3 answers 403 instead of 404 for a missing object`,
      { cause: error },
    );
  }
  return new FileReadError(`reading ${label} failed: ${describeError(error)}`, { cause: error });
}

/**
 * Plans a CSV file from its records (the header first): validates the header and
 * every row, finds chunk boundaries at record ends, and marks each row whose key
 * occurs again later in the file so the loaders skip it (the last occurrence wins).
 * Throws InvalidFileError listing the first problems, EmptyFileError, or
 * PlanTooLargeError; never returns a plan for an invalid file. `records` yields
 * records one by one or in batches (readCsvBatches: one await per source piece).
 */
export async function planRecords(
  records: AsyncIterable<CsvRecord | readonly CsvRecord[]>,
  object: PlannedObject,
  config: PlanConfig,
): Promise<FilePlan> {
  const stampBytes = provenanceBytesBound(object);
  let layout: HeaderLayout | undefined;
  return planChecked(records, object, config, 'csv', {
    check(record) {
      if (layout === undefined) {
        const checked = validateHeader(record.fields, config.schema, record.line);
        if (!checked.ok) return { ok: false, problems: checked.problems, header: true };
        ({ layout } = checked);
        return HEADER;
      }
      // The record's length bounds its item's size: most rows need no byte counting.
      return checkRow(layout, record.fields, record.line, stampBytes, record.end - record.start);
    },
    header: () => layout?.header,
    malformed: (problem) => withFieldName(problem, layout),
  });
}

/**
 * Plans a JSON Lines or JSON array file from its records as planRecords plans a CSV
 * file (the same checks, chunking and duplicate handling); the plan has no header.
 */
export async function planJsonRecords(
  records: AsyncIterable<readonly JsonRecord[]>,
  object: PlannedObject,
  config: PlanConfig,
  format: Exclude<FileFormat, 'csv'>,
): Promise<FilePlan> {
  const stampBytes = provenanceBytesBound(object);
  const layout = jsonLayout(config.schema);
  return planChecked(records, object, config, format, {
    check: (record) => checkJsonRecord(layout, record, stampBytes),
    header: () => [],
    malformed: (problem) => problem,
  });
}

/** The record was a header, and a good one. */
const HEADER = { ok: 'header' } as const;

/** How the planner checks one format's records. */
interface RecordChecker<R> {
  /** A data row's check; HEADER for a good header; a bad header's problems with `header`. */
  check(
    record: R,
  ): RowCheck | typeof HEADER | { ok: false; problems: readonly FileProblem[]; header: true };
  /** The header names for the plan; undefined when the file had no header row. */
  header(): readonly string[] | undefined;
  /** A malformed-text problem as listed. */
  malformed(problem: FileProblem): FileProblem;
}

/** The records of a file, with their byte ranges and lines, as every format's reader yields them. */
interface PlannedRecord {
  readonly line: number;
  readonly start: number;
  readonly end: number;
}

/** The planner proper, for any format's records (see planRecords). */
async function planChecked<R extends PlannedRecord>(
  records: AsyncIterable<R | readonly R[]>,
  object: PlannedObject,
  config: PlanConfig,
  format: FileFormat,
  checker: RecordChecker<R>,
): Promise<FilePlan> {
  const label = fileLabel(object);
  const { chunkBytes } = chunkLayout(object.size, config);
  const cutter = new ChunkCutter(chunkBytes);
  const problems: FileProblem[] = [];
  let totalProblems = 0;
  const report = (found: readonly FileProblem[]) => {
    totalProblems += found.length;
    for (const problem of found) {
      if (problems.length < config.maxReportedErrors) problems.push(problem);
    }
  };

  const chunks: MutableChunk[] = [];
  let open: MutableChunk | undefined;
  const keys = new KeyIndex();
  // Global indexes (0-based among data rows) of rows superseded by a later row.
  const superseded: number[] = [];
  const skipBudget = Math.floor(config.maxPlanBytes / SKIP_ENTRY_BYTES);
  let duplicateRows = 0;
  let totalRows = 0;

  try {
    // for-await closes the records (and so the S3 stream) whenever planning stops early.
    for await (const batch of records) {
      for (const record of isBatch(batch) ? batch : [batch]) {
        const row = checker.check(record);
        if (row.ok === 'header') continue;
        if (!row.ok && 'header' in row) {
          report(row.problems);
          throw new InvalidFileError(label, problems, totalProblems, 'header');
        }
        const index = totalRows++;
        if (!row.ok) {
          report(row.problems);
          continue;
        }
        // Once the file is known to be invalid, only problems matter: no plan will be made.
        if (totalProblems > 0) continue;

        const previous = keys.set(row.key, index);
        if (previous !== undefined) {
          duplicateRows++;
          if (superseded.length < skipBudget) superseded.push(previous);
        }
        open ??= {
          start: record.start,
          end: record.end,
          firstLine: record.line,
          first: index,
          rows: 0,
        };
        open.end = record.end;
        open.rows++;
        if (cutter.end(record.end)) {
          chunks.push(open);
          open = undefined;
        }
      }
    }
  } catch (error) {
    if (!(error instanceof MalformedCsvError || error instanceof MalformedJsonError)) throw error;
    // Parsing cannot go on past malformed text: list it even when the list is full.
    totalProblems++;
    problems.push(checker.malformed(error.problem));
    throw new InvalidFileError(label, problems, totalProblems, 'malformed');
  }
  const header = checker.header();
  if (header === undefined) throw new EmptyFileError(`${label} has no header row`);
  if (totalProblems > 0) throw new InvalidFileError(label, problems, totalProblems);
  if (open !== undefined) chunks.push(open);

  if (duplicateRows > skipBudget) {
    throw new PlanTooLargeError(
      `${label} has ${duplicateRows} rows whose key occurs again later in the file; at most ${skipBudget} fit in a plan (MAX_PLAN_BYTES ${config.maxPlanBytes}). Remove the duplicate rows or split the file`,
    );
  }
  const plan: FilePlan = {
    object,
    format,
    header,
    chunks: assignSkips(chunks, superseded),
    totalRows,
    duplicateRows,
    chunkBytes,
  };
  const planBytes = Buffer.byteLength(JSON.stringify(plan));
  if (planBytes > config.maxPlanBytes || plan.chunks.length > config.maxChunks) {
    throw new PlanTooLargeError(
      `the plan for ${label} is ${planBytes} bytes in ${plan.chunks.length} chunks, over MAX_PLAN_BYTES ${config.maxPlanBytes} or MAX_CHUNKS ${config.maxChunks}; remove duplicate rows or split the file`,
    );
  }
  return plan;
}

/** The problem with its column's header name, when the parser named a column of a known header. */
function withFieldName(problem: FileProblem, layout: HeaderLayout | undefined): FileProblem {
  const field = problem.column === undefined ? undefined : layout?.header[problem.column - 1];
  return field === undefined || problem.field !== undefined ? problem : { ...problem, field };
}

interface MutableChunk {
  start: number;
  end: number;
  firstLine: number;
  /** Global index of the chunk's first data row. */
  first: number;
  rows: number;
}

/** Turns global superseded-row indexes into each chunk's sorted, chunk-relative skip list. */
function assignSkips(chunks: readonly MutableChunk[], superseded: number[]): ChunkPlan[] {
  superseded.sort((a, b) => a - b);
  let cursor = 0;
  return chunks.map((chunk, index) => {
    const { rows } = chunk;
    const skip: number[] = [];
    while (cursor < superseded.length && (superseded[cursor] ?? 0) < chunk.first + rows) {
      skip.push((superseded[cursor] ?? 0) - chunk.first);
      cursor++;
    }
    return {
      index,
      start: chunk.start,
      end: chunk.end,
      firstLine: chunk.firstLine,
      rows,
      skip,
    };
  });
}

function isBatch<R>(value: R | readonly R[]): value is readonly R[] {
  return Array.isArray(value);
}

function isByteStream(body: unknown): body is AsyncIterable<Uint8Array> {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body;
}
