import { StateMachine } from 'aws-local-stepfunctions';
import type { PreparedDefinition } from './definition.js';
import { readPath } from './definition.js';
import type { ExecutionStore } from './store.js';
import type { TaskHandler } from './tasks.js';

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** An error the Step Functions API returns, with the AWS error code as `name`. */
export class SfnApiError extends Error {
  constructor(code: string, message: string) {
    super(message);
    this.name = code;
  }
}

/** One history event, shaped like GetExecutionHistory's `events[]`. */
export interface HistoryEvent {
  readonly id: number;
  readonly previousEventId: number;
  readonly timestamp: Date;
  readonly type: string;
  readonly [details: string]: unknown;
}

/** One execution and its history. */
export interface Execution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: string;
  readonly startDate: Date;
  status: ExecutionStatus;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  readonly events: HistoryEvent[];
  /** Times this execution was run again from the start after the stack stopped or died mid-run. */
  readonly resumes: number;
  /** Settles when the execution closes. */
  readonly done: Promise<void>;
  abort(): void;
}

/** The local-only history event of an execution run again after a stop or crash. */
export const EXECUTION_RESUMED = 'ExecutionResumed';

/** Identity of the local state machine. */
export interface StateMachineInfo {
  readonly name: string;
  readonly arn: string;
  readonly roleArn: string;
  readonly region: string;
  readonly account: string;
  readonly createdAt: Date;
}

// StartExecution's rule: 1-80 characters, none of them white space, brackets,
// wildcards, the listed punctuation or control characters (Unicode letters are fine).
const NAME_PATTERN = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\p{Cc}]{1,80}$/u;

/** Whether Step Functions accepts this execution name. */
export function isValidExecutionName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

const MAX_INPUT_BYTES = 256 * 1024;

/**
 * Runs executions of one state machine with aws-local-stepfunctions and keeps
 * what the Step Functions API reports about them: status, input/output,
 * AWS-shaped history, and name idempotency (same name and input while running
 * → the same execution; a closed one, or another input → ExecutionAlreadyExists).
 */
export class ExecutionService {
  private readonly executions = new Map<string, Execution>();
  private readonly machine: StateMachine;
  private readonly listeners = new Set<(execution: Execution, event: HistoryEvent) => void>();
  /** Executions found RUNNING in the store: the stack stopped or died while they ran. */
  private readonly interrupted: Execution[] = [];
  /** Set by stop(): running executions are interrupted (they resume later), not aborted. */
  private stopping = false;
  /** StopExecution's error and cause, per execution being stopped. */
  private readonly stopRequests = new Map<string, { error?: string; cause?: string }>();

  constructor(
    readonly info: StateMachineInfo,
    readonly prepared: PreparedDefinition,
    private readonly tasks: Record<string, TaskHandler>,
    /** Where executions persist; in memory only when undefined. */
    private readonly store?: ExecutionStore,
  ) {
    this.machine = new StateMachine(prepared.definition, {
      validationOptions: { checkPaths: true, checkArn: true },
    });
    for (const stored of store?.load() ?? []) {
      const execution: Execution = {
        executionArn: stored.executionArn,
        stateMachineArn: this.info.arn,
        name: stored.name,
        input: stored.input,
        startDate: stored.startDate,
        status: (stored.closed?.status as ExecutionStatus | undefined) ?? 'RUNNING',
        ...(stored.closed
          ? {
              stopDate: stored.closed.stopDate,
              ...(stored.closed.output === undefined ? {} : { output: stored.closed.output }),
              ...(stored.closed.error === undefined ? {} : { error: stored.closed.error }),
              ...(stored.closed.cause === undefined ? {} : { cause: stored.closed.cause }),
            }
          : {}),
        events: stored.events.map((event, index) => ({
          ...event,
          id: index + 1,
          previousEventId: index,
          type: String(event.type),
        })),
        resumes: stored.events.filter((event) => event.type === EXECUTION_RESUMED).length,
        done: Promise.resolve(),
        abort: () => undefined,
      };
      this.executions.set(execution.executionArn, execution);
      if (!stored.closed) this.interrupted.push(execution);
    }
  }

  /**
   * Runs again, from the start, every execution the store holds as RUNNING (the stack
   * stopped or was killed while it ran), under the same name and with the same input:
   * loads are idempotent, so re-running is safe. Each gets an `ExecutionResumed`
   * history event. Call it once the task handlers are ready; returns them.
   */
  resumeInterrupted(): Execution[] {
    const resumed = this.interrupted.splice(0);
    for (const execution of resumed) {
      const resumes = execution.resumes + 1;
      (execution as { resumes: number }).resumes = resumes;
      this.record(execution, {
        type: EXECUTION_RESUMED,
        executionResumedEventDetails: {
          resumeCount: resumes,
          reason: 'the local stack stopped while this execution ran; it runs again from the start',
        },
      });
      this.run(execution, JSON.parse(execution.input) as JsonValue, true);
    }
    return resumed;
  }

  /** Subscribes to every history event of every execution; returns the unsubscribe function. */
  onEvent(listener: (execution: Execution, event: HistoryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** StartExecution. */
  start(stateMachineArn: string, name: string | undefined, input: string | undefined): Execution {
    if (stateMachineArn !== this.info.arn) {
      throw new SfnApiError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${stateMachineArn}'`,
      );
    }
    const executionName = name ?? crypto.randomUUID();
    if (!isValidExecutionName(executionName)) {
      throw new SfnApiError('InvalidName', `Invalid Name: '${executionName}'`);
    }
    const inputText = input ?? '{}';
    if (Buffer.byteLength(inputText) > MAX_INPUT_BYTES) {
      throw new SfnApiError('InvalidExecutionInput', 'Input exceeds the 262144-byte limit');
    }
    let parsedInput: JsonValue;
    try {
      parsedInput = JSON.parse(inputText) as JsonValue;
    } catch (error) {
      throw new SfnApiError(
        'InvalidExecutionInput',
        `Invalid State Machine Execution Input: '${(error as Error).message}'`,
      );
    }
    const executionArn = `arn:aws:states:${this.info.region}:${this.info.account}:execution:${this.info.name}:${executionName}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === inputText) return existing;
      throw new SfnApiError(
        'ExecutionAlreadyExists',
        `Execution Already Exists: '${executionArn}'`,
      );
    }
    const execution: Execution = {
      executionArn,
      stateMachineArn: this.info.arn,
      name: executionName,
      input: inputText,
      startDate: new Date(),
      status: 'RUNNING',
      events: [],
      resumes: 0,
      done: Promise.resolve(),
      abort: () => undefined,
    };
    // On disk before StartExecution answers: the caller may delete its message next.
    this.store?.begin(execution);
    this.executions.set(executionArn, execution);
    this.run(execution, parsedInput, false);
    return execution;
  }

  /**
   * StopExecution: aborts a running execution (status ABORTED, `ExecutionAborted` with
   * the given error and cause) and resolves once it has closed. A closed execution is
   * left as it is.
   */
  async stopExecution(executionArn: string, error?: string, cause?: string): Promise<Execution> {
    const execution = this.get(executionArn);
    if (execution.status !== 'RUNNING') return execution;
    this.stopRequests.set(executionArn, {
      ...(error === undefined ? {} : { error }),
      ...(cause === undefined ? {} : { cause }),
    });
    execution.abort();
    await execution.done;
    return execution;
  }

  /** DescribeExecution / GetExecutionHistory lookup. */
  get(executionArn: string): Execution {
    const execution = this.executions.get(executionArn);
    if (!execution) {
      throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    }
    return execution;
  }

  /** Every execution, newest first (ListExecutions order). */
  list(statusFilter?: ExecutionStatus): Execution[] {
    return [...this.executions.values()]
      .filter((execution) => statusFilter === undefined || execution.status === statusFilter)
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
  }

  /**
   * Stops the runner. With a store, running executions are interrupted: they stay
   * RUNNING on disk and resume on the next start. In memory they are aborted.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const running = this.list('RUNNING');
    for (const execution of running) execution.abort();
    await Promise.allSettled(running.map((execution) => execution.done));
  }

  /** Appends one history event (to the store too) and tells the listeners. */
  private record(execution: Execution, event: { type: string; [key: string]: unknown }): void {
    const id = execution.events.length + 1;
    const full: HistoryEvent = { id, previousEventId: id - 1, timestamp: new Date(), ...event };
    execution.events.push(full);
    this.store?.event(execution.executionArn, full);
    for (const listener of this.listeners) listener(execution, full);
  }

  /** Starts the runner on an execution (a new one, or a resumed one with its history). */
  private run(execution: Execution, input: JsonValue, resumed: boolean): void {
    const { executionArn, name } = execution;
    const context = {
      Execution: {
        Id: executionArn,
        Name: name,
        RoleArn: this.info.roleArn,
        RedriveCount: 0,
      },
      StateMachine: { Id: this.info.arn, Name: this.info.name },
      // The runner has no per-state context; Parameters are evaluated as a state is
      // entered, so "now" is the state's EnteredTime there.
      State: {
        get EnteredTime() {
          return new Date().toISOString();
        },
        RetryCount: 0,
      },
      Task: {},
    };
    const handle = this.machine.run(input, {
      overrides: { taskResourceLocalHandlers: this.tasks },
      context,
    });
    (execution as { abort: () => void }).abort = () => handle.abort();
    const recorder = this.recordEvents(
      execution,
      handle.eventLogs as unknown as AsyncGenerator<Record<string, unknown>>,
      resumed,
    );
    const settled = handle.result.then(
      (output) => {
        execution.output = JSON.stringify(output);
        return 'SUCCEEDED' as const;
      },
      (error: unknown) => {
        const name = error instanceof Error ? error.constructor.name : '';
        if (name === 'ExecutionAbortedError') return 'ABORTED' as const;
        if (name === 'ExecutionTimeoutError') {
          execution.error = 'States.Timeout';
          return 'TIMED_OUT' as const;
        }
        return 'FAILED' as const;
      },
    );
    (execution as { done: Promise<void> }).done = Promise.all([settled, recorder]).then(
      ([status]) => {
        this.stopRequests.delete(executionArn);
        if (this.stopping && this.store && status === 'ABORTED') {
          // Interrupted by the stack's own stop: it stays RUNNING on disk and resumes.
          this.store.release(executionArn);
          return;
        }
        // The event log has the error and cause of a failure; set the status last so a
        // client that sees FAILED also sees why.
        execution.stopDate = new Date();
        execution.status = status;
        this.store?.close(executionArn, {
          status,
          stopDate: execution.stopDate,
          ...(execution.output === undefined ? {} : { output: execution.output }),
          ...(execution.error === undefined ? {} : { error: execution.error }),
          ...(execution.cause === undefined ? {} : { cause: execution.cause }),
        });
      },
    );
  }

  private async recordEvents(
    execution: Execution,
    logs: AsyncGenerator<Record<string, unknown>>,
    resumed: boolean,
  ): Promise<void> {
    const stateTypes = new Map<string, string>();
    for await (const raw of logs) {
      // A resumed execution keeps its first ExecutionStarted; the stack's own stop
      // leaves no trace (the execution resumes on the next start).
      const skip =
        (resumed && raw.type === 'ExecutionStarted') ||
        (raw.type === 'ExecutionAborted' && this.stopping && this.store !== undefined);
      if (!skip) {
        for (const event of this.toHistory(execution, raw, stateTypes)) {
          const { id: _id, previousEventId: _previous, ...rest } = event;
          this.record(execution, { ...rest, type: event.type });
        }
      }
      if (
        ['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionAborted', 'ExecutionTimeout'].includes(
          String(raw.type),
        )
      ) {
        break;
      }
    }
  }

  /** Maps one runner event to the AWS history event(s) it stands for. */
  private toHistory(
    execution: Execution,
    raw: Record<string, unknown>,
    stateTypes: Map<string, string>,
  ): HistoryEvent[] {
    const type = String(raw.type);
    const timestamp = new Date(typeof raw.timestamp === 'number' ? raw.timestamp : Date.now());
    const state = (raw.state ?? raw.parentState) as
      | { name: string; type: string; input?: unknown; output?: unknown }
      | undefined;
    const out: Array<{ type: string; [key: string]: unknown }> = [];
    switch (type) {
      case 'ExecutionStarted':
        out.push({
          type,
          executionStartedEventDetails: {
            input: execution.input,
            inputDetails: { truncated: false },
            roleArn: this.info.roleArn,
          },
        });
        break;
      case 'ExecutionSucceeded':
        out.push({
          type,
          executionSucceededEventDetails: {
            output: JSON.stringify(raw.output ?? null),
            outputDetails: { truncated: false },
          },
        });
        break;
      case 'ExecutionFailed': {
        execution.error = String(raw.Error ?? 'States.Runtime');
        execution.cause =
          typeof raw.Cause === 'string' ? raw.Cause : JSON.stringify(raw.Cause ?? '');
        out.push({
          type,
          executionFailedEventDetails: { error: execution.error, cause: execution.cause },
        });
        break;
      }
      case 'ExecutionAborted': {
        const request = this.stopRequests.get(execution.executionArn) ?? {};
        if (request.error !== undefined) execution.error = request.error;
        if (request.cause !== undefined) execution.cause = request.cause;
        out.push({ type, executionAbortedEventDetails: request });
        break;
      }
      case 'ExecutionTimeout':
        out.push({
          type: 'ExecutionTimedOut',
          executionTimedOutEventDetails: { error: 'States.Timeout' },
        });
        break;
      case 'StateEntered': {
        if (!state) break;
        stateTypes.set(state.name, state.type);
        out.push({
          type: `${state.type}StateEntered`,
          stateEnteredEventDetails: {
            name: state.name,
            input: JSON.stringify(state.input ?? null),
          },
        });
        const map = this.prepared.maps.get(state.name);
        if (state.type === 'Map' && map) {
          const items = readPath(state.input, map.itemsPath);
          if (Array.isArray(items)) {
            out.push({
              type: 'MapStateStarted',
              mapStateStartedEventDetails: { length: items.length },
            });
          }
        }
        break;
      }
      case 'StateExited': {
        if (!state) break;
        if (state.type === 'Map') out.push({ type: 'MapStateSucceeded' });
        out.push({
          type: `${state.type}StateExited`,
          stateExitedEventDetails: {
            name: state.name,
            output: JSON.stringify(state.output ?? null),
          },
        });
        break;
      }
      case 'StateFailed': {
        if (!state) break;
        const error = String(raw.Error ?? 'States.TaskFailed');
        const cause = typeof raw.Cause === 'string' ? raw.Cause : JSON.stringify(raw.Cause ?? '');
        if (state.type === 'Task') {
          const task = this.prepared.tasks.find((candidate) => candidate.name === state.name);
          const [resourceType, resource] = describeResource(task?.resource ?? '');
          out.push({
            type: 'TaskFailed',
            taskFailedEventDetails: { resourceType, resource, error, cause },
          });
        } else if (state.type === 'Map' || state.type === 'Parallel') {
          out.push({ type: `${state.type}StateFailed` });
        }
        break;
      }
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const details = { name: state?.name ?? '', index: Number(raw.index ?? 0) };
        const key = `${type.charAt(0).toLowerCase()}${type.slice(1)}EventDetails`;
        out.push({ type, [key]: details });
        break;
      }
      default:
        // StateRetried and StateCaught have no history event of their own in AWS:
        // a retry shows as the task failing and being scheduled again.
        break;
    }
    return out.map((event) => {
      const id = execution.events.length + 1 + out.indexOf(event);
      return { id, previousEventId: id - 1, timestamp, ...event };
    });
  }
}

function describeResource(resource: string): [string, string] {
  const integration = /^arn:aws[a-z-]*:states:::([a-z0-9-]+):(.+)$/.exec(resource);
  if (integration) return [integration[1] ?? '', integration[2] ?? ''];
  if (resource.includes(':lambda:')) return ['lambda', resource];
  return ['', resource];
}
