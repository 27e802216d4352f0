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
        taskFailures = 0;
        inMap = false;
        break;
      case 'TaskFailed':
        taskFailures += 1;
        break;
      case 'TaskStateExited':
        if (inMap) rowsWritten += writtenOf(event.stateExitedEventDetails?.output);
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
    taskFailures,
    ...(lastState === undefined ? {} : { lastState }),
  };
}

function writtenOf(output: string | undefined): number {
  if (!output) return 0;
  try {
    const parsed = JSON.parse(output) as { written?: unknown; Payload?: { written?: unknown } };
    const written = parsed.written ?? parsed.Payload?.written;
    return typeof written === 'number' ? written : 0;
  } catch {
    return 0;
  }
}
