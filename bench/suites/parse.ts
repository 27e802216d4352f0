import type { ParseChildResult } from '../children/parse.js';
import type { ParseJsonChildResult } from '../children/parse-json.js';
import { runChild } from '../lib/child.js';
import type { BenchContext } from '../lib/options.js';
import { GOAL, judge, type ParseFigures, type SuiteReport, type TableRow } from '../lib/results.js';
import { median, ratio, round } from '../lib/stats.js';
import { formatNumber } from '../lib/table.js';

/**
 * Chunk logic vs csv-parse alone, measured in one fresh child process. The raw
 * figure is the faster of csv-parse's two APIs (stream and `on_record`), so the
 * ratio is against the best csv-parse can do on these bytes.
 */
export async function runParse(context: BenchContext): Promise<SuiteReport<ParseFigures>> {
  const rounds = context.quick ? 3 : 5;
  const child = await runChild<ParseChildResult>(
    new URL('../children/parse.ts', import.meta.url),
    [String(context.baseRows), String(rounds)],
    { timeoutMs: context.quick ? 60_000 : 600_000 },
  );
  const rowsPerSec = median(child.chunkRowsPerSec);
  const rawStream = median(child.rawStreamRowsPerSec);
  const rawCallback = median(child.rawCallbackRowsPerSec);
  const rawRowsPerSec = Math.max(rawStream, rawCallback);
  const plannerMbPerSec = median(child.plannerMbPerSec);
  const figures: ParseFigures = {
    rowsPerSec: Math.round(rowsPerSec),
    rawRowsPerSec: Math.round(rawRowsPerSec),
    ratio: round(ratio(rowsPerSec, rawRowsPerSec), 2),
  };
  const mb = (child.bytes / 1e6).toFixed(1);
  context.log(
    `parse: chunk logic ${formatNumber(rowsPerSec)} rows/s, csv-parse ${formatNumber(rawRowsPerSec)} rows/s, planner ${plannerMbPerSec.toFixed(1)} MB/s`,
  );
  const json = await runParseJson(context, rounds);
  return {
    figures: { ...figures, json: json.figures },
    rows: [
      {
        suite: 'parse',
        measure: `chunk logic, ${formatNumber(child.rows)} rows (${mb} MB)`,
        value: `${formatNumber(figures.rowsPerSec)} rows/s`,
        versus: `csv-parse alone ${formatNumber(figures.rawRowsPerSec)} rows/s`,
        result: `${figures.ratio}×`,
        ...judge(GOAL.parseRatio, figures.ratio),
      },
      {
        suite: 'parse',
        measure: `planner (validate + plan), ${mb} MB`,
        value: `${plannerMbPerSec.toFixed(1)} MB/s`,
        versus: '',
        result: '',
        goal: '',
      },
      ...json.rows,
    ],
    details: {
      rows: child.rows,
      bytes: child.bytes,
      rounds,
      chunkRowsPerSec: child.chunkRowsPerSec.map(Math.round),
      rawStreamRowsPerSec: child.rawStreamRowsPerSec.map(Math.round),
      rawCallbackRowsPerSec: child.rawCallbackRowsPerSec.map(Math.round),
      plannerMbPerSec: child.plannerMbPerSec.map((value) => round(value, 1)),
      plannerMedianMbPerSec: round(plannerMbPerSec, 1),
      json: json.details,
    },
  };
}

/**
 * The same on JSON Lines (the same generated rows): chunk logic against JSON.parse of
 * the same lines, and the two ways to keep number text we did not take (see
 * docs/ingestion-files.md, "Why our own JSON parser").
 */
async function runParseJson(context: BenchContext, rounds: number) {
  const child = await runChild<ParseJsonChildResult>(
    new URL('../children/parse-json.ts', import.meta.url),
    [String(context.baseRows), String(rounds)],
    { timeoutMs: context.quick ? 60_000 : 600_000 },
  );
  const rowsPerSec = median(child.chunkRowsPerSec);
  const rawRowsPerSec = median(child.jsonParseRowsPerSec);
  const reviver = median(child.reviverRowsPerSec);
  const reader = median(child.readerRowsPerSec);
  const tokenizer = median(child.tokenizerRowsPerSec);
  const planner = median(child.plannerMbPerSec);
  const figures = {
    rowsPerSec: Math.round(rowsPerSec),
    rawRowsPerSec: Math.round(rawRowsPerSec),
    ratio: round(ratio(rowsPerSec, rawRowsPerSec), 2),
  };
  const mb = (child.bytes / 1e6).toFixed(1);
  const versus = `JSON.parse of the same lines ${formatNumber(figures.rawRowsPerSec)} rows/s`;
  context.log(
    `parse: JSON Lines chunk logic ${formatNumber(rowsPerSec)} rows/s, JSON.parse ${formatNumber(rawRowsPerSec)} rows/s, reader ${formatNumber(reader)} rows/s, reviver ${formatNumber(reviver)} rows/s, @streamparser/json ${formatNumber(tokenizer)} rows/s, planner ${planner.toFixed(1)} MB/s`,
  );
  const row = (measure: string, value: number, goal?: boolean): TableRow => ({
    suite: 'parse',
    measure,
    value: `${formatNumber(Math.round(value))} rows/s`,
    versus,
    result: `${round(ratio(value, rawRowsPerSec), 2)}×`,
    ...(goal ? judge(GOAL.parseJsonRatio, figures.ratio) : { goal: '' }),
  });
  return {
    figures,
    rows: [
      row(`JSON Lines chunk logic, ${formatNumber(child.rows)} rows (${mb} MB)`, rowsPerSec, true),
      row('JSON Lines reader alone (offsets, exact numbers)', reader),
      row('JSON.parse with a source reviver (exact numbers)', reviver),
      row('@streamparser/json tokenizer alone (exact numbers)', tokenizer),
      {
        suite: 'parse' as const,
        measure: `planner (validate + plan), JSON Lines, ${mb} MB`,
        value: `${planner.toFixed(1)} MB/s`,
        versus: '',
        result: '',
        goal: '',
      },
    ],
    details: {
      rows: child.rows,
      bytes: child.bytes,
      chunkRowsPerSec: child.chunkRowsPerSec.map(Math.round),
      jsonParseRowsPerSec: child.jsonParseRowsPerSec.map(Math.round),
      readerRowsPerSec: child.readerRowsPerSec.map(Math.round),
      reviverRowsPerSec: child.reviverRowsPerSec.map(Math.round),
      tokenizerRowsPerSec: child.tokenizerRowsPerSec.map(Math.round),
      plannerMbPerSec: child.plannerMbPerSec.map((value) => round(value, 1)),
    },
  };
}
