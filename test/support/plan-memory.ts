import { createReadStream, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PLAN_DEFAULTS } from '../../handlers/plan-file/config.js';
import { KeyIndex } from '../../handlers/plan-file/key-index.js';
import { type PlanConfig, planRecords } from '../../handlers/plan-file/plan.js';
import { readCsvRecords } from '../../handlers/shared/csv.js';
import { datasetSchema } from '../../local/generate-csv.js';

/**
 * Measures the planner over a local file: wall time and peak memory (RSS and V8
 * heap, sampled every 20 ms), the figures quoted in docs/ingestion-files.md.
 *
 *   npm run generate -- 1000000 /tmp/books-1m.csv
 *   npx tsx --expose-gc test/support/plan-memory.ts /tmp/books-1m.csv
 *
 * and the retained size of the duplicate-key index alone, per million keys:
 *
 *   npx tsx --expose-gc test/support/plan-memory.ts --key-index 1000000
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

/** Memory (V8 heap and array buffers) retained by a KeyIndex of `count` ISBN-like number keys and of `count` string keys. */
export function measureKeyIndex(count: number): { numberKeysMiB: number; stringKeysMiB: number } {
  const retained = (key: (row: number) => number | string) => {
    const gc = globalThis.gc;
    if (!gc) throw new Error('run with --expose-gc');
    gc();
    // Typed arrays live outside the V8 heap: count both.
    const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const before = used();
    const index = new KeyIndex();
    for (let row = 0; row < count; row++) index.set(key(row), row);
    gc();
    const after = used();
    if (index.size !== count) throw new Error('keys lost');
    return (after - before) / 2 ** 20;
  };
  return {
    numberKeysMiB: retained((row) => 9780000000000 + row),
    stringKeysMiB: retained((row) => `key-${String(row).padStart(9, '0')}`),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === '--key-index') {
    const count = Number(process.argv[3] ?? 1_000_000);
    process.stdout.write(
      `${JSON.stringify({ keys: count, ...measureKeyIndex(count) }, null, 2)}\n`,
    );
    process.exit(0);
  }
  const file = process.argv[2];
  if (!file) throw new Error('usage: npx tsx --expose-gc test/support/plan-memory.ts <file.csv>');
  const result = await measurePlanner(file, { schema: datasetSchema(), ...PLAN_DEFAULTS });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
