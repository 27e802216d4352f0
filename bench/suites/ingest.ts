import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDocumentClient } from '../../handlers/load-chunk/client.js';
import { readCsvRecords } from '../../handlers/shared/csv.js';
import type { DatasetSchema } from '../../handlers/shared/dataset.js';
import {
  type HeaderLayout,
  type Item,
  rowToItem,
  validateHeader,
} from '../../handlers/shared/rows.js';
import { benchFileName, generateFile } from '../lib/data.js';
import type { BenchContext } from '../lib/options.js';
import {
  createBenchTable,
  deleteBenchTable,
  sweepConcurrency,
  writeAll,
} from '../lib/raw-writes.js';
import type { IngestFigures, SuiteReport } from '../lib/results.js';
import { benchStack, ingestThroughPipeline } from '../lib/stack.js';
import { ratio, round } from '../lib/stats.js';
import { formatNumber } from '../lib/table.js';

const GOAL = 0.8;

/**
 * A generated file through the whole local pipeline (upload → execution succeeded)
 * against the raw limit: the same rows, already converted, written straight into the
 * same dynalite with BatchWriteItem at the best concurrency a sweep finds.
 */
export async function runIngest(context: BenchContext): Promise<SuiteReport<IngestFigures>> {
  const stack = await benchStack(context);
  const schema = stack.config.dataset;
  const rows = context.ingestRows;
  const file = new URL(benchFileName(schema.name, rows), context.workDir);
  context.log(`ingest: generating ${formatNumber(rows)} rows`);
  const bytes = await generateFile(file, rows);

  // The raw side runs first and its table is dropped afterwards, so the pipeline then
  // writes into an emulator as empty as the raw side found it.
  const items = await convert(file, schema);
  const documents = createDocumentClient(stack.clients.dynamodb);
  const rawTable = `${stack.endpoints.table}-raw-bench`;
  const fresh = () =>
    createBenchTable(stack.clients.dynamodb, rawTable, schema.key, schema.keyType);
  const sample = items.slice(0, Math.min(items.length, context.quick ? 5_000 : 20_000));
  const candidates = context.quick ? [4, 16] : [1, 2, 4, 8, 16, 32, 64];
  const sweep = await sweepConcurrency(documents, fresh, rawTable, sample, candidates);
  context.log(
    `ingest: raw sweep ${sweep.points.map((point) => `${point.concurrency}→${formatNumber(point.rowsPerSec)}`).join(', ')} rows/s`,
  );
  await fresh();
  const rawMs = await writeAll(documents, rawTable, items, sweep.best.concurrency);
  // The limit is the fastest raw rate seen in this run: the full write at the best
  // concurrency, or the sweep's best point if the shared machine slowed the full write.
  const rawRowsPerSec = Math.max((items.length / rawMs) * 1000, sweep.best.rowsPerSec);
  await deleteBenchTable(stack.clients.dynamodb, rawTable);
  context.log(
    `ingest: raw ${formatNumber(rawRowsPerSec)} rows/s at concurrency ${sweep.best.concurrency}`,
  );

  context.log('ingest: uploading and waiting for the execution');
  const ingestion = await ingestThroughPipeline(
    stack,
    file,
    `bench/${benchFileName(schema.name, rows)}`,
    context.quick ? 60_000 : 1_200_000,
  );
  if (ingestion.output.written !== rows) {
    throw new Error(`the pipeline wrote ${ingestion.output.written} of ${rows} rows`);
  }
  const pipelineRowsPerSec = (rows / ingestion.elapsedMs) * 1000;
  context.log(
    `ingest: pipeline ${formatNumber(pipelineRowsPerSec)} rows/s (${(ingestion.elapsedMs / 1000).toFixed(1)} s, ${ingestion.output.chunks} chunks)`,
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
        goal: `≥ ${GOAL}`,
        met: figures.ratio >= GOAL,
      },
    ],
    details: {
      bytes,
      executionArn: ingestion.executionArn,
      pipelineSeconds: round(ingestion.elapsedMs / 1000, 2),
      chunks: ingestion.output.chunks,
      mapMaxConcurrency: stack.config.mapMaxConcurrency,
      writeConcurrency: stack.config.writeConcurrency,
      rawSeconds: round(rawMs / 1000, 2),
      rawFullRowsPerSec: Math.round((items.length / rawMs) * 1000),
      rawConcurrency: sweep.best.concurrency,
      sweep: sweep.points.map((point) => ({ ...point, rowsPerSec: Math.round(point.rowsPerSec) })),
    },
  };
}

/** The file's rows as the loader converts them (not timed: the raw side starts from items). */
async function convert(file: URL, schema: DatasetSchema): Promise<Item[]> {
  const items: Item[] = [];
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
    items.push(row.row.item);
  }
  return items;
}
