import type { S3EventRecord } from 'aws-lambda';
import type { FileFormat } from './dataset.js';
import type { UploadStamp } from './upload-order.js';

/**
 * The shapes that cross a boundary: SQS → starter → workflow → Lambdas → DLQ.
 * The ASL file moves these objects between states; keep them small (no rows,
 * ever) and keep this file, the ASL and the README in step.
 */

/** The object version one execution ingests. `key` is already URL-decoded. */
export interface FileRef {
  readonly bucket: string;
  readonly key: string;
  /** Present when the bucket is versioned. */
  readonly versionId?: string;
  /** The ETag from the notification (quotes stripped), when S3 sent one. */
  readonly eTag?: string;
  /** Object size from the notification, in bytes. */
  readonly size?: number;
  /** S3's ordering token for events on the same key. */
  readonly sequencer?: string;
}

/**
 * Execution input: a pure function of the S3 record (never of the SQS message id
 * or a clock), so a duplicate notification maps to the same execution name and input.
 */
export interface ExecutionInput {
  readonly file: FileRef;
  /** The file version's place in the upload order and its provenance (from the S3 record). */
  readonly upload: UploadStamp;
  /** The original S3 record, exactly as S3 sent it, for the failure record. */
  readonly Records: readonly S3EventRecord[];
  /** When this execution redrives a failure record: the ARN of the failed execution. */
  readonly redriveOf?: string;
}

/** One planned chunk: a byte range that starts and ends exactly on record boundaries. */
export interface ChunkPlan {
  /** 0-based position in the plan. */
  readonly index: number;
  /** Byte offset of the chunk's first record (inclusive). */
  readonly start: number;
  /** Byte offset just past the chunk's last record (exclusive; HTTP Range end is `end - 1`). */
  readonly end: number;
  /** 1-based physical line number of the chunk's first record in the file. */
  readonly firstLine: number;
  /** Number of data records in the chunk. */
  readonly rows: number;
  /** 0-based record indexes within the chunk whose key occurs again later in the file. */
  readonly skip: readonly number[];
}

/** The object version a plan was made from; loaders read exactly this version. */
export interface PlannedObject {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  /** ETag returned by HeadObject (with its quotes), used as `IfMatch` on every Range GET. */
  readonly eTag: string;
  readonly size: number;
}

/** Output of PlanFile. */
export interface FilePlan {
  readonly object: PlannedObject;
  /** The file's format: `csv`, `jsonl` (JSON Lines) or `json` (a JSON array of objects). */
  readonly format: FileFormat;
  /** Header names after BOM strip and trim, in file order (CSV; empty for JSON formats). */
  readonly header: readonly string[];
  readonly chunks: readonly ChunkPlan[];
  readonly totalRows: number;
  /** Rows superseded by a later row with the same key (they are skipped, not written). */
  readonly duplicateRows: number;
  /** Chunk size target actually used (grown for huge files to respect the chunk cap). */
  readonly chunkBytes: number;
}

/** Output of the PlanFile task: the plan, and the dataset it was made for. */
export interface PlanFileOutput extends FilePlan {
  /**
   * The dataset the object's key names (its first segment; any key when there is one
   * dataset): its schema validated the file, its table receives the chunks.
   */
  readonly dataset: string;
}

/** Input of one LoadChunk task (built by the Map's ItemSelector). */
export interface LoadChunkInput {
  /**
   * The file's dataset (the plan's): its schema parses the chunk, its table receives
   * the rows. Absent in the input of an execution started before datasets existed,
   * which loads into the only dataset.
   */
  readonly dataset?: string;
  readonly object: PlannedObject;
  /** The plan's format. @default 'csv' (inputs from before formats were planned) */
  readonly format?: FileFormat;
  readonly header: readonly string[];
  readonly chunk: ChunkPlan;
  /** The execution's upload stamp: every item written carries it, and only a newer one replaces it. */
  readonly upload: UploadStamp;
}

/** Output of one LoadChunk task. */
export interface ChunkSummary {
  readonly index: number;
  readonly rows: number;
  /** Items this chunk wrote. */
  readonly written: number;
  /** Items left alone because the table already holds a newer upload's value for their key. */
  readonly superseded: number;
  /** Rows skipped because a later row of the same file has the same key. */
  readonly skipped: number;
  /** How the chunk wrote: `batch` (BatchWriteItem) or `conditional` (a newer or overlapping upload of the table exists). */
  readonly mode: 'batch' | 'conditional';
  readonly durationMs: number;
}

/** The message the workflow sends to the DLQ: the original S3 record(s) plus why it failed. */
export interface FailureRecord {
  readonly Records: readonly S3EventRecord[];
  /** The failed execution's upload stamp; a redrive keeps this place in the upload order. */
  readonly upload?: UploadStamp;
  readonly failure: {
    readonly error: string;
    readonly cause: string;
    readonly executionArn: string;
    readonly state: string;
    readonly time: string;
  };
}
