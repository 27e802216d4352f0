import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { LoadMemoryResult } from '../children/load-memory.js';
import type { PlanMemoryResult } from '../children/plan-memory.js';
import { runChild } from '../lib/child.js';
import { benchFileName, generateFile } from '../lib/data.js';
import { appConfig } from '../lib/handler-env.js';
import type { BenchContext } from '../lib/options.js';
import {
  GOAL,
  judge,
  type MemoryFigures,
  type SuiteReport,
  type TableRow,
} from '../lib/results.js';
import { ratio, round } from '../lib/stats.js';
import { formatNumber } from '../lib/table.js';

const SCALE = 10;

interface SizeReading {
  readonly rows: number;
  readonly bytes: number;
  readonly planner: Omit<PlanMemoryResult, 'plan'> & { readonly chunks: number };
  readonly loader: LoadMemoryResult;
}

/**
 * Peak RSS of the planner and of the loader on the base file and on a file 10× its
 * size, each in a fresh process. latest.json carries the component whose ratio is
 * worse; the table shows both.
 */
export async function runMemory(context: BenchContext): Promise<SuiteReport<MemoryFigures>> {
  const dataset = appConfig().dataset.name;
  const timeoutMs = context.quick ? 60_000 : 900_000;
  const readings: SizeReading[] = [];
  for (const rows of [context.baseRows, context.baseRows * SCALE]) {
    const file = new URL(benchFileName(dataset, rows), context.workDir);
    context.log(`memory: generating ${formatNumber(rows)} rows`);
    const bytes = await generateFile(file, rows);
    const planned = await runChild<PlanMemoryResult>(
      new URL('../children/plan-memory.ts', import.meta.url),
      [fileURLToPath(file)],
      { timeoutMs, nodeArgs: ['--expose-gc'] },
    );
    const planFile = new URL(`plan-${rows}.json`, context.workDir);
    await writeFile(planFile, JSON.stringify(planned.plan));
    const loaded = await runChild<LoadMemoryResult>(
      new URL('../children/load-memory.ts', import.meta.url),
      [fileURLToPath(file), fileURLToPath(planFile)],
      { timeoutMs, nodeArgs: ['--expose-gc'] },
    );
    const { plan, ...planner } = planned;
    readings.push({
      rows,
      bytes,
      planner: { ...planner, chunks: plan.chunks.length },
      loader: loaded,
    });
    context.log(
      `memory: ${formatNumber(rows)} rows: planner peak ${planner.peakRssMb.toFixed(0)} MB, loader peak ${loaded.peakRssMb.toFixed(0)} MB (${loaded.chunks} chunks; its V8 heap peaked at ${loaded.peaks.heapTotalMb.toFixed(0)} MB, ${loaded.heapAfterGcMb.toFixed(0)} MB live after GC)`,
    );
  }
  const [base, large] = readings as [SizeReading, SizeReading];
  const components = {
    planner: { baseMb: base.planner.peakRssMb, largeMb: large.planner.peakRssMb },
    loader: { baseMb: base.loader.peakRssMb, largeMb: large.loader.peakRssMb },
  };
  const ratios = {
    planner: ratio(components.planner.largeMb, components.planner.baseMb),
    loader: ratio(components.loader.largeMb, components.loader.baseMb),
  };
  const worse = ratios.planner >= ratios.loader ? 'planner' : 'loader';
  const figures: MemoryFigures = {
    baseMb: round(components[worse].baseMb, 1),
    largeMb: round(components[worse].largeMb, 1),
    ratio: round(ratios[worse], 2),
  };
  const sizes = `${formatNumber(base.rows)} → ${formatNumber(large.rows)} rows (${(base.bytes / 1e6).toFixed(0)} → ${(large.bytes / 1e6).toFixed(0)} MB)`;
  const rows: TableRow[] = (['planner', 'loader'] as const).map((component) => ({
    suite: 'memory',
    measure: `${component} peak RSS, ${sizes}`,
    value: `${components[component].largeMb.toFixed(0)} MB`,
    versus: `base ${components[component].baseMb.toFixed(0)} MB`,
    result: `${round(ratios[component], 2)}×`,
    ...judge(GOAL.memoryRatio, ratios[component]),
  }));
  // Growth per million rows: what the planner's key index costs (the loader's is flat).
  const plannerMbPerMillionRows =
    ((large.planner.peakRssMb - base.planner.peakRssMb) / (large.rows - base.rows)) * 1e6;
  // A quick run's files are too small for a per-million slope to mean anything.
  if (!context.quick)
    rows.push({
      suite: 'memory',
      measure: 'planner growth per million rows',
      value: `${plannerMbPerMillionRows.toFixed(0)} MB`,
      versus: '',
      result: '',
      goal: '',
    });
  return {
    figures,
    rows,
    details: {
      reported: worse,
      ratios: { planner: round(ratios.planner, 3), loader: round(ratios.loader, 3) },
      plannerMbPerMillionRows: round(plannerMbPerMillionRows, 1),
      readings,
    },
  };
}
