import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ColumnSpec, DatasetSchema } from '../handlers/shared/dataset.js';
import { CDK_JSON_PATH, loadAppConfig } from '../infra/config.js';
import { datasetNamed, datasetsContext } from './cli/datasets.js';

/**
 * Deterministic synthetic CSV files for tests, benchmarks and the local CLI: the
 * same options always produce the same bytes. Values follow the dataset schema's
 * column types, keys are unique (unless `duplicateEvery` repeats some on purpose),
 * and text cells regularly need RFC 4180 quoting (commas, quotes, line breaks) and
 * hold non-ASCII characters, so generated files exercise the whole parser.
 *
 * Run it: `npm run generate -- <rows> <file> [--dataset d] [--datasets file] [--seed N] [--lf] [--bom] [--duplicate-every N]`
 */

/** The arguments of `npm run generate --` and `npm run cli -- generate`. */
const GENERATE_ARGS =
  '<rows> <file> [--dataset d] [--datasets file] [--seed N] [--lf] [--bom] [--duplicate-every N]';

/** What to generate. */
export interface GenerateOptions {
  /** Data rows to write (the header comes on top). */
  readonly rows: number;
  /** PRNG seed. @default 1 */
  readonly seed?: number;
  /** Dataset schema whose columns are generated. @default cdk.json's dataset, when it has one only */
  readonly schema?: DatasetSchema;
  /** Line break after every record. @default '\r\n' (RFC 4180) */
  readonly lineEnding?: '\r\n' | '\n';
  /** Start with a UTF-8 byte order mark. @default false */
  readonly bom?: boolean;
  /** Every Nth row reuses the key of an earlier row (to exercise "last occurrence wins"). @default 0 (never) */
  readonly duplicateEvery?: number;
  /** Leave the last record without a line break. @default false */
  readonly noFinalLineBreak?: boolean;
  /** Row number of the first key, so two files can share part of their keys. @default 0 */
  readonly keyOffset?: number;
}

/** What was written. */
export interface GenerateResult {
  readonly rows: number;
  readonly bytes: number;
  /** Rows whose key repeats an earlier row's key. */
  readonly duplicates: number;
}

const WORDS = [
  'river',
  'stone',
  'garden',
  'night',
  'letters',
  'winter',
  'harbour',
  'empire',
  'silence',
  'orchard',
  'mirror',
  'voyage',
  'lantern',
  'salt',
  'thunder',
  'archive',
  'meadow',
  'compass',
  'ember',
  'tide',
];
const NAMES = [
  'Ada Lovelace',
  'José Saramago',
  'Wisława Szymborska',
  'Chinua Achebe',
  'Haruki Murakami',
  'Gabriel García Márquez',
  'Ngũgĩ wa Thiong’o',
  'Selma Lagerlöf',
  'Orhan Pamuk',
  'Zoë Heller',
  'Fyodor Dostoevsky (Фёдор Достоевский)',
  'Lu Xun (鲁迅)',
  'Naguib Mahfouz (نجيب محفوظ)',
];
const LANGUAGES = ['en', 'fr', 'de', 'es', 'pt', 'ja', 'zh', 'ar', 'pl', 'sv'];

/** Writes `options.rows` rows plus a header to `output`, honouring backpressure; does not end it. */
export async function generateCsv(
  options: GenerateOptions,
  output: Writable,
): Promise<GenerateResult> {
  const schema = options.schema ?? datasetSchema();
  const random = mulberry32(options.seed ?? 1);
  const eol = options.lineEnding ?? '\r\n';
  const delimiter = schema.delimiter;
  const lines: string[] = [];
  let bytes = 0;
  let duplicates = 0;
  const flush = async () => {
    const text = lines.join('');
    lines.length = 0;
    bytes += Buffer.byteLength(text);
    if (!output.write(text)) await once(output, 'drain');
  };

  const header = schema.columns.map((column) => quote(column.name, delimiter)).join(delimiter);
  lines.push(`${options.bom ? '\uFEFF' : ''}${header}${options.rows > 0 ? eol : ''}`);
  for (let row = 0; row < options.rows; row++) {
    const repeat = options.duplicateEvery && row > 0 && row % options.duplicateEvery === 0;
    if (repeat) duplicates++;
    // A repeated row reuses the key of a row a little earlier, often in another chunk.
    let keyRow = repeat ? Math.floor(random() * row) : row;
    // Repeated rows do not carry their own key: step back to one that does (with
    // duplicateEvery 1, only row 0 does).
    while (repeat && keyRow > 0 && keyRow % (options.duplicateEvery ?? 1) === 0) keyRow--;
    const cells = schema.columns.map((column) =>
      quote(
        column.name === schema.key
          ? keyValue(column, keyRow + (options.keyOffset ?? 0))
          : cellValue(column, random),
        delimiter,
      ),
    );
    const last = row === options.rows - 1;
    lines.push(cells.join(delimiter) + (last && options.noFinalLineBreak ? '' : eol));
    if (lines.length >= 512) await flush();
  }
  await flush();
  return { rows: options.rows, bytes, duplicates };
}

/**
 * The schema of the dataset `name` among `datasets` (cdk.json's `datasets`, or its
 * `dataset` alone), or of the only one when `name` is not given; a UsageError naming
 * the datasets otherwise.
 */
export function datasetSchema(
  name?: string,
  datasets: readonly DatasetSchema[] = loadAppConfig().datasets,
): DatasetSchema {
  return datasetNamed({ datasets }, name);
}

/**
 * The schema a generate command line asks for: `--dataset` among cdk.json's datasets,
 * or among those of the `--datasets` file (as `npm start -- --datasets` runs with).
 */
export async function requestedSchema(args: {
  readonly dataset?: string;
  readonly datasetsFile?: string;
}): Promise<DatasetSchema> {
  const context = args.datasetsFile === undefined ? {} : await datasetsContext(args.datasetsFile);
  return datasetSchema(args.dataset, loadAppConfig(CDK_JSON_PATH, context).datasets);
}

/**
 * Generates `options` into `file`, all or nothing: the rows go to a temporary file
 * beside it, renamed to `file` once complete, so a failure (a full disk, Ctrl-C)
 * never leaves a half-written file under the name asked for.
 */
export async function writeGeneratedFile(
  file: string,
  options: GenerateOptions,
): Promise<GenerateResult> {
  const partial = `${file}.${process.pid}.partial`;
  const output = createWriteStream(partial);
  const failed = new Promise<never>((_, reject) => output.once('error', reject));
  try {
    const result = await Promise.race([generateCsv(options, output), failed]);
    output.end();
    await Promise.race([once(output, 'finish'), failed]);
    await rename(partial, file);
    return result;
  } catch (error) {
    output.destroy();
    await rm(partial, { force: true });
    throw error;
  }
}

function keyValue(column: ColumnSpec, row: number): string {
  if (column.type === 'string') return `key-${String(row).padStart(9, '0')}`;
  // ISBN-13 shaped for the books dataset; unique per row for up to 10^9 rows.
  return `978${String(row).padStart(10, '0')}`;
}

function cellValue(column: ColumnSpec, random: () => number): string {
  if (!column.required && random() < 0.1) return '';
  switch (column.type) {
    case 'string':
      return text(column, random);
    case 'integer':
      return String(Math.floor(random() * 2100));
    case 'number':
      // Two decimals, sometimes with many digits, to exercise exact numbers.
      return random() < 0.05
        ? `${Math.floor(random() * 1e9)}${Math.floor(random() * 1e9)}.${Math.floor(random() * 100)}`
        : (random() * 200).toFixed(2);
    case 'boolean':
      return random() < 0.5 ? 'true' : 'false';
    case 'date': {
      const day = new Date(Date.UTC(1900, 0, 1) + Math.floor(random() * 45_000) * 86_400_000);
      return day.toISOString().slice(0, 10);
    }
    case 'map':
    case 'list':
      // A CSV cell cannot hold a nested value: such columns stay empty in CSV.
      return '';
  }
}

function text(column: ColumnSpec, random: () => number): string {
  if (column.name === 'language') return pick(LANGUAGES, random);
  if (column.name === 'author') return pick(NAMES, random);
  const words = Array.from({ length: 1 + Math.floor(random() * 5) }, () => pick(WORDS, random));
  const roll = random();
  let value = words.join(' ');
  if (roll < 0.1) value = `${words[0]}, ${value}`;
  else if (roll < 0.15) value = `The "${value}"`;
  else if (roll < 0.18) value = `${value}\nvolume ${Math.floor(random() * 9) + 1}`;
  else if (roll < 0.25) value = `${value} — ${pick(NAMES, random)}`;
  value = value.charAt(0).toUpperCase() + value.slice(1);
  return column.maxLength === undefined ? value : [...value].slice(0, column.maxLength).join('');
}

function quote(value: string, delimiter: string): string {
  return /["\r\n]/.test(value) || value.includes(delimiter)
    ? `"${value.replaceAll('"', '""')}"`
    : value;
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** A small, fast, seedable PRNG (deterministic across platforms). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Parses GENERATE_ARGS; `dataset` and `datasetsFile` are what --dataset and --datasets gave. */
export function parseGenerateArgs(args: readonly string[]): GenerateOptions & {
  readonly file: string;
  readonly dataset?: string;
  readonly datasetsFile?: string;
} {
  const positional: string[] = [];
  let dataset: string | undefined;
  let datasetsFile: string | undefined;
  let seed = 1;
  let duplicateEvery = 0;
  let lineEnding: '\r\n' | '\n' = '\r\n';
  let bom = false;
  for (let at = 0; at < args.length; at++) {
    const arg = args[at] ?? '';
    if (arg === '--seed' || arg === '--duplicate-every') {
      const value = Number(args[++at]);
      if (!Number.isInteger(value) || value < 0) throw new Error(`${arg} needs a whole number`);
      if (arg === '--seed') seed = value;
      else duplicateEvery = value;
    } else if (arg === '--dataset' || arg === '--datasets') {
      const value = args[++at];
      if (value === undefined || value.startsWith('--')) {
        throw new Error(
          arg === '--dataset'
            ? '--dataset needs the name of a dataset'
            : '--datasets needs a file of dataset schemas',
        );
      }
      if (arg === '--dataset') dataset = value;
      else datasetsFile = value;
    } else if (arg === '--lf') lineEnding = '\n';
    else if (arg === '--bom') bom = true;
    else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}`);
    else positional.push(arg);
  }
  const [rowsText, file] = positional;
  const rows = Number(rowsText);
  if (positional.length !== 2 || !Number.isInteger(rows) || rows < 0 || file === undefined) {
    throw new Error(`usage: npm run generate -- ${GENERATE_ARGS}`);
  }
  return {
    rows,
    file,
    seed,
    duplicateEvery,
    lineEnding,
    bom,
    ...(dataset === undefined ? {} : { dataset }),
    ...(datasetsFile === undefined ? {} : { datasetsFile }),
  };
}

async function main(args: readonly string[]): Promise<void> {
  const { file, dataset, datasetsFile, ...options } = parseGenerateArgs(args);
  const schema = await requestedSchema({ dataset, datasetsFile });
  const result = await writeGeneratedFile(file, { ...options, schema });
  process.stdout.write(
    `${file}: ${result.rows} rows of dataset "${schema.name}", ${result.bytes} bytes, ${result.duplicates} repeated keys (seed ${options.seed})\n`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
