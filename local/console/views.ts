import { readableCause } from '../cli/format.js';
import { progressFromHistory } from '../cli/progress.js';
import { fileOf, firstProblem, rowsOf } from '../cli/report.js';
import { readPath } from '../stepfunctions/definition.js';
import type {
  ChunkView,
  ExecutionDetail,
  ExecutionStatus,
  ExecutionSummary,
  FailureView,
  HistoryEventView,
  MapProgress,
  StateStatus,
} from './model.js';

// Pure views of an execution for the console: its summary line, and the status of
// every state of the definition, the Map's progress, its chunks and the failure
// record, all derived from the history, as the Step Functions console derives them.

/** An execution as ExecutionService (or DescribeExecution + GetExecutionHistory) gives it. */
export interface ExecutionLike {
  readonly executionArn: string;
  readonly name: string;
  readonly input: string;
  readonly status: string;
  readonly startDate: Date;
  readonly stopDate?: Date;
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
  readonly events: readonly HistoryEventLike[];
}

/** A history event: its type and whichever details it has. */
export interface HistoryEventLike {
  readonly id: number;
  readonly previousEventId?: number;
  readonly timestamp: Date | string;
  readonly type: string;
  readonly [details: string]: unknown;
}

type Json = Readonly<Record<string, unknown>>;

/** One state of a definition, with where it sits and where it can go. */
export interface StateInfo {
  readonly name: string;
  readonly type: string;
  /** The Map (or Parallel) state whose body holds it; undefined at the top level. */
  readonly parent?: string;
  readonly next?: string;
  /** States a Catch of this state goes to. */
  readonly catchTargets: readonly string[];
  /** For a Map: the path of its items in the state's input. */
  readonly itemsPath?: string;
  /** For a Task: its Resource. */
  readonly resource?: string;
}

/** Every state of a definition (the bodies of Map and Parallel states included), by name. */
export function statesOf(definition: Json): Map<string, StateInfo> {
  const found = new Map<string, StateInfo>();
  const visit = (machine: unknown, parent: string | undefined) => {
    const states = (machine as { States?: unknown } | undefined)?.States;
    if (!isObject(states)) return;
    for (const [name, raw] of Object.entries(states)) {
      if (!isObject(raw)) continue;
      const catches = Array.isArray(raw.Catch) ? raw.Catch : [];
      found.set(name, {
        name,
        type: String(raw.Type ?? ''),
        ...(parent === undefined ? {} : { parent }),
        ...(typeof raw.Next === 'string' ? { next: raw.Next } : {}),
        catchTargets: catches
          .map((entry) => (isObject(entry) ? entry.Next : undefined))
          .filter((next): next is string => typeof next === 'string'),
        ...(raw.Type === 'Map'
          ? { itemsPath: typeof raw.ItemsPath === 'string' ? raw.ItemsPath : '$' }
          : {}),
        ...(typeof raw.Resource === 'string' ? { resource: raw.Resource } : {}),
      });
      for (const body of [raw.ItemProcessor, raw.Iterator]) visit(body, name);
      if (Array.isArray(raw.Branches)) for (const branch of raw.Branches) visit(branch, name);
    }
  };
  visit(definition, undefined);
  return found;
}

/**
 * The line of the executions list. `liveRows`: while it runs, the rows each loading
 * chunk has reported (by chunk index), so the count moves within a chunk, not only
 * when one ends.
 */
export function summarize(
  execution: ExecutionLike,
  now = Date.now(),
  liveRows?: ReadonlyMap<number, number>,
): ExecutionSummary {
  const progress = progressFromHistory(execution.events);
  const plan = planOf(execution.events);
  const rowsInFile = numberOr(plan?.totalRows);
  const duplicates = numberOr(plan?.duplicateRows) ?? 0;
  const input = parseObject(execution.input);
  const stop = execution.stopDate?.getTime();
  return {
    name: execution.name,
    executionArn: execution.executionArn,
    status: execution.status as ExecutionStatus,
    file: fileOf(execution),
    startDate: execution.startDate.toISOString(),
    ...(execution.stopDate ? { stopDate: execution.stopDate.toISOString() } : {}),
    durationMs: (stop ?? now) - execution.startDate.getTime(),
    rowsWritten: rowsOf(
      {
        events: execution.events,
        ...(execution.output === undefined ? {} : { output: execution.output }),
        ...(liveRows === undefined ? {} : { liveRows }),
      },
      progress,
    ),
    ...(rowsInFile === undefined
      ? {}
      : { rowsInFile, rowsTotal: Math.max(0, rowsInFile - duplicates) }),
    chunksDone: progress.chunksDone,
    ...(progress.chunks === undefined ? {} : { chunksTotal: progress.chunks }),
    ...(execution.error ? { error: execution.error } : {}),
    ...(execution.error ? { errorMessage: firstProblem(execution.cause) } : {}),
    ...(typeof input?.redriveOf === 'string' ? { redriveOf: input.redriveOf } : {}),
    eventCount: execution.events.length,
  };
}

/** Everything the execution page shows (`liveRows` as for summarize). */
export function detail(
  execution: ExecutionLike,
  definition: Json,
  now = Date.now(),
  liveRows?: ReadonlyMap<number, number>,
): ExecutionDetail {
  const states = statesOf(definition);
  const walk = walkHistory(execution, states);
  return {
    ...summarize(execution, now, liveRows),
    input: execution.input,
    ...(execution.output === undefined ? {} : { output: execution.output }),
    ...(execution.cause === undefined ? {} : { cause: execution.cause }),
    states: walk.statuses,
    entered: walk.entered,
    ...(walk.map ? { map: walk.map } : {}),
    chunks: walk.chunks,
    ...(walk.failure ? { failure: walk.failure } : {}),
    events: execution.events.map(toView),
  };
}

interface Walk {
  readonly statuses: Record<string, StateStatus>;
  readonly entered: Record<string, number>;
  readonly map?: MapProgress;
  readonly chunks: ChunkView[];
  readonly failure?: FailureView;
}

/**
 * Replays the history against the definition. A state is IN_PROGRESS while
 * entered and not exited, SUCCEEDED once exited, CAUGHT when a Catch took the
 * execution from it to a handler state, FAILED when it failed for good (or is a
 * Fail state that ran), ABORTED when the execution was stopped inside it. A state
 * inside the Map sums up its iterations: IN_PROGRESS while any runs, FAILED if any
 * failed.
 */
function walkHistory(execution: ExecutionLike, states: Map<string, StateInfo>): Walk {
  const entered: Record<string, number> = {};
  const open = new Map<string, number>();
  const caught = new Set<string>();
  const failedForGood = new Set<string>();
  const failuresInside = new Map<string, number>(); // task failures per Map
  // The last state that exited in each scope (top level: ''), to spot a Catch.
  const lastExited = new Map<string, string>();
  // Most recently entered first: a TaskFailed belongs to the open Task entered last.
  const openOrder: string[] = [];
  let mapName: string | undefined;
  let mapTotal: number | undefined;
  let mapInput: unknown;
  const iterations = new Map<number, 'RUNNING' | 'SUCCEEDED' | 'FAILED'>();
  const summaries = new Map<number, Json>();
  let failureRecord: Json | undefined;
  // The DLQ send (an SQS sendMessage task) once it exited: sent unless its Catch took over.
  let sendExited: string | undefined;

  for (const event of execution.events) {
    const enteredName = nameIn(event.stateEnteredEventDetails);
    const exitedName = nameIn(event.stateExitedEventDetails);
    if (enteredName !== undefined) {
      const info = states.get(enteredName);
      const scope = info?.parent ?? '';
      const previous = lastExited.get(scope);
      const previousInfo = previous === undefined ? undefined : states.get(previous);
      if (previousInfo?.catchTargets.includes(enteredName) && previousInfo.next !== enteredName) {
        caught.add(previousInfo.name);
      }
      entered[enteredName] = (entered[enteredName] ?? 0) + 1;
      open.set(enteredName, (open.get(enteredName) ?? 0) + 1);
      openOrder.unshift(enteredName);
      if (info?.type === 'Map') {
        mapName = enteredName;
        mapInput = parseJson(textIn(event.stateEnteredEventDetails, 'input'));
      }
      if (info?.type === 'Fail') failedForGood.add(enteredName);
    } else if (exitedName !== undefined) {
      const info = states.get(exitedName);
      open.set(exitedName, Math.max(0, (open.get(exitedName) ?? 0) - 1));
      const at = openOrder.indexOf(exitedName);
      if (at >= 0) openOrder.splice(at, 1);
      lastExited.set(info?.parent ?? '', exitedName);
      const output = parseObject(textIn(event.stateExitedEventDetails, 'output'));
      if (info?.parent !== undefined && info.parent === mapName && output) {
        const index = numberOr(output.index);
        if (index !== undefined) summaries.set(index, output);
      }
      // The record a *Failed state built ({ Records, failure }), then the one
      // BuildFailureRecord made of it to send ({ messageBody, failure }, plain cause).
      if (
        output &&
        isObject(output.failure) &&
        (Array.isArray(output.Records) || typeof output.messageBody === 'string')
      ) {
        failureRecord = output.failure;
      }
      if (info?.resource?.endsWith(':sqs:sendMessage') && failureRecord) sendExited = exitedName;
    }
    switch (event.type) {
      case 'TaskFailed': {
        const task = openOrder.find((name) => states.get(name)?.type === 'Task');
        const parent = task === undefined ? undefined : states.get(task)?.parent;
        if (parent !== undefined) failuresInside.set(parent, (failuresInside.get(parent) ?? 0) + 1);
        break;
      }
      case 'MapStateStarted':
        mapTotal = numberOr((event.mapStateStartedEventDetails as Json | undefined)?.length);
        break;
      case 'MapStateFailed':
        if (mapName !== undefined) failedForGood.add(mapName);
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const details = event[`${lowerFirst(event.type)}EventDetails`] as Json | undefined;
        const index = numberOr(details?.index);
        if (index === undefined) break;
        iterations.set(
          index,
          event.type === 'MapIterationStarted'
            ? 'RUNNING'
            : event.type === 'MapIterationSucceeded'
              ? 'SUCCEEDED'
              : 'FAILED',
        );
        break;
      }
      default:
        break;
    }
  }

  const running = execution.status === 'RUNNING';
  const openEnd: StateStatus = running
    ? 'IN_PROGRESS'
    : execution.status === 'ABORTED'
      ? 'ABORTED'
      : 'FAILED';
  const iterationCounts = { done: 0, running: 0, failed: 0 };
  for (const status of iterations.values()) {
    if (status === 'SUCCEEDED') iterationCounts.done += 1;
    else if (status === 'FAILED') iterationCounts.failed += 1;
    else iterationCounts.running += 1;
  }
  const statuses: Record<string, StateStatus> = {};
  for (const info of states.values()) {
    const times = entered[info.name] ?? 0;
    let status: StateStatus;
    if (times === 0) status = 'NOT_STARTED';
    else if (info.parent !== undefined && info.parent === mapName) {
      // An inner state stands for all its iterations.
      status =
        (open.get(info.name) ?? 0) > 0 && running
          ? 'IN_PROGRESS'
          : iterationCounts.failed > 0
            ? 'FAILED'
            : (open.get(info.name) ?? 0) > 0
              ? openEnd
              : 'SUCCEEDED';
    } else if (caught.has(info.name)) status = 'CAUGHT';
    else if (failedForGood.has(info.name)) status = 'FAILED';
    else if ((open.get(info.name) ?? 0) > 0) status = openEnd;
    else status = 'SUCCEEDED';
    statuses[info.name] = status;
  }

  const mapInfo = mapName === undefined ? undefined : states.get(mapName);
  const items = mapInfo?.itemsPath ? readPath(mapInput, mapInfo.itemsPath) : undefined;
  const chunks: ChunkView[] = Array.isArray(items)
    ? items.map((item, index) => {
        const iteration = iterations.get(index);
        const summary = summaries.get(index);
        return {
          index,
          status:
            iteration === undefined
              ? 'NOT_STARTED'
              : iteration === 'RUNNING'
                ? running
                  ? 'IN_PROGRESS'
                  : openEnd
                : iteration,
          item: isObject(item) ? item : { value: item },
          ...(summary ? { summary } : {}),
        };
      })
    : [];
  const map: MapProgress | undefined =
    mapName === undefined
      ? undefined
      : {
          state: mapName,
          ...(mapTotal === undefined ? {} : { total: mapTotal }),
          done: iterationCounts.done,
          running: running ? iterationCounts.running : 0,
          failed: iterationCounts.failed,
          retried: Math.max(0, (failuresInside.get(mapName) ?? 0) - iterationCounts.failed),
        };
  const failure: FailureView | undefined = failureRecord
    ? {
        failure: failureRecord,
        readableCause: readableCause(
          typeof failureRecord.cause === 'string' ? failureRecord.cause : undefined,
        ),
        sentToDlq: sendExited !== undefined && !caught.has(sendExited),
      }
    : undefined;
  return {
    statuses,
    entered,
    ...(map ? { map } : {}),
    chunks,
    ...(failure ? { failure } : {}),
  };
}

/** The FilePlan PlanFile returned (`$.plan` of its output), once it has. */
function planOf(events: readonly HistoryEventLike[]): Json | undefined {
  for (const event of events) {
    if (event.type !== 'TaskStateExited') continue;
    const details = event.stateExitedEventDetails as Json | undefined;
    if (details?.name !== 'PlanFile') continue;
    const plan = parseObject(textIn(details, 'output'))?.plan;
    if (isObject(plan)) return plan;
  }
  return undefined;
}

function toView(event: HistoryEventLike): HistoryEventView {
  return {
    ...event,
    previousEventId: event.previousEventId ?? event.id - 1,
    timestamp:
      event.timestamp instanceof Date ? event.timestamp.toISOString() : String(event.timestamp),
  };
}

function nameIn(details: unknown): string | undefined {
  return isObject(details) && typeof details.name === 'string' ? details.name : undefined;
}

function textIn(details: unknown, field: string): string | undefined {
  if (!isObject(details)) return undefined;
  const value = details[field];
  return typeof value === 'string' ? value : undefined;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function parseObject(text: string | undefined): Json | undefined {
  const value = parseJson(text);
  return isObject(value) ? value : undefined;
}

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function lowerFirst(text: string): string {
  return `${text.charAt(0).toLowerCase()}${text.slice(1)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
