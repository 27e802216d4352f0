/**
 * Bench child: drives one autocannon run against an HTTPS endpoint from its own process,
 * so the load generator never competes with the server for the server's event loop.
 */
import { readFile } from 'node:fs/promises';
import autocannon from 'autocannon';
import { reportToParent } from '../lib/child.js';

/** One load run, read from the JSON file named by argv[2]. */
export interface LoadRun {
  readonly url: string;
  readonly caCertFile: string;
  readonly seconds: number;
  readonly connections: number;
  readonly requests: readonly {
    readonly method: 'GET' | 'POST';
    readonly path: string;
    readonly headers: Record<string, string>;
    readonly body?: string;
  }[];
}

/** What the parent receives. */
export interface LoadResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

await reportToParent(async (): Promise<LoadResult> => {
  const [runFile] = process.argv.slice(2);
  if (!runFile) throw new Error('usage: load.ts <run.json>');
  const run = JSON.parse(await readFile(runFile, 'utf8')) as LoadRun;
  const ca = await readFile(run.caCertFile, 'utf8');
  const result = await autocannon({
    url: run.url,
    connections: run.connections,
    duration: run.seconds,
    servername: 'localhost',
    tlsOptions: { ca },
    requests: run.requests.map((request) => ({ ...request })),
  });
  return {
    requests: result.requests.total,
    rps: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
});
