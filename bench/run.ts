/**
 * `npm run bench [-- --quick] [-- --only parse,memory]`: runs the benchmark suites,
 * prints one table, and writes bench/results/latest.json (exactly the documented keys),
 * bench/results/details.json (everything behind the figures) and the chart.
 * Not part of `npm test`: the figures are ratios of two things measured side by side
 * in this run, so they stay meaningful on a noisy, shared machine.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { ROOT } from './lib/handler-env.js';
import { contextFor, parseOptions } from './lib/options.js';
import {
  type ApiFigures,
  type BundleFigures,
  type IngestSuiteFigures,
  type MemoryFigures,
  type OverlapFigures,
  type ParseFigures,
  type PlannerFigures,
  SUITES,
  type SuiteName,
  type SuiteReport,
  type TableRow,
  toLatestJson,
} from './lib/results.js';
import { stopBenchStack } from './lib/stack.js';
import { renderChart } from './lib/svg.js';
import { formatTable } from './lib/table.js';
import { runApi } from './suites/api.js';
import { runBundles } from './suites/bundles.js';
import { runIngest } from './suites/ingest.js';
import { runMemory } from './suites/memory.js';
import { runOverlap } from './suites/overlap.js';
import { runParse } from './suites/parse.js';
import { runPlanner } from './suites/planner.js';

type Figures = {
  bundles: Record<string, BundleFigures>;
  parse: ParseFigures;
  planner: PlannerFigures;
  memory: MemoryFigures;
  ingest: IngestSuiteFigures;
  overlap: OverlapFigures;
  api: ApiFigures;
};

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const resultsDir = new URL('bench/results/', ROOT);
  const workDir = new URL('work/', resultsDir);
  await mkdir(workDir, { recursive: true });
  const log = (message: string): void => {
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
  };
  const context = contextFor(options, workDir, log);
  const started = performance.now();

  const runners: { [S in SuiteName]: () => Promise<SuiteReport<Figures[S]>> } = {
    bundles: () => runBundles(context),
    parse: () => runParse(context),
    planner: () => runPlanner(context),
    memory: () => runMemory(context),
    ingest: () => runIngest(context),
    overlap: () => runOverlap(context),
    api: () => runApi(context),
  };

  const figures: Partial<Figures> = {};
  const details: Record<string, unknown> = {};
  const rows: TableRow[] = [];
  const failures: string[] = [];
  try {
    for (const suite of options.suites) {
      log(`${suite}: running`);
      try {
        const report = await runners[suite]();
        (figures as Record<string, unknown>)[suite] = report.figures;
        details[suite] = report.details;
        rows.push(...report.rows);
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        failures.push(`${suite}: ${message}`);
        log(`${suite}: FAILED\n${message}`);
      }
    }
  } finally {
    await stopBenchStack();
  }

  const seconds = (performance.now() - started) / 1000;
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}`;
  const command = `npm run bench${options.quick ? ' -- --quick' : ''}`;
  const meta = {
    command,
    date: new Date().toISOString(),
    node: process.version,
    machine,
    quick: options.quick,
    ingestSizes: context.ingestSizes,
    baseRows: context.baseRows,
    seconds: Math.round(seconds),
  };
  process.stdout.write(`\n${formatTable(rows)}\n\n`);

  const complete = options.suites.length === SUITES.length && failures.length === 0;
  await writeFile(
    new URL(complete ? 'details.json' : 'partial-details.json', resultsDir),
    `${JSON.stringify({ meta, figures, details, failures }, null, 2)}\n`,
  );
  if (complete) {
    const { ingest, ...others } = figures as Figures;
    const results = toLatestJson({ ...others, ingest: ingest.sizes, cpu: ingest.cpu });
    await writeFile(new URL('latest.json', resultsDir), `${JSON.stringify(results, null, 2)}\n`);
    const caption = `${command} · ${meta.date.slice(0, 10)} · ${machine} · Node.js ${process.version} · ${context.ingestSizes.map((rows) => rows.toLocaleString('en-US')).join(' and ')}-row ingest`;
    const chart = new URL('bench.svg', resultsDir);
    await writeFile(chart, renderChart(results, caption));
    // Only a full run goes into the README's chart; a quick run stays in bench/results/.
    if (!options.quick) await copyFile(chart, new URL('docs/bench.svg', ROOT));
    log(
      `wrote bench/results/latest.json and bench/results/bench.svg${options.quick ? '' : ' and docs/bench.svg'} (${Math.round(seconds)} s)`,
    );
  } else {
    await writeFile(
      new URL('partial.json', resultsDir),
      `${JSON.stringify({ meta, figures, failures }, null, 2)}\n`,
    );
    log(`wrote bench/results/partial.json (${Math.round(seconds)} s)`);
  }
  if (failures.length > 0) {
    process.stderr.write(`\n${failures.length} suite(s) failed:\n${failures.join('\n')}\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
