import { createReadStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { readCsvRecords } from '../../handlers/shared/csv.js';
import type { DatasetSchema } from '../../handlers/shared/dataset.js';
import { stampItem } from '../../handlers/shared/provenance.js';
import {
  type HeaderLayout,
  type Item,
  rowToItem,
  validateHeader,
} from '../../handlers/shared/rows.js';
import { SEQUENCER_WIDTH, type UploadStamp } from '../../handlers/shared/upload-order.js';
import { benchFileName, generateFile } from '../lib/data.js';
import { appConfig } from '../lib/handler-env.js';
import { jsonLinesOf } from '../lib/json-data.js';
import type { BenchContext } from '../lib/options.js';
import { sweepConcurrency, withFreshEmulator, writeAll } from '../lib/raw-writes.js';
import { GOAL, type IngestFigures, judge, type SuiteReport } from '../lib/results.js';
import { benchStack, ingestThroughPipeline } from '../lib/stack.js';
import { ratio, round } from '../lib/stats.js';
import { formatNumber } from '../lib/table.js';

/**
 * A generated file through the whole local pipeline (upload → execution succeeded)
 * against the raw limit: the same rows, already converted, written straight into the
 * same emulator (dynalite, started as the stack starts it) with BatchWriteItem at the
 * best concurrency a sweep finds, once before and once after the pipeline.
 */
export async function runIngest(context: BenchContext): Promise<SuiteReport<IngestFigures>> {
  const config = appConfig();
  const schema = config.dataset;
  const rows = context.ingestRows;
  const file = new URL(benchFileName(schema.name, rows), context.workDir);
  context.log(`ingest: generating ${formatNumber(rows)} rows`);
  const bytes = await generateFile(file, rows);

  // The raw side first, each measurement in its own fresh emulator; then the pipeline
  // in the stack's, which is just as fresh and empty when the upload starts.
  const raw = await measureRaw(context, file, schema);
  context.log(
    `ingest: raw sweep ${raw.sweep.points.map((point) => `${point.concurrency}→${formatNumber(point.rowsPerSec)}`).join(', ')} rows/s; all rows ${formatNumber(raw.rowsPerSec)} rows/s at ${raw.sweep.best.concurrency}`,
  );

  const stack = await benchStack(context);
  context.log('ingest: uploading and waiting for the execution');
  const cpuBefore = process.cpuUsage();
  const ingestion = await ingestThroughPipeline(
    stack,
    file,
    `bench/${benchFileName(schema.name, rows)}`,
    context.quick ? 60_000 : 1_200_000,
  );
  if (ingestion.output.written !== rows) {
    throw new Error(`the pipeline wrote ${ingestion.output.written} of ${rows} rows`);
  }
  const pipelineCpu = process.cpuUsage(cpuBefore);
  const pipelineRowsPerSec = (rows / ingestion.elapsedMs) * 1000;
  context.log(
    `ingest: pipeline ${formatNumber(pipelineRowsPerSec)} rows/s (${(ingestion.elapsedMs / 1000).toFixed(1)} s: ${ingestion.phases.uploadToStart} s to start, ${ingestion.phases.planFile} s planning, ${ingestion.phases.loadChunks} s loading ${ingestion.output.chunks} chunks)`,
  );
  // The raw side again, right after the pipeline: the limit is the mean of the two, so a
  // change in the shared machine's load during the run weighs on both sides alike.
  const rawAfter = await writeOnce(file, schema, raw.sweep.best.concurrency);
  const rawRowsPerSec = (raw.rowsPerSec + rawAfter.rowsPerSec) / 2;
  context.log(`ingest: raw again ${formatNumber(rawAfter.rowsPerSec)} rows/s`);
  const sweep = raw.sweep;

  // The same rows as JSON Lines through the same stack (they update the items the CSV
  // run wrote), against the same raw limit.
  const jsonFile = new URL(
    benchFileName(schema.name, rows).replace(/\.csv$/, '.jsonl'),
    context.workDir,
  );
  await writeFile(jsonFile, await jsonLinesOf(await readFile(file), schema));
  const jsonBytes = (await stat(jsonFile)).size;
  context.log('ingest: uploading the JSON Lines file and waiting for the execution');
  const jsonIngestion = await ingestThroughPipeline(
    stack,
    jsonFile,
    `bench/${benchFileName(schema.name, rows).replace(/\.csv$/, '.jsonl')}`,
    context.quick ? 60_000 : 1_200_000,
  );
  if (jsonIngestion.output.written !== rows) {
    throw new Error(
      `the pipeline wrote ${jsonIngestion.output.written} of ${rows} JSON Lines rows`,
    );
  }
  const jsonRowsPerSec = (rows / jsonIngestion.elapsedMs) * 1000;
  context.log(
    `ingest: JSON Lines pipeline ${formatNumber(jsonRowsPerSec)} rows/s (${(jsonIngestion.elapsedMs / 1000).toFixed(1)} s: ${jsonIngestion.phases.planFile} s planning, ${jsonIngestion.phases.loadChunks} s loading ${jsonIngestion.output.chunks} chunks)`,
  );

  const figures: IngestFigures = {
    rows,
    pipelineRowsPerSec: Math.round(pipelineRowsPerSec),
    rawRowsPerSec: Math.round(rawRowsPerSec),
    ratio: round(ratio(pipelineRowsPerSec, rawRowsPerSec), 2),
  };
  return {
    figures,
    rows: [
      {
        suite: 'ingest',
        measure: `upload → succeeded, ${formatNumber(rows)} rows (${(bytes / 1e6).toFixed(0)} MB)`,
        value: `${formatNumber(figures.pipelineRowsPerSec)} rows/s`,
        versus: `raw BatchWriteItem ${formatNumber(figures.rawRowsPerSec)} rows/s (×${sweep.best.concurrency})`,
        result: `${figures.ratio}×`,
        ...judge(GOAL.ingestRatio, figures.ratio),
      },
      {
        suite: 'ingest',
        measure: `upload → succeeded, the same rows as JSON Lines (${(jsonBytes / 1e6).toFixed(0)} MB)`,
        value: `${formatNumber(Math.round(jsonRowsPerSec))} rows/s`,
        versus: `raw BatchWriteItem ${formatNumber(figures.rawRowsPerSec)} rows/s (×${sweep.best.concurrency})`,
        result: `${round(ratio(jsonRowsPerSec, rawRowsPerSec), 2)}×`,
        goal: '',
      },
    ],
    details: {
      bytes,
      executionArn: ingestion.executionArn,
      pipelineSeconds: round(ingestion.elapsedMs / 1000, 2),
      pipelinePhasesSeconds: ingestion.phases,
      json: {
        bytes: jsonBytes,
        executionArn: jsonIngestion.executionArn,
        pipelineSeconds: round(jsonIngestion.elapsedMs / 1000, 2),
        pipelinePhasesSeconds: jsonIngestion.phases,
        chunks: jsonIngestion.output.chunks,
        pipelineRowsPerSec: Math.round(jsonRowsPerSec),
        ratio: round(ratio(jsonRowsPerSec, rawRowsPerSec), 2),
      },
      chunks: ingestion.output.chunks,
      mapMaxConcurrency: stack.config.mapMaxConcurrency,
      writeConcurrency: stack.config.writeConcurrency,
      itemSize: raw.itemSize,
      rawSecondsBefore: round(raw.ms / 1000, 2),
      // CPU of this process (handlers, S3/SQS/Step Functions emulators; dynalite runs in
      // its own process) per row: where a single-process local stack spends its core.
      pipelineProcessCpuMicrosPerRow: round((pipelineCpu.user + pipelineCpu.system) / rows, 1),
      rawProcessCpuMicrosPerRow: round(raw.cpuMicros / rows, 1),
      rawBeforeRowsPerSec: Math.round(raw.rowsPerSec),
      rawAfterRowsPerSec: Math.round(rawAfter.rowsPerSec),
      rawConcurrency: sweep.best.concurrency,
      sweep: sweep.points.map((point) => ({ ...point, rowsPerSec: Math.round(point.rowsPerSec) })),
    },
  };
}

/**
 * The raw limit: the file's rows, converted beforehand (not timed), written at the
 * concurrency a sweep on a sample found fastest. The items never leave this function,
 * so the pipeline does not run with them on the heap.
 */
async function measureRaw(context: BenchContext, file: URL, schema: DatasetSchema) {
  const { items, itemBytes } = await convert(file, schema);
  const table = { name: `${schema.name}-raw-bench`, key: schema.key, keyType: schema.keyType };
  // Item sizes as DynamoDB counts them: what one write costs in write units (1 per KB).
  const itemSize = {
    averageBytes: Math.round(itemBytes.reduce((sum, size) => sum + size, 0) / itemBytes.length),
    maxBytes: itemBytes.reduce((max, size) => Math.max(max, size), 0),
  };
  const sample = items.slice(0, Math.min(items.length, context.quick ? 5_000 : 20_000));
  const candidates = context.quick ? [2, 8] : [1, 2, 4, 8, 16, 32];
  const sweep = await sweepConcurrency(table, sample, candidates);
  const cpuBefore = process.cpuUsage();
  const ms = await withFreshEmulator(table, (client) =>
    writeAll(client, table.name, items, sweep.best.concurrency),
  );
  const cpu = process.cpuUsage(cpuBefore);
  const rowsPerSec = (items.length / ms) * 1000;
  return { sweep, ms, rowsPerSec, cpuMicros: cpu.user + cpu.system, itemSize };
}

/** Converts the file's rows (not timed) and writes them all once into a fresh emulator. */
async function writeOnce(file: URL, schema: DatasetSchema, concurrency: number) {
  const { items } = await convert(file, schema);
  const table = { name: `${schema.name}-raw-bench`, key: schema.key, keyType: schema.keyType };
  const ms = await withFreshEmulator(table, (client) =>
    writeAll(client, table.name, items, concurrency),
  );
  return { ms, rowsPerSec: (items.length / ms) * 1000 };
}

/** The provenance the raw side stamps: the same sizes as the pipeline's upload of the file. */
const RAW_UPLOAD: UploadStamp = {
  uploadedAt: '2026-12-02T00:00:00.000Z',
  key: 'bench/books-200000-seed7.csv',
  sequencer: '0018ED4C198969C680'.padEnd(SEQUENCER_WIDTH, '0'),
  version: '36070c73f94d95aaec192e851a1dcea8',
};

/** The file's rows as the loader converts and stamps them (not timed: the raw side starts from items). */
async function convert(
  file: URL,
  schema: DatasetSchema,
): Promise<{ items: Item[]; itemBytes: number[] }> {
  const items: Item[] = [];
  const itemBytes: number[] = [];
  let layout: HeaderLayout | undefined;
  const records = readCsvRecords(createReadStream(fileURLToPath(file)), {
    delimiter: schema.delimiter,
    maxRecordBytes: 400 * 1024,
  });
  for await (const record of records) {
    if (!layout) {
      const header = validateHeader(record.fields, schema);
      if (!header.ok)
        throw new Error(`generated header rejected: ${JSON.stringify(header.problems)}`);
      layout = header.layout;
      continue;
    }
    const row = rowToItem(layout, record.fields, record.line);
    if (!row.ok) throw new Error(`generated row rejected: ${JSON.stringify(row.problems)}`);
    // The items exactly as the pipeline stores them: provenance attributes included.
    items.push(stampItem(row.row.item, RAW_UPLOAD, record.line));
    itemBytes.push(row.row.size);
  }
  return { items, itemBytes };
}
