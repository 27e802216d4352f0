import { mkdir, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { build, type Plugin } from 'esbuild';
import { startAlbFront } from '../../local/api/alb-front.js';
import { loadOrCreateCertificate } from '../../local/api/certificate.js';
import { dataPaths } from '../../local/config.js';
import { LambdaRuntime, type LocalFunction } from '../../local/lambda/runtime.js';
import { close } from '../../local/ports.js';
import type { LocalStack } from '../../local/stack.js';
import type { LoadResult, LoadRun } from '../children/load.js';
import { runChild } from '../lib/child.js';
import { benchFileName, generateFile } from '../lib/data.js';
import { ROOT } from '../lib/handler-env.js';
import type { BenchContext } from '../lib/options.js';
import { type ApiFigures, GOAL, judge, type SuiteReport } from '../lib/results.js';
import { benchStack, ingestThroughPipeline } from '../lib/stack.js';
import { median, ratio, round } from '../lib/stats.js';
import { formatNumber } from '../lib/table.js';
import { DEPLOYED_BUILD } from './bundles.js';

const BATCH_KEYS = 100;
/** Concurrent connections: enough to keep the single-process front busy, not to drown it. */
const CONNECTIONS = 8;

/**
 * The read API over HTTPS through the local ALB front, two instances side by side in
 * the stack's process: the handler bundled as the CDK app bundles it, and the same
 * bundle with the auth step replaced (bench/api/no-auth.ts, harness only). The load
 * generator runs in its own process.
 */
export async function runApi(context: BenchContext): Promise<SuiteReport<ApiFigures>> {
  const stack = await benchStack(context);
  const keys = await loadedKeys(stack, context);
  const token = await fetchToken(stack);
  const fronts = await startFronts(stack, context);
  try {
    const { name } = stack.config.dataset;
    const numeric = stack.config.dataset.keyType === 'N';
    const headers = { authorization: `Bearer ${token}` };
    const singles = keys.slice(0, 1000).map((key) => ({
      method: 'GET' as const,
      path: `/${name}/${encodeURIComponent(key)}`,
      headers,
    }));
    const batches = Array.from({ length: 10 }, (_, index) => {
      const slice = keys.slice(index * BATCH_KEYS, (index + 1) * BATCH_KEYS);
      return {
        method: 'POST' as const,
        path: `/${name}/batch-get`,
        headers: { ...headers, 'content-type': 'application/json' },
        body: `{"keys":[${slice.map((key) => (numeric ? key : JSON.stringify(key))).join(',')}]}`,
      };
    }).filter((request) => request.body.length > 12);

    // The run description (a thousand requests with their token) goes through a file:
    // it is far too large for a command line.
    let runs = 0;
    const load = async (url: string, requests: LoadRun['requests'], seconds: number) => {
      const runFile = new URL(`load-run-${++runs}.json`, context.workDir);
      const run: LoadRun = {
        url,
        caCertFile: fronts.caCertFile,
        seconds,
        connections: CONNECTIONS,
        requests,
      };
      await writeFile(runFile, JSON.stringify(run));
      return runChild<LoadResult>(
        new URL('../children/load.ts', import.meta.url),
        [fileURLToPath(runFile)],
        { timeoutMs: (seconds + 30) * 1000 },
      ).then((result) => {
        if (result.non2xx > 0 || result.errors > 0) {
          throw new Error(
            `${url}: ${result.non2xx} non-2xx responses and ${result.errors} errors out of ${result.requests}`,
          );
        }
        return result;
      });
    };

    // Warm both instances up (JIT, JWKS fetch, keep-alive sockets to dynalite).
    await load(fronts.auth, singles, 1);
    await load(fronts.noAuth, singles, 1);
    // Alternate the two so a noisy neighbour on the shared machine hits both alike.
    const rounds = context.quick ? 1 : 3;
    const withAuth: LoadResult[] = [];
    const withoutAuth: LoadResult[] = [];
    for (let round = 0; round < rounds; round += 1) {
      withAuth.push(await load(fronts.auth, singles, context.apiSeconds));
      withoutAuth.push(await load(fronts.noAuth, singles, context.apiSeconds));
    }
    const batch = await load(fronts.auth, batches, context.apiSeconds);

    const rps = median(withAuth.map((result) => result.rps));
    const p50Ms = median(withAuth.map((result) => result.p50Ms));
    const p99Ms = median(withAuth.map((result) => result.p99Ms));
    const noAuthP99Ms = median(withoutAuth.map((result) => result.p99Ms));
    const batchItemsPerSec = batch.rps * BATCH_KEYS;
    const figures: ApiFigures = {
      rps: Math.round(rps),
      p50Ms: round(p50Ms, 1),
      p99Ms: round(p99Ms, 1),
      noAuthP99Ms: round(noAuthP99Ms, 1),
      authP99Ratio: round(ratio(p99Ms, noAuthP99Ms), 2),
      batchSpeedup: round(ratio(batchItemsPerSec, rps), 1),
    };
    context.log(
      `api: ${formatNumber(rps)} rps, p50 ${p50Ms} ms, p99 ${p99Ms} ms (no auth ${noAuthP99Ms} ms), batch ${formatNumber(batchItemsPerSec)} items/s`,
    );
    return {
      figures,
      rows: [
        {
          suite: 'api',
          measure: `GET /${name}/{key}, ${CONNECTIONS} connections, p99`,
          value: `${figures.p99Ms} ms (p50 ${figures.p50Ms}, ${formatNumber(figures.rps)} rps)`,
          versus: `auth skipped ${figures.noAuthP99Ms} ms (${formatNumber(median(withoutAuth.map((r) => r.rps)))} rps)`,
          result: `${figures.authP99Ratio}×`,
          ...judge(GOAL.apiAuthP99Ratio, figures.authP99Ratio),
        },
        {
          suite: 'api',
          measure: `POST /${name}/batch-get, ${BATCH_KEYS} keys`,
          value: `${formatNumber(batchItemsPerSec)} items/s`,
          versus: `single GET ${formatNumber(rps)} items/s`,
          result: `${figures.batchSpeedup}×`,
          ...judge(GOAL.apiBatchSpeedup, figures.batchSpeedup),
        },
      ],
      details: {
        connections: CONNECTIONS,
        seconds: context.apiSeconds,
        rounds,
        keys: keys.length,
        withAuth,
        withoutAuth,
        batch: { ...batch, itemsPerSec: Math.round(batchItemsPerSec), batchP99Ms: batch.p99Ms },
      },
    };
  } finally {
    await fronts.stop();
  }
}

/** Keys present in the table; ingests a small generated file first when it is nearly empty. */
async function loadedKeys(stack: LocalStack, context: BenchContext): Promise<string[]> {
  const scan = () =>
    stack.clients.dynamodb.send(
      new ScanCommand({
        TableName: stack.endpoints.table,
        ProjectionExpression: '#key',
        ExpressionAttributeNames: { '#key': stack.config.dataset.key },
        Limit: 1000,
      }),
    );
  let items = (await scan()).Items ?? [];
  if (items.length < 1000) {
    const rows = 10_000;
    const file = new URL(benchFileName(stack.config.dataset.name, rows), context.workDir);
    await generateFile(file, rows);
    context.log('api: loading 10,000 rows through the pipeline first');
    await ingestThroughPipeline(stack, file, `bench/api-${rows}.csv`, 120_000);
    items = (await scan()).Items ?? [];
  }
  const { key } = stack.config.dataset;
  return items.map((item) => {
    const value = item[key];
    const text = value?.N ?? value?.S;
    if (text === undefined) throw new Error(`scanned item without key ${key}`);
    return text;
  });
}

/** A client-credentials access token from the local issuer, exactly as a client gets one. */
async function fetchToken(stack: LocalStack): Promise<string> {
  const { tokenUrl, clientId, clientSecret, scope } = stack.endpoints;
  const response = await fetch(tokenUrl, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok)
    throw new Error(`token request failed: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error('token response has no access_token');
  return body.access_token;
}

/** Redirects the routes' `./auth.js` import to the harness stand-in. */
const skipAuth: Plugin = {
  name: 'bench-skip-auth',
  setup(plugin) {
    plugin.onResolve({ filter: /^\.\/auth\.js$/ }, (args) =>
      args.importer.endsWith('handlers/api/routes.ts')
        ? { path: fileURLToPath(new URL('../api/no-auth.ts', import.meta.url)) }
        : undefined,
    );
  },
};

interface Fronts {
  readonly auth: string;
  readonly noAuth: string;
  readonly caCertFile: string;
  stop(): Promise<void>;
}

/** Bundles both variants and serves each through its own local ALB front. */
async function startFronts(stack: LocalStack, context: BenchContext): Promise<Fronts> {
  const dir = new URL('api-variants/', context.workDir);
  await mkdir(dir, { recursive: true });
  const variants = [
    { name: 'auth', plugins: [] as Plugin[] },
    { name: 'no-auth', plugins: [skipAuth] },
  ];
  const functions: LocalFunction[] = [];
  for (const variant of variants) {
    const outfile = fileURLToPath(new URL(`${variant.name}.mjs`, dir));
    const result = await build({
      ...DEPLOYED_BUILD,
      entryPoints: [fileURLToPath(new URL('handlers/api/index.ts', ROOT))],
      outfile,
      plugins: variant.plugins,
      metafile: true,
    });
    const inputs = Object.keys(result.metafile.inputs);
    const usesStandIn = inputs.some((input) => input.endsWith('bench/api/no-auth.ts'));
    if (usesStandIn !== (variant.name === 'no-auth')) {
      throw new Error(
        `the ${variant.name} API bundle ${usesStandIn ? 'uses' : 'misses'} the auth stand-in`,
      );
    }
    functions.push({
      name: `bench-api-${variant.name}`,
      arn: `arn:aws:lambda:us-east-1:000000000000:function:bench-api-${variant.name}`,
      module: outfile,
      timeoutSeconds: 30,
      memoryMb: 1024,
      // The stack already set the API's environment on this process (same table, same issuer).
      env: {},
    });
  }
  const runtime = new LambdaRuntime(functions);
  await runtime.warmUp();
  const tls = await loadOrCreateCertificate(
    dataPaths(fileURLToPath(new URL('stack/', context.workDir))).tls,
  );
  const started = await Promise.all(
    functions.map((fn) =>
      startAlbFront(
        runtime,
        fn,
        tls,
        { service: fn.name, port: 0, flag: '(bench)' },
        `${fn.arn}/tg`,
      ),
    ),
  );
  const [auth, noAuth] = started as [(typeof started)[0], (typeof started)[0]];
  if (stack.endpoints.caCertFile !== tls.certFile) {
    throw new Error('the bench fronts must use the stack certificate');
  }
  return {
    auth: `https://localhost:${auth.port}`,
    noAuth: `https://localhost:${noAuth.port}`,
    caCertFile: tls.certFile,
    stop: async () => {
      for (const front of started) await close(front.server as unknown as Server);
    },
  };
}
