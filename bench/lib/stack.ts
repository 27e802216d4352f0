import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ListExecutionsCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { Upload } from '@aws-sdk/lib-storage';
import { allEvents } from '../../local/cli/sfn-views.js';
import { PORTS, type PortName } from '../../local/config.js';
import { type LocalStack, startLocalStack } from '../../local/stack.js';
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
      // A long poll returns as soon as a message arrives either way; a short one lets
      // stop() finish without waiting out a 20 s poll.
      pollWaitSeconds: 1,
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
 * Step Functions → PlanFile → LoadChunks → Summarize), observed through the public
 * Step Functions API. A failed execution or the timeout throws.
 */
export async function ingestThroughPipeline(
  stack: LocalStack,
  file: URL,
  key: string,
  timeoutMs: number,
): Promise<Ingestion> {
  const { s3, sfn } = stack.clients;
  const { bucket, stateMachineArn } = stack.endpoints;
  const seen = new Set<string>();
  const before = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1000 }));
  for (const execution of before.executions ?? []) {
    if (execution.executionArn) seen.add(execution.executionArn);
  }

  const uploadStart = Date.now();
  // As `aws s3 cp` does: a multipart upload in 8 MiB parts above 8 MiB (fauxqs, like
  // an S3 proxy, caps a single request body, so a large PutObject would be refused).
  await new Upload({
    client: s3,
    params: {
      Bucket: bucket,
      Key: key,
      Body: createReadStream(fileURLToPath(file)),
      ContentType: 'text/csv',
    },
    partSize: 8 * 1024 * 1024,
    queueSize: 4,
  }).done();
  const deadline = uploadStart + timeoutMs;
  let executionArn: string | undefined;
  while (Date.now() < deadline) {
    if (!executionArn) executionArn = await findExecution(stack, key, seen);
    if (executionArn) {
      const described: DescribeExecutionCommandOutput = await sfn.send(
        new DescribeExecutionCommand({ executionArn }),
      );
      if (described.status === 'SUCCEEDED') {
        const stop = described.stopDate?.getTime() ?? Date.now();
        const output = JSON.parse(described.output ?? '{}') as Ingestion['output'];
        const phases = await phasesOf(sfn, executionArn, uploadStart);
        return { key, executionArn, elapsedMs: stop - uploadStart, output, phases };
      }
      if (described.status !== 'RUNNING') {
        throw new Error(
          `ingesting ${key} ended ${described.status}: ${described.error ?? ''} ${described.cause ?? ''}`,
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `ingesting ${key} did not succeed within ${Math.round(timeoutMs / 1000)} s${executionArn ? ` (${executionArn})` : ' (no execution started)'}`,
  );
}

async function findExecution(
  stack: LocalStack,
  key: string,
  seen: Set<string>,
): Promise<string | undefined> {
  const { sfn } = stack.clients;
  const listed = await sfn.send(
    new ListExecutionsCommand({
      stateMachineArn: stack.endpoints.stateMachineArn,
      maxResults: 1000,
    }),
  );
  for (const execution of listed.executions ?? []) {
    const arn = execution.executionArn;
    if (!arn || seen.has(arn)) continue;
    seen.add(arn);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    const input = JSON.parse(described.input ?? '{}') as { file?: { key?: string } };
    if (input.file?.key === key) return arn;
  }
  return undefined;
}

/** Splits an execution's time into its phases from the first entry and last exit of each state. */
async function phasesOf(
  sfn: SFNClient,
  executionArn: string,
  uploadStart: number,
): Promise<Phases> {
  const events = await allEvents(sfn, executionArn);
  const time = (type: string, name?: string, last = false): number => {
    const matching = events.filter(
      (event) =>
        event.type === type &&
        (name === undefined ||
          (event.stateEnteredEventDetails?.name ?? event.stateExitedEventDetails?.name) === name),
    );
    const event = last ? matching.at(-1) : matching[0];
    const at = event?.timestamp?.getTime();
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
