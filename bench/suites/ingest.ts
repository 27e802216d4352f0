import { createReadStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { planConfigFor, readPlanConfig } from '../../handlers/plan-file/config.js';
import { planRecords } from '../../handlers/plan-file/plan.js';
import type { FilePlan } from '../../handlers/shared/contracts.js';
import { readCsvBatches } from '../../handlers/shared/csv.js';
import { planFileEnvironment } from '../../infra/config.js';
import type { LocalStack } from '../../local/stack.js';
import { processCpuSeconds } from '../lib/cpu.js';
import { benchFileName, generateFile } from '../lib/data.js';
import { appConfig } from '../lib/handler-env.js';
import { jsonLinesOf } from '../lib/json-data.js';
import type { BenchContext } from '../lib/options.js';
import { type RawPass, type RawTable, rawPass, sweepConcurrency } from '../lib/raw-writes.js';
import {
  type CpuFigures,
  GOAL,
  type IngestFigures,
  type IngestSuiteFigures,
  judge,
  type SuiteReport,
  type TableRow,
} from '../lib/results.js';
import { benchStack, ingestThroughPipeline } from '../lib/stack.js';
import { ratio, round } from '../lib/stats.js';
import { formatNumber } from '../lib/table.js';

/** Rows of the sample the concurrency sweep writes, at most (the whole file when smaller). */
const SWEEP_ROWS = 100_000;

/**
 * Generated files through the whole local pipeline (upload → execution succeeded),
 * each against the raw limit of the same rows: written straight into a fresh emulator
 * (dynalite, started as the stack starts it) by as many writer processes as the
 * pipeline runs loaders at once, each with the sweep's best number of calls in flight.
 * The raw figure is the best of every raw pass over the same rows (the sweep's, when
 * the sweep wrote the whole file, and one more after the pipeline), so the ratio
 * cannot pass 1.0 unless the pipeline really is faster. The CPU of the stack's process
 * and of its emulator's during the pipeline runs gives the CPU per 100,000 rows.
 */
export async function runIngest(context: BenchContext): Promise<SuiteReport<IngestSuiteFigures>> {
  const stack = await benchStack(context);
  const sizes: IngestFigures[] = [];
  const rows: TableRow[] = [];
  const details: Record<string, unknown>[] = [];
  let stackCpuSeconds = 0;
  let emulatorCpuSeconds = 0;
  let rowsIngested = 0;
  const sweeps: Sweeps = new Map();
  for (const size of context.ingestSizes) {
    const reading = await ingestOne(context, stack, size, sweeps, sizes.length === 0);
    sizes.push(reading.figures);
    rows.push(...reading.rows);
    details.push(reading.details);
    stackCpuSeconds += reading.stackCpuSeconds;
    emulatorCpuSeconds += reading.emulatorCpuSeconds;
    rowsIngested += size;
  }
  const per100k = (seconds: number) => round((seconds / rowsIngested) * 100_000, 2);
  const cpu: CpuFigures = {
    stackCpuSecondsPer100kRows: per100k(stackCpuSeconds),
    emulatorCpuSecondsPer100kRows: per100k(emulatorCpuSeconds),
  };
  rows.push({
    suite: 'ingest',
    measure: `CPU of the stack's process per 100,000 rows (${context.ingestSizes.map(formatNumber).join(' + ')} rows)`,
    value: `${cpu.stackCpuSecondsPer100kRows} s`,
    versus: `dynalite's process ${cpu.emulatorCpuSecondsPer100kRows} s`,
    result: '',
    ...judge(GOAL.stackCpu, cpu.stackCpuSecondsPer100kRows),
  });
  return { figures: { sizes, cpu }, rows, details: { sizes: details } };
}

/** Sweeps already run in this suite, by sample rows and writers (a larger file reuses the smaller one's). */
type Sweeps = Map<string, Awaited<ReturnType<typeof sweepConcurrency>>>;

/** One file size: the raw passes, the pipeline, and the raw pass after it. */
async function ingestOne(
  context: BenchContext,
  stack: LocalStack,
  rows: number,
  sweeps: Sweeps,
  first: boolean,
) {
  const config = appConfig();
  const schema = config.dataset;
  const name = benchFileName(schema.name, rows);
  const file = new URL(name, context.workDir);
  context.log(`ingest: generating ${formatNumber(rows)} rows`);
  const bytes = await generateFile(file, rows);
  const table: RawTable = {
    name: `${schema.name}-raw-bench`,
    key: schema.key,
    keyType: schema.keyType,
  };
  // The pipeline's own plan of the file: the raw writers take the loaders' chunks.
  const plan = await planOf(file, config);
  const writers = Math.min(plan.chunks.length, config.mapMaxConcurrency);
  const sampleRows = Math.min(rows, SWEEP_ROWS);
  const sweepKey = `${sampleRows}×${writers}`;
  let sweep = sweeps.get(sweepKey);
  if (sweep === undefined) {
    const sampled = rows <= SWEEP_ROWS ? file : await sampleFile(context, file);
    const sample = rows <= SWEEP_ROWS ? plan : await planOf(sampled, config);
    const candidates = context.quick ? [2, 4] : [2, 4, 8];
    sweep = await sweepConcurrency(table, sampled, sample, writers, candidates);
    sweeps.set(sweepKey, sweep);
  }
  context.log(
    `ingest ${formatNumber(rows)}: raw sweep (${writers} writers, ${formatNumber(sweep.best.rows)} rows) ${sweep.points.map((point) => `${point.concurrency}→${formatNumber(point.rowsPerSec)}`).join(', ')} rows/s`,
  );

  context.log(`ingest ${formatNumber(rows)}: uploading and waiting for the execution`);
  const emulatorPid = stack.emulators.dynamodb.pid;
  if (emulatorPid === undefined) throw new Error('the stack runs dynalite in its own process');
  const emulatorBefore = await processCpuSeconds(emulatorPid);
  const cpuBefore = process.cpuUsage();
  const ingestion = await ingestThroughPipeline(
    stack,
    file,
    `bench/${name}`,
    context.quick ? 120_000 : 1_200_000,
  );
  const cpuUsed = process.cpuUsage(cpuBefore);
  const emulatorCpuSeconds = (await processCpuSeconds(emulatorPid)) - emulatorBefore;
  const stackCpuSeconds = (cpuUsed.user + cpuUsed.system) / 1e6;
  if (ingestion.output.written !== rows) {
    throw new Error(`the pipeline wrote ${ingestion.output.written} of ${rows} rows`);
  }
  const pipelineRowsPerSec = (rows / ingestion.elapsedMs) * 1000;
  context.log(
    `ingest ${formatNumber(rows)}: pipeline ${formatNumber(pipelineRowsPerSec)} rows/s (${(ingestion.elapsedMs / 1000).toFixed(1)} s: ${ingestion.phases.uploadToStart} s to start, ${ingestion.phases.planFile} s planning, ${ingestion.phases.loadChunks} s loading ${ingestion.output.chunks} chunks)`,
  );
  // The same rows as JSON Lines through the same stack, for the first file size only (they
  // update the items the CSV run wrote), against the same raw limit; not in the CPU figures.
  const json = first ? await ingestJsonLines(context, stack, file, rows) : undefined;
  // Once more after the pipeline, the whole file at the best concurrency.
  const after = await rawPass(table, file, plan, writers, sweep.best.concurrency);
  const passes: RawPass[] = [...sweep.points.filter((point) => point.rows === rows), after];
  const best = passes.reduce((a, b) => (b.rowsPerSec > a.rowsPerSec ? b : a));
  context.log(
    `ingest ${formatNumber(rows)}: raw after ${formatNumber(after.rowsPerSec)} rows/s; best raw pass ${formatNumber(best.rowsPerSec)} rows/s`,
  );

  const figures: IngestFigures = {
    rows,
    pipelineRowsPerSec: Math.round(pipelineRowsPerSec),
    rawRowsPerSec: Math.round(best.rowsPerSec),
    ratio: round(ratio(pipelineRowsPerSec, best.rowsPerSec), 2),
  };
  if (json !== undefined) {
    json.row = {
      ...json.row,
      versus: `raw BatchWriteItem ${formatNumber(figures.rawRowsPerSec)} rows/s`,
      result: `${round(ratio(json.rowsPerSec, best.rowsPerSec), 2)}×`,
    };
  }
  const row: TableRow = {
    suite: 'ingest',
    measure: `upload → succeeded, ${formatNumber(rows)} rows (${(bytes / 1e6).toFixed(0)} MB)`,
    value: `${formatNumber(figures.pipelineRowsPerSec)} rows/s`,
    versus: `raw BatchWriteItem ${formatNumber(figures.rawRowsPerSec)} rows/s (${best.writers} writers × ${best.concurrency})`,
    result: `${figures.ratio}×`,
    ...judge(GOAL.ingestRatio, figures.ratio),
  };
  const pass = (point: RawPass) => ({
    ...point,
    rowsPerSec: Math.round(point.rowsPerSec),
    writerCpuSeconds: round(point.writerCpuSeconds, 2),
    emulatorCpuSeconds: round(point.emulatorCpuSeconds, 2),
  });
  return {
    figures,
    rows: [row, ...(json === undefined ? [] : [json.row])],
    stackCpuSeconds,
    emulatorCpuSeconds,
    details: {
      rows,
      bytes,
      executionArn: ingestion.executionArn,
      pipelineSeconds: round(ingestion.elapsedMs / 1000, 2),
      pipelinePhasesSeconds: ingestion.phases,
      chunks: ingestion.output.chunks,
      plannedChunkRows: plan.chunks.map((chunk) => chunk.rows),
      chunkBytes: plan.chunkBytes,
      mapMaxConcurrency: stack.config.mapMaxConcurrency,
      writeConcurrency: stack.config.writeConcurrency,
      // CPU during the pipeline run: this process runs the handlers and the S3/SQS and
      // Step Functions emulators; dynalite runs in its own process.
      stackCpuSeconds: round(stackCpuSeconds, 2),
      emulatorCpuSeconds: round(emulatorCpuSeconds, 2),
      rawWriters: writers,
      sweep: sweep.points.map(pass),
      rawAfter: pass(after),
      rawBest: pass(best),
      ...(json === undefined
        ? {}
        : { json: { ...json.details, ratio: round(ratio(json.rowsPerSec, best.rowsPerSec), 2) } }),
    },
  };
}

/** The file's rows as JSON Lines, through the pipeline: its table row (judged by no goal) and details. */
async function ingestJsonLines(context: BenchContext, stack: LocalStack, file: URL, rows: number) {
  const schema = appConfig().dataset;
  const name = benchFileName(schema.name, rows).replace(/\.csv$/, '.jsonl');
  const jsonFile = new URL(name, context.workDir);
  await writeFile(jsonFile, await jsonLinesOf(await readFile(file), schema));
  const jsonBytes = (await stat(jsonFile)).size;
  context.log(`ingest ${formatNumber(rows)}: uploading the JSON Lines file and waiting`);
  const ingestion = await ingestThroughPipeline(
    stack,
    jsonFile,
    `bench/${name}`,
    context.quick ? 120_000 : 1_200_000,
  );
  if (ingestion.output.written !== rows) {
    throw new Error(`the pipeline wrote ${ingestion.output.written} of ${rows} JSON Lines rows`);
  }
  const rowsPerSec = (rows / ingestion.elapsedMs) * 1000;
  context.log(
    `ingest ${formatNumber(rows)}: JSON Lines pipeline ${formatNumber(rowsPerSec)} rows/s (${(ingestion.elapsedMs / 1000).toFixed(1)} s: ${ingestion.phases.planFile} s planning, ${ingestion.phases.loadChunks} s loading ${ingestion.output.chunks} chunks)`,
  );
  const row: TableRow = {
    suite: 'ingest',
    measure: `upload → succeeded, the same rows as JSON Lines (${(jsonBytes / 1e6).toFixed(0)} MB)`,
    value: `${formatNumber(Math.round(rowsPerSec))} rows/s`,
    versus: '',
    result: '',
    goal: '',
  };
  return {
    row,
    rowsPerSec,
    details: {
      bytes: jsonBytes,
      executionArn: ingestion.executionArn,
      pipelineSeconds: round(ingestion.elapsedMs / 1000, 2),
      pipelinePhasesSeconds: ingestion.phases,
      chunks: ingestion.output.chunks,
      pipelineRowsPerSec: Math.round(rowsPerSec),
    },
  };
}

/** The plan the deployed planner makes of a file (the chunks the loaders get). */
async function planOf(file: URL, config: ReturnType<typeof appConfig>): Promise<FilePlan> {
  const planConfig = planConfigFor(readPlanConfig(planFileEnvironment(config)), config.dataset);
  const { size } = await stat(file);
  return planRecords(
    readCsvBatches(createReadStream(fileURLToPath(file)), {
      delimiter: planConfig.schema.delimiter,
      maxRecordBytes: planConfig.maxRecordBytes,
    }),
    { bucket: 'bench', key: 'bench.csv', eTag: '"bench"', size },
    planConfig,
  );
}

/** The first SWEEP_ROWS rows of the generated file (the same generator, fewer rows). */
async function sampleFile(context: BenchContext, file: URL): Promise<URL> {
  const sample = new URL(benchFileName(appConfig().dataset.name, SWEEP_ROWS), context.workDir);
  await generateFile(sample, SWEEP_ROWS);
  if (sample.href === file.href) throw new Error('the sweep sample is the file itself');
  return sample;
}
