import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import { KeyIndex } from '../plan-file/key-index.js';
import type { ChunkSummary, LoadChunkInput } from '../shared/contracts.js';
import { readCsvBatches } from '../shared/csv.js';
import type { DatasetSchema } from '../shared/dataset.js';
import {
  ChunkPlanMismatchError,
  ChunkReadError,
  describeError,
  formatProblem,
  httpStatusOf,
  isClientFault,
  MalformedCsvError,
  NamedError,
  ObjectAccessError,
  ObjectChangedError,
} from '../shared/errors.js';
import { rowToItem, validateHeader } from '../shared/rows.js';
import {
  BATCH_WRITE_LIMIT,
  type Clock,
  type PendingPut,
  type RetryPolicy,
  writeBatch,
} from './batch-writer.js';

/** Configuration of the loader (read once at cold start by the handler). */
export interface LoadChunkConfig {
  readonly schema: DatasetSchema;
  readonly tableName: string;
  /** BatchWriteItem calls in flight at once for one chunk. */
  readonly writeConcurrency: number;
  /** Largest CSV record accepted, in bytes (the planner's limit). */
  readonly maxRecordBytes: number;
  readonly retry: RetryPolicy;
}

/** The clients and the clock of one invocation. */
export interface LoadChunkDeps {
  readonly s3: S3Client;
  readonly dynamo: DynamoDBDocumentClient;
  readonly clock: Clock;
  /** Milliseconds since an arbitrary origin, for the duration. @default performance.now */
  readonly now?: () => number;
}

/** What the loader did, beyond the ChunkSummary contract, for logging. */
export interface LoadChunkStats {
  readonly batches: number;
  readonly retries: number;
}

/**
 * Loads one planned chunk: a Range GET of exactly the planned object version
 * (IfMatch its ETag), parsed with the known header, converted to items and written
 * 25 per BatchWriteItem call with bounded concurrency. Rows the plan marks as
 * superseded by a later duplicate are skipped. Idempotent: a re-run rewrites the
 * same items.
 */
export async function loadChunk(
  input: LoadChunkInput,
  config: LoadChunkConfig,
  deps: LoadChunkDeps,
): Promise<ChunkSummary & { readonly stats: LoadChunkStats }> {
  const now = deps.now ?? (() => performance.now());
  const started = now();
  const { object, chunk } = input;
  const where = `chunk ${chunk.index} (line ${chunk.firstLine}, bytes ${chunk.start}–${chunk.end - 1}) of s3://${object.bucket}/${object.key}`;

  const header = validateHeader(input.header, config.schema);
  if (!header.ok) {
    throw new ChunkPlanMismatchError(
      `${where}: the planned header no longer matches dataset "${config.schema.name}" (was the schema changed mid-flight?): ${header.problems.map(formatProblem).join('; ')}`,
    );
  }
  if (chunk.rows === 0) {
    return summary(0, 0, { batches: 0, retries: 0 });
  }

  const skip = new Set(chunk.skip);
  const body = await readRange(deps.s3, input, where);
  const limit = pLimit(config.writeConcurrency);
  const inFlight = new Set<Promise<void>>();
  const target = { tableName: config.tableName, keyName: config.schema.key, where };
  // Keys seen in this chunk; integer keys live in typed arrays, not as boxed numbers in a Set.
  const keys = takeKeyIndex(chunk.rows);
  let failure: { error: unknown } | undefined;
  let rows = 0;
  let written = 0;
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
      where: `${where}, rows on lines ${batchFirstLine}–${batchLastLine}`,
    };
    const task: Promise<void> = limit(() =>
      writeBatch(deps.dynamo, batchTarget, puts, config.retry, deps.clock),
    ).then(
      (outcome) => {
        written += outcome.written;
        retries += outcome.retries;
      },
      (error: unknown) => {
        failure ??= { error };
      },
    );
    const tracked = task.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  try {
    const batches = readCsvBatches(body, {
      delimiter: config.schema.delimiter,
      maxRecordBytes: config.maxRecordBytes,
      offset: chunk.start,
      firstLine: chunk.firstLine,
    });
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
        const row = rowToItem(header.layout, record.fields, record.line);
        if (!row.ok) {
          throw new ChunkPlanMismatchError(
            `${where}: a row the planner accepted is invalid: ${row.problems.map(formatProblem).join('; ')}`,
          );
        }
        // The plan skips every earlier occurrence of a key, so a repeat here would
        // make the winner depend on write order: refuse rather than guess.
        if (keys.set(row.row.key, index) !== undefined) {
          throw new ChunkPlanMismatchError(
            `${where}: key ${String(row.row.key)} repeats at line ${record.line} but the plan does not skip its earlier occurrence`,
          );
        }
        if (batch.length === 0) batchFirstLine = record.line;
        batchLastLine = record.line;
        batch.push({ item: row.row.item, key: row.row.key });
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
  if (failure) throw failure.error;

  if (rows !== chunk.rows) {
    throw new ChunkPlanMismatchError(`${where}: holds ${rows} rows, the plan says ${chunk.rows}`);
  }
  if (written !== rows - skipped) {
    throw new ChunkPlanMismatchError(
      `${where}: wrote ${written} of ${rows - skipped} items (rows minus skipped duplicates)`,
    );
  }
  return summary(rows, skipped, { batches, retries });

  function summary(total: number, skippedRows: number, stats: LoadChunkStats) {
    return {
      index: chunk.index,
      rows: total,
      written: total - skippedRows,
      skipped: skippedRows,
      durationMs: Math.round(now() - started),
      stats,
    };
  }
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

/** GETs exactly the chunk's byte range of exactly the planned object version. */
async function readRange(s3: S3Client, input: LoadChunkInput, where: string): Promise<Readable> {
  const { object, chunk } = input;
  try {
    const response = await s3.send(
      new GetObjectCommand({
        Bucket: object.bucket,
        Key: object.key,
        ...(object.versionId === undefined ? {} : { VersionId: object.versionId }),
        Range: `bytes=${chunk.start}-${chunk.end - 1}`,
        IfMatch: object.eTag,
      }),
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
  if (error instanceof MalformedCsvError) {
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
  return new ChunkReadError(`${where}: reading the byte range failed: ${describeError(error)}`, {
    cause: error,
  });
}
