import { createHash } from 'node:crypto';
import type { UploadStamp } from './upload-order.js';

/**
 * Rows written so far, per chunk, of one file version: the loader reports them while
 * it writes (handlers/load-chunk/progress.ts), the CLI and the console read them to
 * show rows as they are written rather than per finished chunk. Advisory only: no
 * decision of the pipeline reads it, and a chunk's finished summary (in the execution
 * history) is the count of record.
 *
 * One item per file version in the control table, apart from the write leases:
 * `pk` = `progress#<digest of the upload stamp>`, `sk` = `rows`, one number attribute
 * per chunk (`chunk<index>`) set to what that chunk's latest attempt has written, and
 * `expiresAt` (TTL, a day after the last report).
 */

/** The key of a file version's progress item. */
export function progressKey(upload: UploadStamp): { readonly pk: string; readonly sk: string } {
  // The key alone can be 1 KiB; a digest keeps the partition key short and fixed.
  const digest = createHash('sha256')
    .update(JSON.stringify([upload.key, upload.version, upload.sequencer, upload.uploadedAt]))
    .digest('hex')
    .slice(0, 32);
  return { pk: `progress#${digest}`, sk: 'rows' };
}

/** The attribute holding chunk `index`'s count. */
export function chunkAttribute(index: number): string {
  return `chunk${index}`;
}

/** Seconds a progress item outlives its last report (DynamoDB TTL). */
export const PROGRESS_TTL_SECONDS = 86_400;

const CHUNK_ATTRIBUTE = /^chunk(\d+)$/;

/** Rows written per chunk index, from a progress item (attributes as lib-dynamodb returns them). */
export function rowsByChunk(
  item: Readonly<Record<string, unknown>> | undefined,
): Map<number, number> {
  const rows = new Map<number, number>();
  for (const [name, value] of Object.entries(item ?? {})) {
    const match = CHUNK_ATTRIBUTE.exec(name);
    const count = Number(typeof value === 'object' && value !== null ? String(value) : value);
    if (match && Number.isSafeInteger(count) && count >= 0) rows.set(Number(match[1]), count);
  }
  return rows;
}
