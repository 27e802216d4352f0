import { createReadStream, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PlanConfig, planRecords } from '../../handlers/plan-file/plan.js';
import { readCsvRecords } from '../../handlers/shared/csv.js';
import { defaultSchema } from '../../local/generate-csv.js';

/**
 * Measures the planner over a local file: wall time and peak memory (RSS and V8
 * heap, sampled every 20 ms), the figures quoted in docs/ingestion-files.md.
 *
 *   npm run generate -- 1000000 /tmp/books-1m.csv
 *   npx tsx --expose-gc test/support/plan-memory.ts /tmp/books-1m.csv
 */
export async function measurePlanner(file: string, config: PlanConfig) {
  globalThis.gc?.();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss);
    peakHeap = Math.max(peakHeap, now.heapUsed);
  }, 20);
  const started = performance.now();
  const size = statSync(file).size;
  const plan = await planRecords(
    readCsvRecords(createReadStream(file, { highWaterMark: 64 * 1024 }), {
      delimiter: config.schema.delimiter,
      maxRecordBytes: config.maxRecordBytes,
    }),
    { bucket: 'local', key: file, eTag: '"local"', size },
    config,
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const after = process.memoryUsage();
  peakRss = Math.max(peakRss, after.rss);
  peakHeap = Math.max(peakHeap, after.heapUsed);
  return {
    rows: plan.totalRows,
    chunks: plan.chunks.length,
    duplicateRows: plan.duplicateRows,
    bytes: size,
    seconds,
    baselineRssMiB: before.rss / 2 ** 20,
    peakRssMiB: peakRss / 2 ** 20,
    baselineHeapMiB: before.heapUsed / 2 ** 20,
    peakHeapMiB: peakHeap / 2 ** 20,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: npx tsx --expose-gc test/support/plan-memory.ts <file.csv>');
  const result = await measurePlanner(file, {
    schema: defaultSchema(),
    maxFileBytes: 5 * 1024 ** 3,
    chunkTargetBytes: 4 * 1024 ** 2,
    maxChunks: 1000,
    maxRecordBytes: 400 * 1024,
    maxReportedErrors: 20,
    maxPlanBytes: 160 * 1024,
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
