import { mkdir, readdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { HANDLER_ESBUILD_OPTIONS } from '../../infra/bundling.js';
import { HANDLERS, type HandlerName } from '../../infra/config.js';
import { runChild } from '../lib/child.js';
import { appConfig, isHandlerName, offlineHandlerEnv, ROOT } from '../lib/handler-env.js';
import type { BenchContext } from '../lib/options.js';
import {
  type BundleFigures,
  GOAL,
  judge,
  type SuiteReport,
  type TableRow,
} from '../lib/results.js';
import { median, round } from '../lib/stats.js';
import { formatNumber } from '../lib/table.js';

/**
 * esbuild options exactly as the CDK app bundles a handler (infra/bundling.ts, which
 * NodejsFunction maps onto its own options), without esbuild's console output.
 */
export const DEPLOYED_BUILD = {
  ...HANDLER_ESBUILD_OPTIONS,
  logLevel: 'silent',
} satisfies BuildOptions;

/** Node.js flags the deployed functions run with (their NODE_OPTIONS). */
export const DEPLOYED_NODE_ARGS = ['--enable-source-maps'] as const;

/** Bundles every `handlers/<name>/index.ts` and times its import in fresh processes. */
export async function runBundles(
  context: BenchContext,
): Promise<SuiteReport<Record<string, BundleFigures>>> {
  const handlers = await handlerEntries();
  if (handlers.length === 0) throw new Error('no handlers/<name>/index.ts entry found');
  const config = appConfig();
  const figures: Record<string, BundleFigures> = {};
  const rows: TableRow[] = [];
  const details: Record<string, unknown> = {};

  for (const name of handlers) {
    // Inside the repository, so a module configured as external would still resolve.
    const outfile = new URL(`bundles/${name}/index.mjs`, context.workDir);
    await mkdir(new URL('.', outfile), { recursive: true });
    const result = await build({
      ...DEPLOYED_BUILD,
      entryPoints: [fileURLToPath(new URL(`handlers/${name}/index.ts`, ROOT))],
      outfile: fileURLToPath(outfile),
      metafile: true,
    });
    const bytes = (await stat(outfile)).size;
    const mapBytes = (await stat(new URL('index.mjs.map', outfile))).size;
    const imports: number[] = [];
    for (let run = 0; run < context.importRuns; run += 1) {
      const { importMs } = await runChild<{ importMs: number }>(
        new URL('../children/import-bundle.mjs', import.meta.url),
        [fileURLToPath(outfile)],
        {
          plain: true,
          nodeArgs: DEPLOYED_NODE_ARGS,
          env: offlineHandlerEnv(name, config),
          timeoutMs: 30_000,
        },
      );
      imports.push(importMs);
    }
    const importMs = round(median(imports), 1);
    figures[name] = { bytes, importMs };
    details[name] = {
      bytes,
      mapBytes,
      importMs,
      importRunsMs: imports.map((ms) => round(ms, 1)),
      largestInputs: largestInputs(result.metafile?.outputs ?? {}),
    };
    context.log(`bundles: ${name} ${formatNumber(bytes / 1000, 1)} KB, import ${importMs} ms`);
    rows.push(
      {
        suite: 'bundles',
        measure: `${name} size (minified ESM)`,
        value: `${formatNumber(bytes / 1000, 1)} KB`,
        versus: '',
        result: '',
        // Only the API's size has a goal (its cold start is on a client's request path).
        ...(name === 'api' ? judge(GOAL.apiBundleSize, bytes / 1000) : { goal: '' }),
      },
      {
        suite: 'bundles',
        measure: `${name} import (median of ${context.importRuns})`,
        value: `${importMs} ms`,
        versus: '',
        result: '',
        ...judge(GOAL.handlerImport, importMs),
      },
    );
  }
  return { figures, rows, details };
}

/** The deployed handlers (infra/config.ts HANDLERS) whose handlers/<name>/index.ts exists. */
async function handlerEntries(): Promise<HandlerName[]> {
  const entries = await readdir(new URL('handlers/', ROOT), { withFileTypes: true });
  const names: HandlerName[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || !isHandlerName(entry.name, HANDLERS)) continue;
    const exists = await stat(new URL(`handlers/${entry.name}/index.ts`, ROOT)).then(
      () => true,
      () => false,
    );
    if (exists) names.push(entry.name);
  }
  return names.sort();
}

/** The five inputs that contribute most bytes to a bundle: where to look when it grows. */
function largestInputs(
  outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>,
): { input: string; bytes: number }[] {
  const totals = new Map<string, number>();
  for (const output of Object.values(outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      // Group by package (node_modules/<scope>/<name>) so the list names dependencies.
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const key = match?.[1] ?? input;
      totals.set(key, (totals.get(key) ?? 0) + bytesInOutput);
    }
  }
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([input, bytes]) => ({ input, bytes }));
}
