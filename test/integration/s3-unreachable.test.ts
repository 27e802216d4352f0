import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../local/config.js';

const DATASET = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: { dataset: unknown };
  }
).context.dataset;

/** A local port nothing listens on: bound once to learn a free one, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface Invocation {
  readonly result?: unknown;
  readonly error?: { readonly name: string; readonly message: string };
}

/** Invokes a handler in a child process (Node's own realm, as in Lambda) with `env`. */
function invoke(handler: string, event: unknown, env: Record<string, string>): Promise<Invocation> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        join(PROJECT_ROOT, 'node_modules/tsx/dist/cli.mjs'),
        join(PROJECT_ROOT, 'test/support/invoke-handler.ts'),
        join(PROJECT_ROOT, 'handlers', handler, 'index.ts'),
        JSON.stringify(event),
        '60000',
      ],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const line = stdout.trim().split('\n').at(-1) ?? '';
        if (error && !line.startsWith('{')) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(line) as Invocation);
      },
    );
  });
}

describe('S3 that does not answer (the real handler and SDK, connection refused)', () => {
  it('fails PlanFile with ServiceUnreachableError naming HeadObject, S3 and ECONNREFUSED after UNREACHABLE_BUDGET_MS', async () => {
    const outcome = await invoke(
      'plan-file',
      { file: { bucket: 'uploads', key: 'books.csv' } },
      {
        DATASET: JSON.stringify(DATASET),
        UNREACHABLE_BUDGET_MS: '300',
        AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await closedPort()}`,
        S3_FORCE_PATH_STYLE: 'true',
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_MAX_ATTEMPTS: '1',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      },
    );
    expect(outcome.error).toEqual({
      name: 'ServiceUnreachableError',
      message: expect.stringMatching(
        /^HeadObject of s3:\/\/uploads\/books\.csv: S3 did not answer for \d+\.\d s \(\d+ attempt\(s\), ECONNREFUSED: Error: connect ECONNREFUSED 127\.0\.0\.1:\d+\) and the budget for an unreachable service \(UNREACHABLE_BUDGET_MS=300\) is spent\. Nothing answered/,
      ),
    });
  }, 70_000);
});
