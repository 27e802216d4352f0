/**
 * Bench child: the planner (planFile over an S3 double streaming the file from disk in
 * 64 KiB reads) or csv-parse alone with the same options on the same reads, in a fresh
 * process: one warm-up pass, then `rounds` timed passes, and the process's peak RSS.
 * One contender per process, so each peak is its own.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { parse } from 'csv-parse';
import { planFile } from '../../handlers/plan-file/plan.js';
import { csvParseOptions } from '../../handlers/shared/csv.js';
import { reportToParent } from '../lib/child.js';
import { STREAM_CHUNK_BYTES } from '../lib/data.js';
import { DOUBLE_ETAG, objectS3 } from '../lib/doubles.js';
import { deployedPlanConfig } from '../lib/handler-configs.js';
import { appConfig } from '../lib/handler-env.js';

/** What the parent receives. */
export interface PlannerChildResult {
  readonly bytes: number;
  readonly rows: number;
  readonly mbPerSec: number[];
  readonly peakRssMb: number;
}

/** The contenders. */
export type PlannerContender = 'planner' | 'csv-parse';

await reportToParent(async (): Promise<PlannerChildResult> => {
  const [path = '', contender = '', roundsText = ''] = process.argv.slice(2);
  const rounds = Number(roundsText);
  if (!path || !(contender === 'planner' || contender === 'csv-parse') || !(rounds > 0)) {
    throw new Error('usage: planner.ts <file> planner|csv-parse <rounds>');
  }
  const config = appConfig();
  const { size } = await stat(path);
  const run =
    contender === 'planner'
      ? await plannerPass(path, size, config)
      : csvParsePass(path, config.dataset.delimiter, config.maxRecordBytes);
  const mbPerSec: number[] = [];
  let rows = 0;
  for (let round = 0; round <= rounds; round++) {
    const start = performance.now();
    rows = await run();
    const seconds = (performance.now() - start) / 1000;
    if (round > 0) mbPerSec.push(size / 1e6 / seconds);
  }
  return { bytes: size, rows, mbPerSec, peakRssMb: process.resourceUsage().maxRSS / 1024 };
});

async function plannerPass(path: string, size: number, config: ReturnType<typeof appConfig>) {
  const planConfig = await deployedPlanConfig(config);
  const s3 = objectS3({ kind: 'file', path, size });
  return async () => {
    const plan = await planFile(
      s3,
      { bucket: 'bench', key: 'bench.csv', eTag: DOUBLE_ETAG, size },
      planConfig,
    );
    return plan.totalRows + 1; // the header is a record too
  };
}

function csvParsePass(path: string, delimiter: string, maxRecordBytes: number) {
  const options = csvParseOptions({ delimiter, maxRecordBytes, bom: true });
  return async () => {
    let count = 0;
    const parser = createReadStream(path, { highWaterMark: STREAM_CHUNK_BYTES }).pipe(
      parse(options),
    );
    for await (const _record of parser) count++;
    return count;
  };
}
