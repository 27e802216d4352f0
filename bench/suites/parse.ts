import type { ParseChildResult } from '../children/parse.js';
import { runChild } from '../lib/child.js';
import type { BenchContext } from '../lib/options.js';
import { GOAL, judge, type ParseFigures, type SuiteReport } from '../lib/results.js';
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
  return {
    figures,
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
    },
  };
}
