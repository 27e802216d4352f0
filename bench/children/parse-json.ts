/**
 * Bench child: the loader's chunk logic on a JSON Lines file (readJsonBatches +
 * jsonRecordToItem + batching, via the real loadChunk with I/O-free client doubles)
 * against JSON.parse of the same lines, and the planner's JSON Lines throughput. Two
 * more contenders show why the project parses JSON itself (against our reader alone): JSON.parse with a
 * `context.source` reviver (the built-in way to keep number text) and the
 * @streamparser/json tokenizer alone (byte offsets, number text through parseNumber).
 * Rounds alternate between the contenders so noise on the shared machine hits all.
 */
import { Tokenizer, TokenType } from '@streamparser/json';
import { planFile } from '../../handlers/plan-file/plan.js';
import type { LoadChunkInput } from '../../handlers/shared/contracts.js';
import { readJsonBatches } from '../../handlers/shared/json-records.js';
import { reportToParent } from '../lib/child.js';
import { generateBytes, STREAM_CHUNK_BYTES, streamOf } from '../lib/data.js';
import { DOUBLE_ETAG, DOUBLE_UPLOAD, loadChunkOffline, objectS3 } from '../lib/doubles.js';
import { deployedLoadConfig, deployedPlanConfig } from '../lib/handler-configs.js';
import { appConfig } from '../lib/handler-env.js';
import { jsonLinesOf } from '../lib/json-data.js';
import { interleavedRounds } from '../lib/rounds.js';

/** What the parent receives. */
export interface ParseJsonChildResult {
  readonly rows: number;
  readonly bytes: number;
  readonly chunkRowsPerSec: number[];
  readonly jsonParseRowsPerSec: number[];
  readonly readerRowsPerSec: number[];
  readonly reviverRowsPerSec: number[];
  readonly tokenizerRowsPerSec: number[];
  readonly plannerMbPerSec: number[];
}

const LF = 0x0a;

/** The tokenizer keeping each number's text, as its documentation says to (parseNumber). */
class ExactTokenizer extends Tokenizer {
  protected override parseNumber(text: string): number {
    return text as unknown as number;
  }
}

await reportToParent(async (): Promise<ParseJsonChildResult> => {
  const [rowsText = '', roundsText = ''] = process.argv.slice(2);
  const rows = Number(rowsText);
  const rounds = Number(roundsText);
  if (!(rows > 0 && rounds > 0)) throw new Error('usage: parse-json.ts <rows> <rounds>');

  const config = appConfig();
  const planConfig = await deployedPlanConfig(config);
  const loadConfig = deployedLoadConfig(config, 'bench');
  const file = await jsonLinesOf((await generateBytes(rows)).bytes, config.dataset);
  const object = { bucket: 'bench', key: 'bench.jsonl', eTag: DOUBLE_ETAG, size: file.length };
  const input: LoadChunkInput = {
    object,
    format: 'jsonl',
    header: [],
    chunk: { index: 0, start: 0, end: file.length, firstLine: 1, rows, skip: [] },
    upload: DOUBLE_UPLOAD,
  };
  const s3 = objectS3({ kind: 'memory', bytes: file });

  /** Each line of the file as JSON.parse gets it: decoded from the same bytes, piece by piece. */
  const eachLine = (parse: (text: string) => unknown): number => {
    let count = 0;
    let from = 0;
    for (let lf = file.indexOf(LF, from); lf !== -1; lf = file.indexOf(LF, from)) {
      parse(file.toString('utf8', from, lf));
      count += 1;
      from = lf + 1;
    }
    return count;
  };

  const contenders = {
    /** The loader's work on one chunk, minus the network. */
    chunk: () => loadChunkOffline(input, loadConfig, s3, rows),
    /** JSON.parse of every line of the same bytes (floats: not exact). */
    jsonParse: async () => eachLine((text) => JSON.parse(text)),
    /** Our JSON Lines reader alone: records with byte offsets and lines, numbers as their text. */
    reader: async () => {
      let count = 0;
      for await (const batch of readJsonBatches(streamOf(file), 'jsonl', {
        maxRecordBytes: loadConfig.maxRecordBytes,
      })) {
        count += batch.length;
      }
      return count;
    },
    /** JSON.parse keeping each number's text through the reviver's context.source. */
    reviver: async () =>
      eachLine((text) =>
        JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
          typeof value === 'number' ? { number: context?.source } : value,
        ),
      ),
    /** @streamparser/json's tokenizer alone, number text kept, counting the records' closing braces. */
    tokenizer: async () => {
      let count = 0;
      let depth = 0;
      const tokenizer = new ExactTokenizer({ separator: '\n' });
      tokenizer.onToken = ({ token }) => {
        if (token === TokenType.LEFT_BRACE) depth += 1;
        else if (token === TokenType.RIGHT_BRACE && --depth === 0) count += 1;
      };
      for (let at = 0; at < file.length; at += STREAM_CHUNK_BYTES) {
        tokenizer.write(file.subarray(at, at + STREAM_CHUNK_BYTES));
      }
      return count;
    },
    planner: async () => {
      const plan = await planFile(s3, object, planConfig);
      if (plan.totalRows !== rows || plan.format !== 'jsonl') {
        throw new Error(`planner saw ${plan.totalRows} of ${rows} rows as ${plan.format}`);
      }
      return plan.totalRows;
    },
  };

  const seconds = await interleavedRounds(contenders, rounds, rows);
  const rowsPerSec = (runs: number[]) => runs.map((run) => rows / run);
  return {
    rows,
    bytes: file.length,
    chunkRowsPerSec: rowsPerSec(seconds.chunk),
    jsonParseRowsPerSec: rowsPerSec(seconds.jsonParse),
    readerRowsPerSec: rowsPerSec(seconds.reader),
    reviverRowsPerSec: rowsPerSec(seconds.reviver),
    tokenizerRowsPerSec: rowsPerSec(seconds.tokenizer),
    plannerMbPerSec: seconds.planner.map((run) => file.length / 1e6 / run),
  };
});
