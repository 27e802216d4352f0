import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import { KeyIndex } from '../plan-file/key-index.js';
import type { ChunkSummary, LoadChunkInput } from '../shared/contracts.js';
import { type CsvRecord, readCsvBatches } from '../shared/csv.js';
import type { DatasetSchema } from '../shared/dataset.js';
import {
  ChunkPlanMismatchError,
  ChunkReadError,
  describeError,
  formatProblem,
  httpStatusOf,
  isClientFault,
  MalformedCsvError,
  MalformedJsonError,
  NamedError,
  ObjectAccessError,
  ObjectChangedError,
  unreachableCode,
} from '../shared/errors.js';
import { type JsonRecord, readJsonBatches } from '../shared/json-records.js';
import { fillJsonItem, jsonLayout } from '../shared/json-rows.js';
import { lineText, provenanceBytes, stampItem, uploadAttributes } from '../shared/provenance.js';
import { fillItem, type Item, type RowCheck, validateHeader } from '../shared/rows.js';
import { sendUntilS3Answers } from '../shared/s3-calls.js';
import {
  BATCH_WRITE_LIMIT,
  type Clock,
  DEFAULT_UNREACHABLE_BUDGET_MS,
  type PendingPut,
  type RetryPolicy,
  writeBatch,
} from './batch-writer.js';
import { type ConditionalOutcome, writeBatchConditionally } from './conditional-writer.js';
import { type ItemWriter, sdkItemWriter } from './item-writer.js';
import { ChunkProgress } from './progress.js';
import { acquireWritePermit, type LeasePolicy, type WritePermit } from './write-lease.js';

/** Configuration of the loader (read once at cold start by the handler). */
export interface LoadChunkConfig {
  readonly schema: DatasetSchema;
  readonly tableName: string;
  /** The table of write leases and each data table's newest upload (see write-lease.ts). */
  readonly controlTableName: string;
  readonly lease: Omit<LeasePolicy, 'retry'>;
  /** BatchWriteItem calls in flight at once for one chunk. */
  readonly writeConcurrency: number;
  /** Largest record accepted, in bytes (the planner's limit). */
  readonly maxRecordBytes: number;
  readonly retry: RetryPolicy;
  /**
   * Least time between two reports of the rows written so far to the control table
   * (see handlers/shared/load-progress.ts), in ms; 0 turns them off. @default 0
   */
  readonly progressIntervalMs?: number;
}

/** The clients and the clock of one invocation. */
export interface LoadChunkDeps {
  readonly s3: S3Client;
  /** The control-table calls (write leases), and the item writes unless `writer` is given. */
  readonly dynamo: DynamoDBDocumentClient;
  /**
   * What the items are written with (the deployed loader: http-item-writer.ts).
   * @default sdkItemWriter(dynamo)
   */
  readonly writer?: ItemWriter;
  readonly clock: Clock;
  /** Milliseconds since an arbitrary origin, for the duration. @default performance.now */
  readonly now?: () => number;
  /** Wall-clock epoch milliseconds, for lease deadlines. @default Date.now */
  readonly wallClock?: () => number;
  /** A unique id for this invocation's lease. @default randomUUID */
  readonly leaseId?: () => string;
}

/** What the loader did, beyond the ChunkSummary contract, for logging. */
export interface LoadChunkStats {
  readonly batches: number;
  readonly retries: number;
  /** Older uploads' chunks this one waited for before writing. */
  readonly waitedFor: number;
  /** Progress reports that failed (advisory: the load goes on), and the last error. */
  readonly progressReportsFailed: number;
  readonly progressError?: unknown;
}

/**
 * Loads one planned chunk: a Range GET of exactly the planned object version
 * (IfMatch its ETag), parsed with the known header, converted to items stamped with
 * their provenance, and written 25 per BatchWriteItem call with bounded concurrency,
 * or one conditional PutItem per item when a newer or overlapping upload of the
 * table exists (write-lease.ts decides). Rows the plan marks as superseded by a
 * later duplicate are skipped. Idempotent and order-independent: a re-run rewrites
 * the same items, and no write ever replaces a newer upload's value.
 */
export async function loadChunk(
  input: LoadChunkInput,
  config: LoadChunkConfig,
  deps: LoadChunkDeps,
): Promise<ChunkSummary & { readonly stats: LoadChunkStats }> {
  const now = deps.now ?? (() => performance.now());
  const started = now();
  const { chunk } = input;
  const where = chunkPlace(input);

  const records = chunkRecords(input, config);
  if (chunk.rows === 0) {
    return {
      index: chunk.index,
      rows: 0,
      written: 0,
      superseded: 0,
      skipped: 0,
      mode: 'batch',
      durationMs: Math.round(now() - started),
      stats: { batches: 0, retries: 0, waitedFor: 0, progressReportsFailed: 0 },
    };
  }

  const permit = await acquireWritePermit(
    { client: deps.dynamo, tableName: config.controlTableName },
    config.tableName,
    input.upload,
    (deps.leaseId ?? randomUUID)(),
    { ...config.lease, retry: config.retry },
    { ...deps.clock, now: deps.wallClock ?? Date.now },
    where,
  );
  let summary: Awaited<ReturnType<typeof writeChunk>>;
  try {
    // Two calls, one per format, so each gets its own record type (CsvRecord, JsonRecord).
    summary = await (records.format === 'csv'
      ? writeChunk(input, records, config, deps, permit)
      : writeChunk(input, records, config, deps, permit));
  } catch (error) {
    // The chunk's own error is the one to report; a lease left behind expires by itself.
    await permit.release().catch(() => undefined);
    throw error;
  }
  await permit.release();
  return { ...summary, durationMs: Math.round(now() - started) };
}

/**
 * The per-format seam of the loader: how one chunk's bytes become records (with
 * their lines) and a record becomes an item. Every format's chunk goes through the
 * same writeChunk.
 */
type ChunkRecords =
  | ({ readonly format: 'csv' } & ChunkReader<CsvRecord>)
  | ({ readonly format: 'jsonl' | 'json' } & ChunkReader<JsonRecord>);

interface ChunkReader<R extends { readonly line: number }> {
  /** The chunk's records, in batches, from its byte range. */
  read(body: Readable, input: LoadChunkInput): AsyncIterable<readonly R[]>;
  /**
   * Converts one record into `item` (fresh and empty), counting `extraBytes` of
   * provenance in its size: its key and size, or its problems.
   */
  fill(item: Item, record: R, extraBytes: number): RowCheck;
}

/** The chunk's format's reader; for CSV, after checking the planned header against the schema. */
function chunkRecords(input: LoadChunkInput, config: LoadChunkConfig): ChunkRecords {
  const format = input.format ?? 'csv';
  const { maxRecordBytes } = config;
  const range = { offset: input.chunk.start, firstLine: input.chunk.firstLine };
  if (format !== 'csv') {
    const layout = jsonLayout(config.schema);
    return {
      format,
      read: (body) => readJsonBatches(body, format, { maxRecordBytes, ...range }),
      fill: (item, record, extraBytes) => fillJsonItem(item, layout, record, extraBytes),
    };
  }
  const header = validateHeader(input.header, config.schema);
  if (!header.ok) {
    throw new ChunkPlanMismatchError(
      `${chunkPlace(input)}: the planned header no longer matches dataset "${config.schema.name}" (was the schema changed mid-flight?): ${header.problems.map(formatProblem).join('; ')}`,
    );
  }
  const { layout } = header;
  return {
    format,
    read: (body) =>
      readCsvBatches(body, { delimiter: config.schema.delimiter, maxRecordBytes, ...range }),
    fill: (item, record, extraBytes) =>
      fillItem(item, layout, record.fields, record.line, extraBytes),
  };
}

/** Reads, converts and writes the chunk's rows under a write permit. */
async function writeChunk<R extends { readonly line: number }>(
  input: LoadChunkInput,
  reader: ChunkReader<R>,
  config: LoadChunkConfig,
  deps: LoadChunkDeps,
  permit: WritePermit,
): Promise<Omit<ChunkSummary, 'durationMs'> & { readonly stats: LoadChunkStats }> {
  const { chunk, upload } = input;
  const where = chunkPlace(input);
  const skip = new Set(chunk.skip);
  const stampBytes = provenanceBytes(upload);
  const stamp = uploadAttributes(upload);
  const writer = deps.writer ?? sdkItemWriter(deps.dynamo);
  const body = await readRange(deps.s3, input, where, config.retry, deps.clock);
  const limit = pLimit(config.writeConcurrency);
  const inFlight = new Set<Promise<void>>();
  const progress = new ChunkProgress(
    {
      client: deps.dynamo,
      tableName: config.controlTableName,
      intervalMs: config.progressIntervalMs ?? 0,
    },
    upload,
    chunk.index,
    deps.now ?? (() => performance.now()),
  );
  const target = { tableName: config.tableName, keyName: config.schema.key, where };
  // Keys seen in this chunk; integer keys live in typed arrays, not as boxed numbers in a Set.
  const keys = takeKeyIndex(chunk.rows);
  let failure: { error: unknown } | undefined;
  let rows = 0;
  let written = 0;
  let superseded = 0;
  let skipped = 0;
  let batches = 0;
  let retries = 0;
  let batch: PendingPut[] = [];
  let batchFirstLine = chunk.firstLine;
  let batchLastLine = chunk.firstLine;

  const submit = (puts: PendingPut[]) => {
    batches++;
    // Errors about one batch name its lines, so a failure record points at the rows.
    const batchTarget = {
      ...target,
      // lineText, not a template of the numbers: see lineText (provenance.ts).
      where: `${where}, rows on lines ${lineText(batchFirstLine)}–${lineText(batchLastLine)}`,
    };
    const write = async (): Promise<ConditionalOutcome> =>
      permit.mode === 'batch'
        ? {
            ...(await writeBatch(writer, batchTarget, puts, config.retry, deps.clock)),
            superseded: 0,
          }
        : writeBatchConditionally(writer, batchTarget, puts, upload, config.retry, deps.clock);
    const task: Promise<void> = limit(write).then(
      (outcome) => {
        written += outcome.written;
        superseded += outcome.superseded;
        retries += outcome.retries;
        progress.add(outcome.written);
      },
      (error: unknown) => {
        failure ??= { error };
      },
    );
    const tracked = task.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  try {
    const batches = reader.read(body, input);
    // One await per piece of the body, not per record: the rows in between are plain loops.
    reading: for await (const records of batches) {
      for (const record of records) {
        if (failure) break reading;
        const index = rows++;
        if (index >= chunk.rows) {
          throw new ChunkPlanMismatchError(
            `${where}: holds more than the ${chunk.rows} planned rows (line ${record.line})`,
          );
        }
        if (skip.has(index)) {
          skipped++;
          continue;
        }
        const item: Item = {};
        const row = reader.fill(item, record, stampBytes);
        if (!row.ok) {
          throw new ChunkPlanMismatchError(
            `${where}: a row the planner accepted is invalid: ${row.problems.map(formatProblem).join('; ')}`,
          );
        }
        // The plan skips every earlier occurrence of a key, so a repeat here would
        // make the winner depend on write order: refuse rather than guess.
        if (keys.set(row.key, index) !== undefined) {
          throw new ChunkPlanMismatchError(
            `${where}: key ${String(row.key)} repeats at line ${record.line} but the plan does not skip its earlier occurrence`,
          );
        }
        if (batch.length === 0) batchFirstLine = record.line;
        batchLastLine = record.line;
        // Both formats' items are in wire form already (rows.ts wireValue, json-rows.ts wireOf).
        batch.push({ item: stampItem(item, stamp, record.line), key: row.key });
        if (batch.length === BATCH_WRITE_LIMIT) {
          submit(batch);
          batch = [];
          // Backpressure: read on only while a write slot is free, so memory holds at
          // most `writeConcurrency` batches plus the one being filled.
          while (inFlight.size >= config.writeConcurrency) await Promise.race(inFlight);
        }
      }
    }
    if (!failure && batch.length > 0) submit(batch);
  } catch (error) {
    failure ??= { error: readFailure(error, where) };
  } finally {
    // Never return while writes are still running: the Lambda would freeze them.
    await Promise.all(inFlight);
    returnKeyIndex(keys);
  }
  const reported = await progress.close();
  if (failure) throw failure.error;

  if (rows !== chunk.rows) {
    throw new ChunkPlanMismatchError(`${where}: holds ${rows} rows, the plan says ${chunk.rows}`);
  }
  if (written + superseded !== rows - skipped) {
    throw new ChunkPlanMismatchError(
      `${where}: wrote ${written} and left ${superseded} newer of ${rows - skipped} items (rows minus skipped duplicates)`,
    );
  }
  return {
    index: chunk.index,
    rows,
    written,
    superseded,
    skipped,
    mode: permit.mode,
    stats: {
      batches,
      retries,
      waitedFor: permit.waitedFor,
      progressReportsFailed: reported.failedReports,
      ...(reported.lastError === undefined ? {} : { progressError: reported.lastError }),
    },
  };
}

/** `chunk 3 (line 4001, bytes …) of s3://bucket/key`: how errors name a chunk. */
function chunkPlace({ object, chunk }: LoadChunkInput): string {
  return `chunk ${chunk.index} (line ${chunk.firstLine}, bytes ${chunk.start}–${chunk.end - 1}) of s3://${object.bucket}/${object.key}`;
}

/**
 * Key indexes of finished chunks, kept for the next chunk of a warm container:
 * each holds typed arrays outside the V8 heap that live as long as a chunk, so a
 * new one per chunk would leave one chunk's worth of garbage behind per chunk
 * until the next full GC (the old generation stays small, so that comes late).
 */
const idleKeyIndexes: KeyIndex[] = [];
/** Indexes kept at most: one per chunk loaded at once in one process (the local stack runs several). */
const MAX_IDLE_KEY_INDEXES = 4;

function takeKeyIndex(expectedKeys: number): KeyIndex {
  const reused = idleKeyIndexes.pop();
  if (reused === undefined) return new KeyIndex(expectedKeys);
  reused.clear();
  return reused;
}

function returnKeyIndex(index: KeyIndex): void {
  if (idleKeyIndexes.length < MAX_IDLE_KEY_INDEXES) idleKeyIndexes.push(index);
}

/**
 * GETs exactly the chunk's byte range of exactly the planned object version,
 * repeating the GET while S3 does not answer at all, for the unreachable budget.
 */
async function readRange(
  s3: S3Client,
  input: LoadChunkInput,
  where: string,
  retry: RetryPolicy,
  clock: Clock,
): Promise<Readable> {
  const { object, chunk } = input;
  const policy = {
    ...retry,
    unreachableBudgetMs: retry.unreachableBudgetMs ?? DEFAULT_UNREACHABLE_BUDGET_MS,
  };
  try {
    const response = await sendUntilS3Answers(
      `${where}: the Range GET`,
      () =>
        s3.send(
          new GetObjectCommand({
            Bucket: object.bucket,
            Key: object.key,
            ...(object.versionId === undefined ? {} : { VersionId: object.versionId }),
            Range: `bytes=${chunk.start}-${chunk.end - 1}`,
            IfMatch: object.eTag,
          }),
        ),
      policy,
      clock,
    );
    if (response.Body === undefined) {
      throw new ChunkReadError(`${where}: S3 returned no body`);
    }
    return response.Body as Readable;
  } catch (error) {
    if (error instanceof NamedError) throw error;
    const status = httpStatusOf(error);
    const name = error instanceof Error ? error.name : '';
    if (status === 412 || name === 'PreconditionFailed') {
      throw new ObjectChangedError(
        `${where}: the object was overwritten after it was planned (its ETag is no longer ${object.eTag}); nothing from the new version was loaded, and the new version is ingested by its own execution`,
        { cause: error },
      );
    }
    if (status === 404 || name === 'NoSuchKey' || name === 'NoSuchVersion') {
      throw new ObjectChangedError(
        `${where}: the object was deleted after it was planned; rows already loaded from it stay, upload the file again to load it in full`,
        { cause: error },
      );
    }
    throw readFailure(error, where);
  }
}

/**
 * Classifies a failure while reading: our own named errors pass through, malformed
 * CSV in a planned chunk is a plan mismatch, an S3 refusal (4xx) is the terminal
 * ObjectAccessError, anything else is a transient read error (retried).
 */
function readFailure(error: unknown, where: string): unknown {
  if (error instanceof MalformedCsvError || error instanceof MalformedJsonError) {
    return new ChunkPlanMismatchError(
      `${where}: the planned byte range does not parse as the planner parsed it: ${error.message}`,
      { cause: error },
    );
  }
  if (error instanceof NamedError) return error;
  if (isClientFault(error)) {
    return new ObjectAccessError(
      `${where}: S3 refused the Range GET (HTTP ${httpStatusOf(error) ?? '4xx'}, ${describeError(error)}); check that the loader's role may s3:GetObject it (and decrypt it, if it is KMS-encrypted)`,
      { cause: error },
    );
  }
  const unreachable = unreachableCode(error);
  if (unreachable !== undefined) {
    // The connection broke while the body streamed (the GET itself was answered):
    // the workflow re-runs the chunk, which rewrites the same items.
    return new ChunkReadError(
      `${where}: the connection to S3 broke while the byte range was read (${unreachable}: ${describeError(error)}); the workflow retries the chunk, and if this persists check the network path to S3 (endpoint, DNS, VPC endpoint)`,
      { cause: error },
    );
  }
  return new ChunkReadError(`${where}: reading the byte range failed: ${describeError(error)}`, {
    cause: error,
  });
}
