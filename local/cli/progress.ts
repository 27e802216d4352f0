/** A history event as GetExecutionHistory returns it (the fields progress needs). */
export interface HistoryEventLike {
  readonly type?: string;
  readonly mapStateStartedEventDetails?: { readonly length?: number };
  readonly stateExitedEventDetails?: { readonly name?: string; readonly output?: string };
  readonly taskFailedEventDetails?: { readonly error?: string };
}

/** Progress of one ingestion, derived from its execution history. */
export interface IngestProgress {
  /** Chunks planned (the Map's item count), once known. */
  readonly chunks?: number;
  readonly chunksDone: number;
  readonly rowsWritten: number;
  /** Rows written by each finished chunk, by chunk index (from its ChunkSummary). */
  readonly writtenByChunk: ReadonlyMap<number, number>;
  /** Task attempts that failed (retried or not). */
  readonly taskFailures: number;
  /** The state the execution is in or last left. */
  readonly lastState?: string;
}

/**
 * Derives chunk and row progress from an execution's history: the Map's
 * `MapStateStarted.length` is the number of chunks, each succeeded iteration one
 * chunk done, and the `written` count of every task that exits inside the Map
 * (a ChunkSummary) adds to the rows written.
 */
export function progressFromHistory(events: readonly HistoryEventLike[]): IngestProgress {
  let chunks: number | undefined;
  let chunksDone = 0;
  let rowsWritten = 0;
  let writtenByChunk = new Map<number, number>();
  let taskFailures = 0;
  let inMap = false;
  let lastState: string | undefined;
  for (const event of events) {
    switch (event.type) {
      case 'MapStateStarted':
        chunks = event.mapStateStartedEventDetails?.length;
        inMap = true;
        break;
      case 'MapStateSucceeded':
      case 'MapStateFailed':
      case 'MapStateAborted':
        inMap = false;
        break;
      case 'MapIterationSucceeded':
        chunksDone += 1;
        break;
      case 'ExecutionResumed':
        // The local stack ran the execution again from the start: count this run.
        chunks = undefined;
        chunksDone = 0;
        rowsWritten = 0;
        writtenByChunk = new Map();
        taskFailures = 0;
        inMap = false;
        break;
      case 'TaskFailed':
        taskFailures += 1;
        break;
      case 'TaskStateExited':
        if (inMap) {
          const summary = summaryOf(event.stateExitedEventDetails?.output);
          rowsWritten += summary.written;
          if (summary.index !== undefined) writtenByChunk.set(summary.index, summary.written);
        }
        break;
      default:
        break;
    }
    const name = event.stateExitedEventDetails?.name;
    if (name) lastState = name;
  }
  return {
    ...(chunks === undefined ? {} : { chunks }),
    chunksDone,
    rowsWritten,
    writtenByChunk,
    taskFailures,
    ...(lastState === undefined ? {} : { lastState }),
  };
}

interface SummaryFields {
  readonly written?: unknown;
  readonly index?: unknown;
}

/** The chunk index and rows written of a LoadChunk task's output (a ChunkSummary). */
function summaryOf(output: string | undefined): { written: number; index?: number } {
  if (!output) return { written: 0 };
  try {
    const parsed = JSON.parse(output) as SummaryFields & { Payload?: SummaryFields };
    const summary = parsed.Payload ?? parsed;
    const written = typeof summary.written === 'number' ? summary.written : 0;
    return Number.isSafeInteger(summary.index)
      ? { written, index: summary.index as number }
      : { written };
  } catch {
    return { written: 0 };
  }
}

/**
 * Rows written so far: every finished chunk's summary, plus what each chunk still
 * loading has reported (`live`, by chunk index, from the control table).
 */
export function rowsSoFar(progress: IngestProgress, live?: ReadonlyMap<number, number>): number {
  let rows = progress.rowsWritten;
  for (const [index, written] of live ?? []) {
    if (!progress.writtenByChunk.has(index)) rows += written;
  }
  return rows;
}
