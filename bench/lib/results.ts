/**
 * The shape of `bench/results/latest.json` (exactly the keys issue 7 lists) and the
 * goals each figure is judged against. Every figure is the ratio of two things
 * measured side by side in the same run, so a noisy, shared machine moves both.
 */

/**
 * Upload → execution succeeded through the local stack, against raw BatchWriteItem of
 * the same rows (the best of the raw passes, with as many writer processes as the
 * pipeline runs loaders), for one file size.
 */
export interface IngestFigures {
  readonly rows: number;
  readonly pipelineRowsPerSec: number;
  readonly rawRowsPerSec: number;
  readonly ratio: number;
}

/** What the ingest suite measures: each size, and the CPU over all of them. */
export interface IngestSuiteFigures {
  readonly sizes: readonly IngestFigures[];
  readonly cpu: CpuFigures;
}

/** CPU per 100,000 rows during the ingest runs, of the stack's process and of the emulator's. */
export interface CpuFigures {
  /** The local stack's process: handlers (planner, loaders), SDK, S3/SQS and Step Functions emulators. */
  readonly stackCpuSecondsPer100kRows: number;
  /** dynalite's own process (/proc/<pid>/stat). */
  readonly emulatorCpuSecondsPer100kRows: number;
}

/** The planner (validate every row, plan chunks) against csv-parse alone on the same file. */
export interface PlannerFigures {
  readonly mbPerSec: number;
  readonly csvParseMbPerSec: number;
  /** mbPerSec ÷ csvParseMbPerSec. */
  readonly ratio: number;
  /** Peak RSS of a fresh process planning the file, and of one parsing it with csv-parse alone. */
  readonly rssMb: number;
  readonly csvParseRssMb: number;
}

/** Two files sharing half their keys, uploaded together: both loaded, and keys left stale. */
export interface OverlapFigures {
  /** Rows of both files together. */
  readonly rows: number;
  /** Both files' rows over the time from the first upload to the later success. */
  readonly rowsPerSec: number;
  /** Keys whose stored record is not the newest upload's (must be 0). */
  readonly staleKeys: number;
}

/** The chunk logic (parse + validate + convert) against csv-parse alone on the same bytes. */
export interface ParseFigures {
  readonly rowsPerSec: number;
  readonly rawRowsPerSec: number;
  readonly ratio: number;
  /** JSON Lines: chunk logic rows/s, JSON.parse of the same lines, and their ratio. */
  readonly json?: {
    readonly rowsPerSec: number;
    readonly rawRowsPerSec: number;
    readonly ratio: number;
  };
}

/** Peak RSS on a file 10× the base size against the base file (the worse of planner and loader). */
export interface MemoryFigures {
  readonly baseMb: number;
  readonly largeMb: number;
  readonly ratio: number;
}

/** The read API through the local HTTPS front. */
export interface ApiFigures {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly noAuthP99Ms: number;
  readonly authP99Ratio: number;
  readonly batchSpeedup: number;
}

/** One handler bundle: minified ESM size and median import time in a fresh process. */
export interface BundleFigures {
  readonly bytes: number;
  readonly importMs: number;
}

/** `bench/results/latest.json`. */
export interface BenchResults {
  /** One per ingested file size, smallest first. */
  readonly ingest: readonly IngestFigures[];
  readonly cpu: CpuFigures;
  readonly planner: PlannerFigures;
  readonly overlap: OverlapFigures;
  readonly parse: ParseFigures;
  readonly memory: MemoryFigures;
  readonly api: ApiFigures;
  readonly bundles: Readonly<Record<string, BundleFigures>>;
}

/** The suites, in the order `npm run bench` runs them (cheap and CPU-bound first). */
export const SUITES = [
  'bundles',
  'parse',
  'planner',
  'memory',
  'ingest',
  'overlap',
  'api',
] as const;
export type SuiteName = (typeof SUITES)[number];

/** One line of the printed table. */
export interface TableRow {
  readonly suite: SuiteName;
  readonly measure: string;
  readonly value: string;
  readonly versus: string;
  readonly result: string;
  readonly goal: string;
  /** Whether the goal is met; undefined for a row that has no goal. */
  readonly met?: boolean;
}

/** What one suite hands back: its figures for latest.json, table rows and free-form details. */
export interface SuiteReport<F> {
  readonly figures: F;
  readonly rows: readonly TableRow[];
  readonly details: Readonly<Record<string, unknown>>;
}

/** A goal: the figure must be at least or at most `limit`. */
export interface Goal {
  readonly label: string;
  readonly unit: string;
  readonly kind: 'atLeast' | 'atMost';
  readonly limit: number;
  /** Picks the figure out of a complete result set. */
  readonly pick: (results: BenchResults) => number;
}

/**
 * The goals of issue 7, in chart order: the one definition of each limit, judged in
 * its suite's table rows (`judge`) and in the chart (`GOALS`).
 */
export const GOAL = {
  ingestRatio: {
    label: 'ingest: pipeline ÷ raw BatchWriteItem (worst size)',
    unit: '×',
    kind: 'atLeast',
    limit: 0.8,
    pick: (r) => Math.min(...r.ingest.map((size) => size.ratio)),
  },
  stackCpu: {
    label: 'cpu: stack process CPU per 100,000 rows ingested',
    unit: 's',
    kind: 'atMost',
    limit: 4,
    pick: (r) => r.cpu.stackCpuSecondsPer100kRows,
  },
  overlapStaleKeys: {
    label: "overlap: keys not holding the newest upload's value",
    unit: 'keys',
    kind: 'atMost',
    limit: 0,
    pick: (r) => r.overlap.staleKeys,
  },
  parseRatio: {
    label: 'parse: chunk logic ÷ csv-parse alone',
    unit: '×',
    kind: 'atLeast',
    limit: 0.6,
    pick: (r) => r.parse.ratio,
  },
  parseJsonRatio: {
    label: 'parse: JSON Lines chunk logic ÷ JSON.parse',
    unit: '×',
    kind: 'atLeast',
    limit: 0.6,
    pick: (r) => r.parse.json?.ratio ?? Number.NaN,
  },
  plannerRatio: {
    label: 'planner: MB/s ÷ csv-parse alone',
    unit: '×',
    kind: 'atLeast',
    limit: 0.8,
    pick: (r) => r.planner.ratio,
  },
  plannerMemory: {
    label: "planner: peak RSS ÷ csv-parse alone's",
    unit: '×',
    kind: 'atMost',
    limit: 1.5,
    pick: (r) => r.planner.rssMb / r.planner.csvParseRssMb,
  },
  memoryRatio: {
    label: 'memory: peak RSS 10× file ÷ base file',
    unit: '×',
    kind: 'atMost',
    limit: 1.25,
    pick: (r) => r.memory.ratio,
  },
  apiAuthP99Ratio: {
    label: 'api: p99 with auth ÷ without auth',
    unit: '×',
    kind: 'atMost',
    limit: 1.25,
    pick: (r) => r.api.authP99Ratio,
  },
  apiBatchSpeedup: {
    label: 'api: batch-get items/s ÷ single GET items/s',
    unit: '×',
    kind: 'atLeast',
    limit: 10,
    pick: (r) => r.api.batchSpeedup,
  },
  apiBundleSize: {
    label: 'bundles: api bundle size',
    unit: 'KB',
    kind: 'atMost',
    limit: 500,
    pick: (r) => (r.bundles.api?.bytes ?? Number.NaN) / 1000,
  },
  handlerImport: {
    label: 'bundles: slowest handler import',
    unit: 'ms',
    kind: 'atMost',
    limit: 150,
    pick: (r) => Math.max(...Object.values(r.bundles).map((bundle) => bundle.importMs)),
  },
} satisfies Record<string, Goal>;

/** Every goal, in chart order. */
export const GOALS: readonly Goal[] = Object.values(GOAL);

/** Whether `value` meets `goal` (NaN never does). */
export function meets(goal: Pick<Goal, 'kind' | 'limit'>, value: number): boolean {
  if (Number.isNaN(value)) return false;
  return goal.kind === 'atLeast' ? value >= goal.limit : value <= goal.limit;
}

/** "≥ 0.8" / "≤ 1.25 ms": how a goal reads in the table and the chart. */
export function describeGoal(goal: Pick<Goal, 'kind' | 'limit' | 'unit'>): string {
  const unit = goal.unit === '×' ? '' : ` ${goal.unit}`;
  return `${goal.kind === 'atLeast' ? '≥' : '≤'} ${goal.limit}${unit}`;
}

/** The `goal` and `met` columns of a table row that judges `value` against `goal`. */
export function judge(goal: Goal, value: number): Pick<TableRow, 'goal' | 'met'> {
  return { goal: describeGoal(goal), met: meets(goal, value) };
}

/**
 * Copies exactly the documented keys, in the documented order, so latest.json never
 * grows an undocumented field when a suite returns more.
 */
export function toLatestJson(results: BenchResults): BenchResults {
  const { ingest, cpu, planner, overlap, parse, memory, api } = results;
  return {
    ingest: ingest.map((size) => ({
      rows: size.rows,
      pipelineRowsPerSec: size.pipelineRowsPerSec,
      rawRowsPerSec: size.rawRowsPerSec,
      ratio: size.ratio,
    })),
    cpu: {
      stackCpuSecondsPer100kRows: cpu.stackCpuSecondsPer100kRows,
      emulatorCpuSecondsPer100kRows: cpu.emulatorCpuSecondsPer100kRows,
    },
    planner: {
      mbPerSec: planner.mbPerSec,
      csvParseMbPerSec: planner.csvParseMbPerSec,
      ratio: planner.ratio,
      rssMb: planner.rssMb,
      csvParseRssMb: planner.csvParseRssMb,
    },
    overlap: { rows: overlap.rows, rowsPerSec: overlap.rowsPerSec, staleKeys: overlap.staleKeys },
    parse: {
      rowsPerSec: parse.rowsPerSec,
      rawRowsPerSec: parse.rawRowsPerSec,
      ratio: parse.ratio,
      ...(parse.json === undefined
        ? {}
        : {
            json: {
              rowsPerSec: parse.json.rowsPerSec,
              rawRowsPerSec: parse.json.rawRowsPerSec,
              ratio: parse.json.ratio,
            },
          }),
    },
    memory: { baseMb: memory.baseMb, largeMb: memory.largeMb, ratio: memory.ratio },
    api: {
      rps: api.rps,
      p50Ms: api.p50Ms,
      p99Ms: api.p99Ms,
      noAuthP99Ms: api.noAuthP99Ms,
      authP99Ratio: api.authP99Ratio,
      batchSpeedup: api.batchSpeedup,
    },
    bundles: Object.fromEntries(
      Object.entries(results.bundles)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, bundle]) => [name, { bytes: bundle.bytes, importMs: bundle.importMs }]),
    ),
  };
}
