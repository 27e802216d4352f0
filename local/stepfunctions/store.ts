import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** One history event as stored: the timestamp as ISO 8601 text. */
type StoredEvent = Record<string, unknown> & { readonly timestamp: string };

/** An execution as it was last written: what the Step Functions API reports about it. */
export interface StoredExecution {
  readonly executionArn: string;
  readonly name: string;
  readonly input: string;
  readonly startDate: Date;
  /** Undefined while it runs (or when the stack stopped, or died, before it closed). */
  readonly closed?: {
    readonly status: string;
    readonly stopDate: Date;
    readonly output?: string;
    readonly error?: string;
    readonly cause?: string;
  };
  readonly events: Array<Record<string, unknown> & { readonly timestamp: Date }>;
}

/** What closes an execution. */
export interface ClosedExecution {
  readonly status: string;
  readonly stopDate: Date;
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
}

type Line =
  | {
      readonly kind: 'start';
      readonly executionArn: string;
      readonly name: string;
      readonly input: string;
      readonly startDate: string;
    }
  | { readonly kind: 'event'; readonly event: StoredEvent }
  | ({ readonly kind: 'close'; readonly stopDate: string } & Omit<ClosedExecution, 'stopDate'>);

/**
 * Keeps the local executions on disk, one JSON Lines journal per execution under
 * `dir`: a start line (name, input, start time), one line per history event, and a
 * close line (status, output or error). Every line is written synchronously before
 * the call returns, so a StartExecution that answered is on disk even if the process
 * is killed the next moment; a journal without a close line is an execution that was
 * still running when the stack stopped or died. A torn last line (killed mid-write)
 * is ignored when the journal is read back.
 */
export class ExecutionStore {
  private readonly open = new Map<string, number>();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Every stored execution, in no particular order. */
  load(): StoredExecution[] {
    const loaded: StoredExecution[] = [];
    for (const file of readdirSync(this.dir)) {
      if (!file.endsWith('.jsonl')) continue;
      const path = join(this.dir, file);
      let execution: StoredExecution | undefined;
      try {
        execution = parseJournal(readFileSync(path, 'utf8'));
      } catch (error) {
        throw new Error(
          `The execution journal ${path} is damaged (${error instanceof Error ? error.message : String(error)}): move it out of ${this.dir} and start again`,
        );
      }
      if (execution) loaded.push(execution);
    }
    return loaded;
  }

  /** Records a new execution (its journal must not exist yet). */
  begin(execution: { executionArn: string; name: string; input: string; startDate: Date }): void {
    const fd = openSync(this.fileOf(execution.executionArn), 'wx');
    this.open.set(execution.executionArn, fd);
    this.write(execution.executionArn, {
      kind: 'start',
      executionArn: execution.executionArn,
      name: execution.name,
      input: execution.input,
      startDate: execution.startDate.toISOString(),
    });
  }

  /** Appends to the journal of an execution that was begun, or loaded to run again. */
  event(executionArn: string, event: Record<string, unknown> & { timestamp: Date }): void {
    this.write(executionArn, {
      kind: 'event',
      event: { ...event, timestamp: event.timestamp.toISOString() },
    });
  }

  /** Records how an execution ended and closes its journal. */
  close(executionArn: string, closed: ClosedExecution): void {
    this.write(executionArn, { ...closed, kind: 'close', stopDate: closed.stopDate.toISOString() });
    this.release(executionArn);
  }

  /** Closes the journal without recording an end: the execution resumes on the next start. */
  release(executionArn: string): void {
    const fd = this.open.get(executionArn);
    if (fd === undefined) return;
    closeSync(fd);
    this.open.delete(executionArn);
  }

  private write(executionArn: string, line: Line): void {
    let fd = this.open.get(executionArn);
    if (fd === undefined) {
      fd = openSync(this.fileOf(executionArn), 'a');
      this.open.set(executionArn, fd);
    }
    writeSync(fd, `${JSON.stringify(line)}\n`);
  }

  private fileOf(executionArn: string): string {
    const hash = createHash('sha256').update(executionArn).digest('hex').slice(0, 40);
    return join(this.dir, `${hash}.jsonl`);
  }
}

function parseJournal(text: string): StoredExecution | undefined {
  const lines = text.split('\n').filter((line) => line !== '');
  let start: Extract<Line, { kind: 'start' }> | undefined;
  let closed: StoredExecution['closed'];
  const events: StoredExecution['events'] = [];
  lines.forEach((text, index) => {
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch (error) {
      // Only the last line can be torn (the process was killed while writing it).
      if (index === lines.length - 1) return;
      throw error;
    }
    if (line.kind === 'start') start = line;
    else if (line.kind === 'event') {
      events.push({ ...line.event, timestamp: new Date(line.event.timestamp) });
    } else {
      const { kind: _kind, stopDate, ...rest } = line;
      closed = { ...rest, stopDate: new Date(stopDate) };
    }
  });
  if (!start) return undefined;
  return {
    executionArn: start.executionArn,
    name: start.name,
    input: start.input,
    startDate: new Date(start.startDate),
    ...(closed ? { closed } : {}),
    events,
  };
}
