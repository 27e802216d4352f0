/**
 * How a file is cut into chunks: the one sizing rule of the planner, whatever the
 * file's format (it sees only the object's size and the byte offsets where records
 * end, so every format plans its chunks the same way).
 *
 * - A file gets `ceil(size / chunkTargetBytes)` chunks, so no chunk is much over
 *   the target;
 * - but at least `mapMaxConcurrency` of them when each would still hold at least
 *   MIN_CHUNK_BYTES, so a file big enough to split fills every slot of the
 *   workflow's Map instead of loading on a few while the others idle;
 * - and never more than `maxChunks` (the target grows for huge files instead).
 *
 * The chunks are of similar size: chunk k ends at the first record end at or past
 * the k-th multiple of `chunkBytes = ceil(size / chunks)` (a record never splits,
 * so a chunk is at most one record longer than that, and a record longer than a
 * chunk makes a chunk of its own).
 */

/**
 * Smallest chunk made to fill the Map, in bytes (512 KiB, some 5,600 rows of the
 * bench's books file). Each chunk costs a Lambda invocation, a Range GET and four
 * control-table calls (its write lease) besides its writes; at 512 KiB that is
 * about 2% of a chunk's calls, and below it more, smaller chunks would only add
 * those costs.
 */
export const MIN_CHUNK_BYTES = 512 * 1024;

/** The planner's settings that size chunks. */
export interface ChunkSizing {
  /** Chunk size aimed for, at most (CHUNK_TARGET_BYTES). */
  readonly chunkTargetBytes: number;
  /** Most chunks per file (MAX_CHUNKS). */
  readonly maxChunks: number;
  /** Chunks the workflow loads at once (the Map's MaxConcurrency, MAP_MAX_CONCURRENCY). */
  readonly mapMaxConcurrency: number;
}

/** How many chunks a file of `size` bytes is planned in, and the size each aims for. */
export interface ChunkLayout {
  readonly chunks: number;
  /** `ceil(size / chunks)`: chunk k ends at the first record end at or past k × chunkBytes. */
  readonly chunkBytes: number;
}

/** The chunk layout of a file of `size` bytes (see the rule above). */
export function chunkLayout(size: number, sizing: ChunkSizing): ChunkLayout {
  const bytes = Math.max(1, size);
  const byTarget = Math.ceil(bytes / sizing.chunkTargetBytes);
  const toFillTheMap = Math.min(sizing.mapMaxConcurrency, Math.floor(bytes / MIN_CHUNK_BYTES));
  const chunks = Math.max(1, Math.min(sizing.maxChunks, Math.max(byTarget, toFillTheMap)));
  return { chunks, chunkBytes: Math.ceil(bytes / chunks) };
}

/**
 * Cuts a stream of records into chunks by the layout's boundaries: `end(recordEnd)`
 * says whether the chunk holding the record that ends at that byte offset ends with
 * it. Boundaries are absolute offsets, so the chunks stay of similar size however
 * far each overshoots its boundary to finish its last record.
 */
export class ChunkCutter {
  private boundary: number;

  constructor(private readonly chunkBytes: number) {
    this.boundary = chunkBytes;
  }

  /** True when a record ending at `recordEnd` (exclusive) is the last of its chunk. */
  end(recordEnd: number): boolean {
    if (recordEnd < this.boundary) return false;
    // A record longer than a chunk may pass several boundaries: the next is past it.
    this.boundary = (Math.floor(recordEnd / this.chunkBytes) + 1) * this.chunkBytes;
    return true;
  }
}
