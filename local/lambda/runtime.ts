import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';

/** One Lambda function of the local stack: the same handler module and settings as in AWS. */
export interface LocalFunction {
  /** Function name, as CDK names it. */
  readonly name: string;
  readonly arn: string;
  /** Absolute path of the handler entry module (`handlers/<name>/index.ts`). */
  readonly module: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** The function's environment (merged into process.env before the module is imported). */
  readonly env: Readonly<Record<string, string>>;
}

/** What a Lambda invocation returned: a result, or a function error as Lambda reports it. */
export type InvokeOutcome =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: FunctionError };

/** A function error, shaped like the payload Lambda returns with `X-Amz-Function-Error`. */
export interface FunctionError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace: readonly string[];
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Hook that may replace an invocation (fault injection); `next` runs the real handler. */
export type InvokeInterceptor = (
  fn: LocalFunction,
  event: unknown,
  next: () => Promise<InvokeOutcome>,
) => Promise<InvokeOutcome>;

/**
 * Runs handler modules like the Lambda runtime does: one module instance per
 * function (imported once, so module-level configuration and SDK clients are
 * cold-start singletons), a Lambda context per invocation, the configured
 * timeout enforced, and thrown errors turned into Lambda function errors.
 */
export class LambdaRuntime {
  private readonly handlers = new Map<string, Promise<Handler>>();
  /** Handler runs not finished yet (a timed-out one runs on, as a real sandbox does until killed). */
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly functions: readonly LocalFunction[],
    private readonly interceptor?: InvokeInterceptor,
  ) {}

  /** The function with this name or ARN, or undefined. */
  find(nameOrArn: string): LocalFunction | undefined {
    const name = nameOrArn.startsWith('arn:') ? (nameOrArn.split(':')[6] ?? nameOrArn) : nameOrArn;
    return this.functions.find((fn) => fn.name === name);
  }

  /** Imports every handler module now, so configuration errors surface at boot. */
  async warmUp(): Promise<void> {
    await Promise.all(this.functions.map((fn) => this.load(fn)));
  }

  /**
   * Waits until every handler run has finished, the ones whose execution was stopped or
   * whose invocation timed out included, for at most `timeoutMs`: the stack calls it
   * before it stops the emulators, so a handler about to finish is not cut off. Resolves
   * to the runs still going when the time is up (a loader can take minutes over its
   * chunk; cutting it off is safe, as a crash is: its execution resumes on the next
   * start and the chunk is written again).
   */
  async drain(timeoutMs = Number.POSITIVE_INFINITY): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.running.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      const timeUp = new Promise<void>((resolve) => {
        if (Number.isFinite(left)) timer = setTimeout(resolve, left);
      });
      await Promise.race([Promise.allSettled([...this.running]), timeUp]);
      clearTimeout(timer);
    }
    return this.running.size;
  }

  /** Invokes a function synchronously (RequestResponse). */
  async invoke(fn: LocalFunction, event: unknown): Promise<InvokeOutcome> {
    const run = () => this.run(fn, event);
    return this.interceptor ? this.interceptor(fn, event, run) : run();
  }

  private async run(fn: LocalFunction, event: unknown): Promise<InvokeOutcome> {
    const handler = await this.load(fn);
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    const requestId = randomUUID();
    const context: Context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: fn.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: fn.arn,
      memoryLimitInMB: String(fn.memoryMb),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${fn.name}`,
      logStreamName: `local/[$LATEST]${requestId.replaceAll('-', '')}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<InvokeOutcome>((resolve) => {
      timer = setTimeout(
        () =>
          resolve({
            ok: false,
            error: {
              errorType: 'Sandbox.Timedout',
              errorMessage: `RequestId: ${requestId} Error: Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`,
              trace: [],
            },
          }),
        fn.timeoutSeconds * 1000,
      );
      // The deadline alone never keeps the process alive: the handler's own work does.
      timer.unref();
    });
    const execution = (async (): Promise<InvokeOutcome> => {
      try {
        // Lambda serialises the event and the result as JSON: do the same, so a
        // handler never sees (or returns) something the real service would not carry.
        const result = await handler(JSON.parse(JSON.stringify(event ?? null)), context);
        return {
          ok: true,
          result: result === undefined ? null : JSON.parse(JSON.stringify(result)),
        };
      } catch (error) {
        return { ok: false, error: toFunctionError(error) };
      }
    })();
    this.running.add(execution);
    void execution.finally(() => this.running.delete(execution));
    try {
      return await Promise.race([execution, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private load(fn: LocalFunction): Promise<Handler> {
    let loaded = this.handlers.get(fn.name);
    if (!loaded) {
      loaded = (async () => {
        const module: unknown = await import(pathToFileURL(fn.module).href);
        const handler = (module as { handler?: unknown }).handler;
        if (typeof handler !== 'function') {
          throw new Error(`${fn.module} does not export a function named "handler"`);
        }
        return handler as Handler;
      })();
      this.handlers.set(fn.name, loaded);
    }
    return loaded;
  }
}

/** The error payload Lambda returns for an exception thrown by a handler. */
export function toFunctionError(error: unknown): FunctionError {
  if (error instanceof Error) {
    return {
      errorType: error.name || 'Error',
      errorMessage: error.message,
      trace: (error.stack ?? '').split('\n'),
    };
  }
  return { errorType: 'Error', errorMessage: String(error), trace: [] };
}

/**
 * Sets the variables every function sees (its own environment plus the local
 * endpoints) on process.env. Handler modules read configuration at import, so
 * this must run before the first import; values that two functions would set
 * differently are reported, because one process has one environment.
 */
export function applyFunctionEnvironment(
  functions: readonly LocalFunction[],
  common: Readonly<Record<string, string>>,
): void {
  const merged: Record<string, string> = { ...common };
  const conflicts: string[] = [];
  for (const fn of functions) {
    for (const [name, value] of Object.entries(fn.env)) {
      if (name in merged && merged[name] !== value && !(name in common)) {
        conflicts.push(`${name} (${fn.name})`);
        continue;
      }
      if (!(name in common)) merged[name] = value;
    }
  }
  if (conflicts.length > 0) {
    // Shared process, shared environment: the first function's value wins.
    process.emitWarning(
      `Functions set different values for: ${conflicts.join(', ')}; the first value is used`,
      { code: 'LOCAL_ENV_CONFLICT' },
    );
  }
  Object.assign(process.env, merged);
}
