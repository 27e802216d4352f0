import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Upload } from '@aws-sdk/lib-storage';
import { PORTS, type PortName } from '../../local/config.js';
import { type LocalStack, startLocalStack } from '../../local/stack.js';
import type { Execution, HistoryEvent } from '../../local/stepfunctions/executions.js';
import type { BenchContext } from './options.js';

/**
 * The local stack of one bench run: started once (on free ports, in memory, under
 * bench/results/) by the first suite that needs it, shared by the ingest and API
 * suites (handler modules load once per process), and stopped by run.ts.
 */
let running: Promise<LocalStack> | undefined;

/** The bench run's local stack, starting it on first use. */
export function benchStack(context: BenchContext): Promise<LocalStack> {
  running ??= (async () => {
    context.log('starting the local stack (free ports, in memory)');
    const ports = Object.fromEntries(Object.keys(PORTS).map((name) => [name, 0])) as Record<
      PortName,
      number
    >;
    return startLocalStack({
      ports,
      dataDir: fileURLToPath(new URL('stack/', context.workDir)),
      inMemory: true,
      writeEndpointsFile: false,
      // The deployed 20 s long poll (stop() aborts a poll in flight): a short one would
      // add a ReceiveMessage call per poller per second to the stack's CPU.
      // One log line per request or chunk would flood the table's terminal; both
      // sides of every comparison run at the same level.
      logLevel: 'WARN',
      onLog: (message) => context.log(`stack: ${message}`),
    });
  })();
  return running;
}

/** Stops the stack if a suite started it. */
export async function stopBenchStack(): Promise<void> {
  if (!running) return;
  const stack = await running.catch(() => undefined);
  running = undefined;
  await stack?.stop();
}

/** An ingestion through the pipeline, timed from the start of the upload. */
export interface Ingestion {
  readonly key: string;
  readonly executionArn: string;
  /** Upload start → the execution's stop date, in milliseconds. */
  readonly elapsedMs: number;
  readonly output: { readonly rows: number; readonly written: number; readonly chunks: number };
  /** Where the time went, in seconds, from the execution's history. */
  readonly phases: Phases;
}

/** Seconds spent in each part of an ingestion. */
export interface Phases {
  /** Upload start → execution started (upload, notification, SQS, start-ingestion). */
  readonly uploadToStart: number;
  readonly planFile: number;
  readonly loadChunks: number;
}

/**
 * Uploads `file` as `key` and waits until the execution that ingests it succeeds:
 * the whole path a user's upload takes (S3 → notification → SQS → start-ingestion →
 * Step Functions → PlanFile → LoadChunks → Summarize). The bench watches the local
 * execution service's events in process (what the Step Functions API would report),
 * so watching costs the stack no API calls: the stack's CPU is the pipeline's alone.
 * A failed execution or the timeout throws.
 */
export async function ingestThroughPipeline(
  stack: LocalStack,
  file: URL,
  key: string,
  timeoutMs: number,
): Promise<Ingestion> {
  const uploadStart = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe = () => {};
  const started = new Promise<Execution>((resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`ingesting ${key} did not start within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    unsubscribe = stack.executions.onEvent((execution, event) => {
      if (event.type === 'ExecutionStarted' && fileKeyOf(execution) === key) resolve(execution);
    });
  });
  try {
    // As `aws s3 cp` does: a multipart upload in 8 MiB parts above 8 MiB (fauxqs, like
    // an S3 proxy, caps a single request body, so a large PutObject would be refused).
    await new Upload({
      client: stack.clients.s3,
      params: {
        Bucket: stack.endpoints.bucket,
        Key: key,
        Body: createReadStream(fileURLToPath(file)),
        ContentType: 'text/csv',
      },
      partSize: 8 * 1024 * 1024,
      queueSize: 4,
    }).done();
    const execution = await started;
    const left = uploadStart + timeoutMs - Date.now();
    const closed = await Promise.race([
      execution.done.then(() => true),
      new Promise<false>((resolve) => {
        clearTimeout(timer);
        timer = setTimeout(() => resolve(false), Math.max(0, left));
      }),
    ]);
    if (!closed) {
      throw new Error(
        `ingesting ${key} did not succeed within ${Math.round(timeoutMs / 1000)} s (${execution.executionArn})`,
      );
    }
    if (execution.status !== 'SUCCEEDED') {
      throw new Error(
        `ingesting ${key} ended ${execution.status}: ${execution.error ?? ''} ${execution.cause ?? ''}`,
      );
    }
    const stop = execution.stopDate?.getTime() ?? Date.now();
    const output = JSON.parse(execution.output ?? '{}') as Ingestion['output'];
    return {
      key,
      executionArn: execution.executionArn,
      elapsedMs: stop - uploadStart,
      output,
      phases: phasesOf(execution, uploadStart),
    };
  } finally {
    clearTimeout(timer);
    unsubscribe();
  }
}

/** The object key an execution ingests (its input's `file.key`). */
function fileKeyOf(execution: Execution): string | undefined {
  const input = JSON.parse(execution.input) as { file?: { key?: string } };
  return input.file?.key;
}

/** Splits an execution's time into its phases from the first entry and last exit of each state. */
function phasesOf(execution: Execution, uploadStart: number): Phases {
  const { events, executionArn } = execution;
  const time = (type: string, name?: string, last = false): number => {
    const stateOf = (event: HistoryEvent) =>
      ((event.stateEnteredEventDetails ?? event.stateExitedEventDetails) as { name?: string })
        ?.name;
    const matching = events.filter(
      (event) => event.type === type && (name === undefined || stateOf(event) === name),
    );
    const event = last ? matching.at(-1) : matching[0];
    const at = event?.timestamp.getTime();
    if (at === undefined)
      throw new Error(`${executionArn}: no ${type} ${name ?? ''} in its history`);
    return at;
  };
  const seconds = (from: number, to: number) => Math.round(to - from) / 1000;
  return {
    uploadToStart: seconds(uploadStart, time('ExecutionStarted')),
    planFile: seconds(
      time('TaskStateEntered', 'PlanFile'),
      time('TaskStateExited', 'PlanFile', true),
    ),
    loadChunks: seconds(
      time('MapStateEntered', 'LoadChunks'),
      time('MapStateExited', 'LoadChunks', true),
    ),
  };
}
