import { PassThrough } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { liveRowsReader } from '../../local/cli/live-rows.js';
import { progressLine } from '../../local/cli/report.js';
import { describeExecution } from '../../local/cli/sfn-views.js';
import type { ExecutionSummary } from '../../local/console/model.js';
import type { DynamoDbCall } from '../../local/emulators/dynamodb-faults.js';
import { generateCsv } from '../../local/generate-csv.js';
import type { LocalStack } from '../../local/stack.js';
import { closed, nextExecutionOf, startTestStack, waitFor } from './helpers.js';

// One chunk that takes several seconds to write, so it reports before it ends.
const ROWS = 60_000;
const CHUNK_BYTES = 64 * 1024 * 1024;

let stack: LocalStack;
let stop: () => Promise<void>;
let gate: ((call: DynamoDbCall) => Promise<void>) | undefined;

beforeAll(async () => {
  ({ stack, stop } = await startTestStack({
    // A Map of one: the planner then cuts no more chunks than the target asks for.
    context: { chunkTargetBytes: CHUNK_BYTES, mapMaxConcurrency: 1 },
    faults: {
      dynamodb: { throttle: 0, partial: 0, gate: (call) => gate?.(call) ?? Promise.resolve() },
    },
  }));
}, 60_000);

afterAll(async () => {
  await stop?.();
}, 30_000);

async function generated(rows: number): Promise<Buffer> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  await generateCsv({ rows, seed: 11 }, sink);
  sink.end();
  return Buffer.concat(chunks);
}

/** Whether a DynamoDB request is a load's progress report to the control table. */
function isProgressReport(call: DynamoDbCall): boolean {
  const key = call.body.Key as { pk?: { S?: string } } | undefined;
  return call.operation === 'UpdateItem' && (key?.pk?.S ?? '').startsWith('progress#');
}

describe('rows as they are written', () => {
  it('shows the rows a loading chunk has written before the chunk ends, in the CLI and the console, then the whole count', async () => {
    const key = 'progress/books.csv';
    const { promise: reported, resolve: reportSeen } = Promise.withResolvers<void>();
    const { promise: released, resolve: release } = Promise.withResolvers<void>();
    let held = false;
    gate = async (call) => {
      if (isProgressReport(call)) {
        held = true;
        reportSeen();
      } else if (held && call.operation === 'BatchWriteItem') {
        // The chunk cannot finish while we look: its next writes wait here.
        await released;
      }
    };
    const live = liveRowsReader(stack.endpoints);
    try {
      const started = nextExecutionOf(stack, key);
      await stack.clients.s3.send(
        new PutObjectCommand({ Bucket: stack.names.bucket, Key: key, Body: await generated(ROWS) }),
      );
      const execution = await started;
      await reported;

      const view = await describeExecution(
        stack.clients.sfn,
        {
          executionArn: execution.executionArn,
          stateMachineArn: execution.stateMachineArn,
          name: execution.name,
          status: 'RUNNING',
          startDate: execution.startDate,
        },
        live.read,
      );
      expect(view.status).toBe('RUNNING');
      const rows = [...(view.liveRows ?? new Map()).values()].reduce((a, b) => a + b, 0);
      expect(rows).toBeGreaterThan(0);
      expect(rows).toBeLessThan(ROWS);
      // The CLI's line shows them although no chunk has finished.
      expect(progressLine(view, 20)).toMatch(
        new RegExp(`0/1 chunks +${rows.toLocaleString('en-US')} rows +RUNNING`),
      );
      // So does the console's executions list (it reads the reports every second).
      const listed = await waitFor('the console to list the rows written so far', async () => {
        const answer = await fetch(new URL('/api/executions', stack.endpoints.console));
        const summaries = (await answer.json()) as ExecutionSummary[];
        const summary = summaries.find((one) => one.executionArn === execution.executionArn);
        return summary !== undefined && summary.rowsWritten > 0 ? summary : undefined;
      });
      expect(listed).toMatchObject({ status: 'RUNNING', chunksDone: 0, rowsWritten: rows });

      release();
      await closed(execution, 120_000);
      expect(execution.status).toBe('SUCCEEDED');
      expect((await live.read(execution.input)).get(0)).toBe(ROWS);
    } finally {
      release();
      gate = undefined;
      live.close();
    }
  }, 180_000);
});
