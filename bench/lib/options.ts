import { parseArgs } from 'node:util';
import { SUITES, type SuiteName } from './results.js';

/** What every suite gets: the run's sizes and where to put its files. */
export interface BenchContext {
  readonly quick: boolean;
  /** Rows of each file the ingest suite loads, smallest first. */
  readonly ingestSizes: readonly number[];
  /** Rows of each of the overlap suite's two files. */
  readonly overlapRowsPerFile: number;
  /** Rows of the base file for the parse and memory suites (the large file is 10×). */
  readonly baseRows: number;
  /** Fresh-process repetitions for import timings (the median is reported). */
  readonly importRuns: number;
  /** Seconds each autocannon run lasts. */
  readonly apiSeconds: number;
  /** Scratch directory under bench/results/ (git-ignored). */
  readonly workDir: URL;
  /** Progress line on stderr (the table goes to stdout). */
  readonly log: (message: string) => void;
}

/** Parsed command line of `npm run bench`. */
export interface BenchOptions {
  readonly quick: boolean;
  readonly suites: readonly SuiteName[];
  readonly rows: number | undefined;
}

const USAGE = `usage: npm run bench -- [--quick] [--only ${SUITES.join(',')}] [--rows N]
  --quick   smaller sizes, finishes in under a minute
  --only    run some suites (writes bench/results/partial.json instead of latest.json)
  --rows    rows of the one ingest file (default two files: 100000 and 1000000 rows;
            10000 and 40000 with --quick)`;

/** Parses `argv` (without node and script), throwing a usage error on anything unknown. */
export function parseOptions(argv: readonly string[]): BenchOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  const { values } = parsed;
  if (values.help) throw new Error(USAGE);
  const suites =
    values.only === undefined ? [...SUITES] : values.only.split(',').map((s) => s.trim());
  for (const suite of suites) {
    if (!(SUITES as readonly string[]).includes(suite)) {
      throw new Error(`unknown suite "${suite}" in --only\n${USAGE}`);
    }
  }
  let rows: number | undefined;
  if (values.rows !== undefined) {
    rows = Number(values.rows);
    if (!/^\d+$/.test(values.rows) || rows < 1000) {
      throw new Error(`--rows must be an integer of at least 1000, got "${values.rows}"`);
    }
  }
  return { quick: values.quick ?? false, suites: suites as SuiteName[], rows };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean' },
      only: { type: 'string' },
      rows: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** The sizes of a full or a quick run. */
export function contextFor(
  options: BenchOptions,
  workDir: URL,
  log: (message: string) => void,
): BenchContext {
  return options.quick
    ? {
        quick: true,
        ingestSizes: options.rows === undefined ? [10_000, 40_000] : [options.rows],
        overlapRowsPerFile: 5_000,
        baseRows: 20_000,
        importRuns: 3,
        apiSeconds: 3,
        workDir,
        log,
      }
    : {
        quick: false,
        ingestSizes: options.rows === undefined ? [100_000, 1_000_000] : [options.rows],
        overlapRowsPerFile: 50_000,
        baseRows: 100_000,
        importRuns: 7,
        apiSeconds: 10,
        workDir,
        log,
      };
}
