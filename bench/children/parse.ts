/**
 * Bench child: the loader's chunk logic (readCsvRecords + validateHeader + rowToItem +
 * batching, via the real loadChunk with I/O-free client doubles) against csv-parse alone
 * on the same bytes, and the planner's throughput. Rounds alternate between the
 * contenders so a burst of noise on the shared machine hits both.
 */
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { planFile } from '../../handlers/plan-file/plan.js';
import type { LoadChunkInput } from '../../handlers/shared/contracts.js';
import { csvParseOptions, readCsvRecords } from '../../handlers/shared/csv.js';
import { reportToParent } from '../lib/child.js';
import { generateBytes, streamOf } from '../lib/data.js';
import { DOUBLE_ETAG, DOUBLE_UPLOAD, loadChunkOffline, objectS3 } from '../lib/doubles.js';
import { deployedLoadConfig, deployedPlanConfig } from '../lib/handler-configs.js';
import { appConfig } from '../lib/handler-env.js';
import { interleavedRounds } from '../lib/rounds.js';

/** What the parent receives. */
export interface ParseChildResult {
  readonly rows: number;
  readonly bytes: number;
  readonly chunkRowsPerSec: number[];
  readonly rawStreamRowsPerSec: number[];
  readonly rawCallbackRowsPerSec: number[];
  readonly plannerMbPerSec: number[];
}

await reportToParent(async (): Promise<ParseChildResult> => {
  const [rowsText = '', roundsText = ''] = process.argv.slice(2);
  const rows = Number(rowsText);
  const rounds = Number(roundsText);
  if (!(rows > 0 && rounds > 0)) throw new Error('usage: parse.ts <rows> <rounds>');

  const config = appConfig();
  const { delimiter } = config.dataset;
  const { maxRecordBytes } = config;
  const planConfig = await deployedPlanConfig(config);
  const loadConfig = deployedLoadConfig(config, 'bench');
  const data = await generateBytes(rows);
  const file = data.bytes;
  const chunkBytes = file.subarray(data.dataStart);
  const header = await firstRecord(streamOf(file.subarray(0, data.dataStart)), delimiter);
  const input: LoadChunkInput = {
    object: { bucket: 'bench', key: 'bench.csv', eTag: DOUBLE_ETAG, size: file.length },
    header,
    chunk: { index: 0, start: data.dataStart, end: file.length, firstLine: 2, rows, skip: [] },
    upload: DOUBLE_UPLOAD,
  };
  const s3 = objectS3({ kind: 'memory', bytes: file });
  const rawOptions = csvParseOptions({ delimiter, maxRecordBytes, bom: false });

  const contenders = {
    /** The loader's work on one chunk, minus the network. */
    chunk: () => loadChunkOffline(input, loadConfig, s3, rows),
    /** csv-parse alone, as a stream, with the same options on the same bytes. */
    rawStream: async () => {
      let count = 0;
      for await (const _record of streamOf(chunkBytes).pipe(parse(rawOptions))) count += 1;
      return count;
    },
    /** csv-parse alone, records taken in `on_record` (how readCsvRecords drives it). */
    rawCallback: async () => {
      let count = 0;
      const parser = parse({
        ...rawOptions,
        on_record: () => {
          count += 1;
          return null;
        },
      });
      for await (const chunk of streamOf(chunkBytes)) {
        await new Promise<void>((resolve, reject) =>
          parser.write(chunk, (error) => (error ? reject(error) : resolve())),
        );
      }
      await new Promise<void>((resolve, reject) => {
        parser.once('error', reject);
        parser.end(resolve);
      });
      return count;
    },
    planner: async () => {
      const plan = await planFile(
        s3,
        { bucket: 'bench', key: 'bench.csv', eTag: DOUBLE_ETAG, size: file.length },
        planConfig,
      );
      if (plan.totalRows !== rows) throw new Error(`planner saw ${plan.totalRows} of ${rows} rows`);
      return plan.totalRows;
    },
  };

  const seconds = await interleavedRounds(contenders, rounds, rows);
  const rowsPerSec = (runs: number[]) => runs.map((run) => rows / run);
  return {
    rows,
    bytes: file.length,
    chunkRowsPerSec: rowsPerSec(seconds.chunk),
    rawStreamRowsPerSec: rowsPerSec(seconds.rawStream),
    rawCallbackRowsPerSec: rowsPerSec(seconds.rawCallback),
    plannerMbPerSec: seconds.planner.map((run) => file.length / 1e6 / run),
  };
});

async function firstRecord(source: Readable, delimiter: string): Promise<string[]> {
  for await (const record of readCsvRecords(source, { delimiter, maxRecordBytes: 64 * 1024 })) {
    return record.fields;
  }
  throw new Error('generated file has no header');
}
