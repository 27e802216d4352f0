import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { chunkAttribute, PROGRESS_TTL_SECONDS, progressKey } from '../shared/load-progress.js';
import type { UploadStamp } from '../shared/upload-order.js';

/** Where a chunk reports its rows, and how often. */
export interface ProgressTarget {
  readonly client: DynamoDBDocumentClient;
  /** The control table (see handlers/shared/load-progress.ts). */
  readonly tableName: string;
  /** Least time between two reports, in ms; 0 turns reporting off. */
  readonly intervalMs: number;
}

/**
 * Reports how many rows one chunk has written, at most once per interval and once
 * more at the end, without ever slowing or failing the load: a report is one
 * UpdateItem sent beside the writes (never two at once), and a report that fails is
 * counted, not retried or thrown (the next one carries the newer count anyway).
 */
export class ChunkProgress {
  private written = 0;
  private lastReportAt: number;
  private inFlight: Promise<void> | undefined;
  private failures = 0;
  private lastError: unknown;

  constructor(
    private readonly target: ProgressTarget,
    private readonly upload: UploadStamp,
    private readonly chunkIndex: number,
    private readonly now: () => number,
  ) {
    this.lastReportAt = now();
  }

  /** `rows` more rows are written; reports when the interval has passed. */
  add(rows: number): void {
    this.written += rows;
    if (this.target.intervalMs <= 0 || this.inFlight !== undefined) return;
    if (this.now() - this.lastReportAt < this.target.intervalMs) return;
    this.report();
  }

  /**
   * Waits for the report in flight, then reports the final count (if reporting is on
   * and anything was reported or written). Resolves to the failed reports and the last
   * error, for the handler's log.
   */
  async close(): Promise<{ readonly failedReports: number; readonly lastError?: unknown }> {
    await this.inFlight;
    if (this.target.intervalMs > 0 && this.written > 0) {
      this.report();
      await this.inFlight;
    }
    return this.failures === 0
      ? { failedReports: 0 }
      : { failedReports: this.failures, lastError: this.lastError };
  }

  private report(): void {
    const at = this.now();
    this.lastReportAt = at;
    const rows = this.written;
    this.inFlight = this.target.client
      .send(
        new UpdateCommand({
          TableName: this.target.tableName,
          Key: progressKey(this.upload),
          UpdateExpression: 'SET #chunk = :rows, #key = :key, expiresAt = :expires',
          ExpressionAttributeNames: { '#chunk': chunkAttribute(this.chunkIndex), '#key': 'key' },
          ExpressionAttributeValues: {
            ':rows': rows,
            ':key': this.upload.key,
            ':expires': Math.ceil(Date.now() / 1000) + PROGRESS_TTL_SECONDS,
          },
        }),
      )
      .then(
        () => undefined,
        (error: unknown) => {
          this.failures++;
          this.lastError = error;
        },
      )
      .finally(() => {
        this.inFlight = undefined;
      });
  }
}
