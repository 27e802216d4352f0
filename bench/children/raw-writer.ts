/**
 * Bench child: one raw writer. Converts its chunks of a generated file to the items the
 * loader stores (not timed), says `ready`, and on `go` writes them into the given
 * emulator with BatchWriteItem, `concurrency` calls in flight, exactly as the loader
 * sends them (wire-form bodies, the loader's HTTP item writer); then reports its time and
 * CPU. The parent starts as many of these as the pipeline runs loaders.
 */
import { createReadStream } from 'node:fs';
import { readCsvBatches } from '../../handlers/shared/csv.js';
import { stampItem, uploadAttributes } from '../../handlers/shared/provenance.js';
import { rowToItem, validateHeader, type WireItem } from '../../handlers/shared/rows.js';
import { reportToParent } from '../lib/child.js';
import { ownCpuSecondsSince } from '../lib/cpu.js';
import { appConfig } from '../lib/handler-env.js';
import { RAW_UPLOAD, type RawWriterJob, writeAll } from '../lib/raw-writes.js';

/** What the parent receives. */
export interface RawWriterResult {
  readonly items: number;
  /** From `go` to the last answer, in milliseconds. */
  readonly ms: number;
  /** This process's CPU seconds while writing. */
  readonly cpuSeconds: number;
}

await reportToParent(async (): Promise<RawWriterResult> => {
  const job = JSON.parse(process.argv[2] ?? '') as RawWriterJob;
  const items = await convert(job);
  const go = new Promise<void>((resolve) => {
    process.once('message', () => resolve());
  });
  process.send?.({ ready: true });
  await go;
  const cpuBefore = process.cpuUsage();
  const ms = await writeAll(job.endpoint, job.table, items, job.concurrency);
  return { items: items.length, ms, cpuSeconds: ownCpuSecondsSince(cpuBefore) };
});

/** The job's rows as the loader converts and stamps them. */
async function convert(job: RawWriterJob): Promise<WireItem[]> {
  const { dataset: schema, maxRecordBytes } = appConfig();
  const header = validateHeader(job.header, schema);
  if (!header.ok) throw new Error(`generated header rejected: ${JSON.stringify(header.problems)}`);
  const stamp = uploadAttributes(RAW_UPLOAD);
  const items: WireItem[] = [];
  for (const chunk of job.chunks) {
    const batches = readCsvBatches(
      createReadStream(job.file, { start: chunk.start, end: chunk.end - 1 }),
      {
        delimiter: schema.delimiter,
        maxRecordBytes,
        offset: chunk.start,
        firstLine: chunk.firstLine,
      },
    );
    const skip = new Set(chunk.skip);
    let index = 0;
    for await (const records of batches) {
      for (const record of records) {
        // The rows the plan supersedes are not written by the pipeline either.
        if (skip.has(index++)) continue;
        const row = rowToItem(header.layout, record.fields, record.line);
        if (!row.ok) throw new Error(`generated row rejected: ${JSON.stringify(row.problems)}`);
        // rowToItem builds CSV items in DynamoDB's wire form.
        items.push(stampItem(row.row.item as WireItem, stamp, record.line));
      }
    }
  }
  return items;
}
