import { fileURLToPath } from 'node:url';
import type { PlannerChildResult, PlannerContender } from '../children/planner.js';
import { runChild } from '../lib/child.js';
import { benchFileName, generateFile } from '../lib/data.js';
import { appConfig } from '../lib/handler-env.js';
import type { BenchContext } from '../lib/options.js';
import { GOAL, judge, type PlannerFigures, type SuiteReport } from '../lib/results.js';
import { median, ratio, round } from '../lib/stats.js';
import { formatNumber } from '../lib/table.js';

/**
 * The planner against csv-parse alone with the same options on the same file (the
 * base file, streamed from disk in 64 KiB reads), each in fresh processes that
 * alternate (planner, csv-parse, planner, …) so a burst of noise on the shared
 * machine hits both; speed is the median of every timed pass, memory the median peak
 * RSS of the processes.
 */
export async function runPlanner(context: BenchContext): Promise<SuiteReport<PlannerFigures>> {
  const rows = context.baseRows;
  const file = new URL(benchFileName(appConfig().dataset.name, rows), context.workDir);
  await generateFile(file, rows);
  const processes = context.quick ? 2 : 3;
  const rounds = context.quick ? 2 : 3;
  const runs: Record<PlannerContender, PlannerChildResult[]> = { planner: [], 'csv-parse': [] };
  for (let at = 0; at < processes; at++) {
    for (const contender of ['planner', 'csv-parse'] as const) {
      const result = await runChild<PlannerChildResult>(
        new URL('../children/planner.ts', import.meta.url),
        [fileURLToPath(file), contender, String(rounds)],
        { timeoutMs: context.quick ? 120_000 : 600_000 },
      );
      if (result.rows !== rows + 1) {
        throw new Error(`${contender} saw ${result.rows} records, expected ${rows + 1}`);
      }
      runs[contender].push(result);
    }
  }
  const speed = (contender: PlannerContender) =>
    median(runs[contender].flatMap((run) => run.mbPerSec));
  const rss = (contender: PlannerContender) => median(runs[contender].map((run) => run.peakRssMb));
  const figures: PlannerFigures = {
    mbPerSec: round(speed('planner'), 1),
    csvParseMbPerSec: round(speed('csv-parse'), 1),
    ratio: round(ratio(speed('planner'), speed('csv-parse')), 2),
    rssMb: round(rss('planner'), 1),
    csvParseRssMb: round(rss('csv-parse'), 1),
  };
  const memoryRatio = round(ratio(figures.rssMb, figures.csvParseRssMb), 2);
  const mb = ((runs.planner[0]?.bytes ?? 0) / 1e6).toFixed(1);
  context.log(
    `planner: ${figures.mbPerSec} MB/s against csv-parse ${figures.csvParseMbPerSec} MB/s; peak RSS ${figures.rssMb} MB against ${figures.csvParseRssMb} MB`,
  );
  return {
    figures,
    rows: [
      {
        suite: 'planner',
        measure: `validate every row + plan chunks, ${formatNumber(rows)} rows (${mb} MB)`,
        value: `${figures.mbPerSec} MB/s`,
        versus: `csv-parse alone ${figures.csvParseMbPerSec} MB/s`,
        result: `${figures.ratio}×`,
        ...judge(GOAL.plannerRatio, figures.ratio),
      },
      {
        suite: 'planner',
        measure: `peak RSS of a fresh process planning the same file`,
        value: `${figures.rssMb} MB`,
        versus: `csv-parse alone ${figures.csvParseRssMb} MB`,
        result: `${memoryRatio}×`,
        ...judge(GOAL.plannerMemory, memoryRatio),
      },
    ],
    details: {
      rows,
      processes,
      roundsPerProcess: rounds,
      plannerMbPerSec: runs.planner.map((run) => run.mbPerSec.map((value) => round(value, 1))),
      csvParseMbPerSec: runs['csv-parse'].map((run) =>
        run.mbPerSec.map((value) => round(value, 1)),
      ),
      plannerPeakRssMb: runs.planner.map((run) => round(run.peakRssMb, 1)),
      csvParsePeakRssMb: runs['csv-parse'].map((run) => round(run.peakRssMb, 1)),
    },
  };
}
