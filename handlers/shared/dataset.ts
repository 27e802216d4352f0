import { ConfigurationError, UnknownDatasetError } from './errors.js';
import { isRecord } from './guards.js';
import { RESERVED_ATTRIBUTES } from './provenance.js';

/**
 * The dataset schema: the one definition of what a file holds and how it maps to
 * DynamoDB. It lives in `cdk.json` context `dataset`; CDK passes it to every
 * handler as the `DATASET` environment variable and the local stack reads the
 * same context, so all parts agree by construction.
 */

/** Cell types a column can declare. */
export const COLUMN_TYPES = [
  'string',
  'number',
  'integer',
  'boolean',
  'date',
  'map',
  'list',
] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** Types the elements of a `list` column may be given (`items`). */
export const LIST_ITEM_TYPES = ['string', 'number', 'integer', 'boolean', 'date'] as const;

/** Types a key column may have (DynamoDB partition keys are S or N). */
export const KEY_COLUMN_TYPES = ['string', 'number', 'integer'] as const;

/** One column of the file and attribute of the item. */
export interface ColumnSpec {
  /** Header name, also the DynamoDB attribute name. */
  readonly name: string;
  readonly type: ColumnType;
  /** An empty cell in a required column is an error; in an optional one the attribute is omitted. */
  readonly required: boolean;
  /** Upper bound on the cell's length in characters (`string` columns only). */
  readonly maxLength?: number;
  /** Type of every element (`list` columns only; any JSON value when absent). */
  readonly items?: ColumnType;
}

/** File formats a dataset can accept (see handlers/shared/formats.ts). */
export const FILE_FORMATS = ['csv', 'jsonl', 'json'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

/** Column types only JSON files can fill (a CSV cell holds no nested value). */
export const NESTED_COLUMN_TYPES: readonly ColumnType[] = ['map', 'list'];

/** What to do with a header column the schema does not declare. */
export type UnknownColumnPolicy = 'reject' | 'ignore';

/** A validated dataset schema. */
export interface DatasetSchema {
  /** Resource name: the API path segment (`/books/...`) and the base of the table name. */
  readonly name: string;
  /** Name of the key column (the DynamoDB partition key). */
  readonly key: string;
  /** DynamoDB attribute type of the key. */
  readonly keyType: 'S' | 'N';
  readonly columns: readonly ColumnSpec[];
  /** Single-character field delimiter. @default ',' */
  readonly delimiter: string;
  /** @default 'reject' */
  readonly unknownColumns: UnknownColumnPolicy;
  /** File formats the dataset accepts, in the order given. @default ['csv', 'jsonl', 'json'] */
  readonly formats: readonly FileFormat[];
}

/** DynamoDB's limit on a partition key value, in bytes. */
export const MAX_KEY_BYTES = 2048;
/** DynamoDB's number precision, in significant digits. */
export const MAX_NUMBER_DIGITS = 38;

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,254}$/;
const RESOURCE_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * Validates a raw dataset definition (parsed JSON) and returns the typed schema.
 * Throws one ConfigurationError that lists every problem found.
 */
export function parseDataset(raw: unknown, source = 'dataset schema'): DatasetSchema {
  const problems: string[] = [];
  if (!isRecord(raw)) {
    throw new ConfigurationError(source, ['must be an object with name, key and columns']);
  }
  const known = new Set([
    'name',
    'key',
    'columns',
    'delimiter',
    'unknownColumns',
    'formats',
    'description',
  ]);
  for (const field of Object.keys(raw)) {
    if (!known.has(field)) problems.push(`unknown field "${field}"`);
  }

  const name = raw.name;
  if (typeof name !== 'string' || !RESOURCE_PATTERN.test(name)) {
    problems.push('name must be lower-case letters, digits and dashes, starting with a letter');
  }

  const columns: ColumnSpec[] = [];
  if (!Array.isArray(raw.columns) || raw.columns.length === 0) {
    problems.push('columns must be a non-empty array');
  } else {
    const seen = new Set<string>();
    raw.columns.forEach((column: unknown, index: number) => {
      const parsed = parseColumn(column, `columns[${index}]`, problems);
      if (!parsed) return;
      if (seen.has(parsed.name))
        problems.push(`columns[${index}]: duplicate column "${parsed.name}"`);
      if (RESERVED_ATTRIBUTES.includes(parsed.name)) {
        problems.push(
          `columns[${index}]: "${parsed.name}" is reserved for provenance (every item carries ${RESERVED_ATTRIBUTES.join(', ')}); rename the column`,
        );
      }
      seen.add(parsed.name);
      columns.push(parsed);
    });
  }

  const key = raw.key;
  let keyType: 'S' | 'N' = 'S';
  if (typeof key !== 'string' || key === '') {
    problems.push('key must name one of the columns');
  } else {
    const keyColumn = columns.find((column) => column.name === key);
    if (!keyColumn) {
      problems.push(`key "${key}" is not one of the columns`);
    } else {
      if (!(KEY_COLUMN_TYPES as readonly string[]).includes(keyColumn.type)) {
        problems.push(`key column "${key}" must be of type ${KEY_COLUMN_TYPES.join(', ')}`);
      }
      if (!keyColumn.required) problems.push(`key column "${key}" must be required`);
      keyType = keyColumn.type === 'string' ? 'S' : 'N';
    }
  }

  const delimiter = raw.delimiter ?? ',';
  if (typeof delimiter !== 'string' || [...delimiter].length !== 1 || /["\r\n]/.test(delimiter)) {
    problems.push('delimiter must be a single character other than a quote or a line break');
  }

  const unknownColumns = raw.unknownColumns ?? 'reject';
  if (unknownColumns !== 'reject' && unknownColumns !== 'ignore') {
    problems.push('unknownColumns must be "reject" or "ignore"');
  }

  const formats = parseFormats(raw.formats, columns, problems);

  if (problems.length > 0) throw new ConfigurationError(source, problems);
  return {
    name: name as string,
    key: key as string,
    keyType,
    columns,
    delimiter: delimiter as string,
    unknownColumns: unknownColumns as UnknownColumnPolicy,
    formats,
  };
}

/** The `formats` setting: a non-empty list of distinct formats (all of them by default). */
function parseFormats(
  raw: unknown,
  columns: readonly ColumnSpec[],
  problems: string[],
): FileFormat[] {
  if (raw === undefined) return [...FILE_FORMATS];
  const valid = Array.isArray(raw) && raw.length > 0;
  const formats = valid
    ? raw.filter((format): format is FileFormat =>
        (FILE_FORMATS as readonly unknown[]).includes(format),
      )
    : [];
  if (!valid || formats.length !== raw.length || new Set(formats).size !== formats.length) {
    problems.push(
      `formats must be a non-empty list of distinct formats among ${FILE_FORMATS.join(', ')}`,
    );
    return [];
  }
  const nested = columns.find((column) => NESTED_COLUMN_TYPES.includes(column.type));
  if (nested !== undefined && formats.length === 1 && formats[0] === 'csv') {
    problems.push(
      `column "${nested.name}" is of type ${nested.type}, which only JSON files can fill, but formats is [csv]`,
    );
  }
  return formats;
}

function parseColumn(raw: unknown, where: string, problems: string[]): ColumnSpec | undefined {
  if (!isRecord(raw)) {
    problems.push(`${where}: must be an object with name and type`);
    return undefined;
  }
  const { name, type, required = false, maxLength, items } = raw;
  const before = problems.length;
  for (const field of Object.keys(raw)) {
    if (!['name', 'type', 'required', 'maxLength', 'items', 'description'].includes(field)) {
      problems.push(`${where}: unknown field "${field}"`);
    }
  }
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    problems.push(`${where}: name must start with a letter or _ and use letters, digits, _ . -`);
  }
  if (typeof type !== 'string' || !(COLUMN_TYPES as readonly string[]).includes(type)) {
    problems.push(`${where}: type must be one of ${COLUMN_TYPES.join(', ')}`);
  }
  if (typeof required !== 'boolean') problems.push(`${where}: required must be true or false`);
  if (maxLength !== undefined) {
    if (type !== 'string') problems.push(`${where}: maxLength applies to string columns only`);
    if (typeof maxLength !== 'number' || !Number.isInteger(maxLength) || maxLength < 1) {
      problems.push(`${where}: maxLength must be a positive integer`);
    }
  }
  if (items !== undefined) {
    if (type !== 'list') problems.push(`${where}: items applies to list columns only`);
    if (typeof items !== 'string' || !(LIST_ITEM_TYPES as readonly string[]).includes(items)) {
      problems.push(`${where}: items must be one of ${LIST_ITEM_TYPES.join(', ')}`);
    }
  }
  if (problems.length > before) return undefined;
  return {
    name: name as string,
    type: type as ColumnType,
    required: required as boolean,
    ...(maxLength === undefined ? {} : { maxLength: maxLength as number }),
    ...(items === undefined ? {} : { items: items as ColumnType }),
  };
}

/** The key column of a schema. */
export function keyColumn(schema: DatasetSchema): ColumnSpec {
  const column = schema.columns.find((candidate) => candidate.name === schema.key);
  if (!column) throw new ConfigurationError('dataset schema', [`key "${schema.key}" not found`]);
  return column;
}

/**
 * Validates a list of dataset definitions (each as parseDataset takes it) and returns
 * the typed schemas in order. Throws one ConfigurationError listing every problem of
 * every dataset, each prefixed with the dataset's place (`[1] (authors): ...`), plus
 * the problems of the list itself (empty, duplicate names).
 */
export function parseDatasets(raw: unknown, source = 'datasets'): DatasetSchema[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new ConfigurationError(source, [
      'must be a non-empty array of dataset schemas (each with name, key and columns)',
    ]);
  }
  const problems: string[] = [];
  const schemas: DatasetSchema[] = [];
  const places = new Map<string, number>();
  raw.forEach((definition: unknown, index) => {
    const name =
      isRecord(definition) && typeof definition.name === 'string' ? definition.name : undefined;
    const where = `[${index}]${name === undefined ? '' : ` (${name})`}`;
    if (name !== undefined) {
      const first = places.get(name);
      if (first !== undefined) {
        problems.push(
          `${where}: duplicate dataset name "${name}" (also [${first}]): the name is the key prefix, the API path and the table, so each must be unique`,
        );
      } else {
        places.set(name, index);
      }
    }
    try {
      schemas.push(parseDataset(definition, `${source}${where}`));
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      problems.push(...error.problems.map((problem) => `${where}: ${problem}`));
    }
  });
  if (problems.length > 0) throw new ConfigurationError(source, problems);
  return schemas;
}

/**
 * The dataset an object key belongs to: the one named by the key's first segment
 * (`books/2026/x.csv` → `books`); with exactly one dataset, every key belongs to it,
 * prefixed or not (a single-dataset deployment loads unprefixed keys as before).
 * Undefined when the key names no dataset.
 */
export function datasetOfKey<T extends { readonly name: string }>(
  key: string,
  datasets: readonly T[],
): T | undefined {
  const slash = key.indexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const named = datasets.find((dataset) => dataset.name === prefix);
  if (named !== undefined) return named;
  return datasets.length === 1 ? datasets[0] : undefined;
}

/**
 * The dataset of an object key (see datasetOfKey), or UnknownDatasetError naming the
 * key, why it names none and the known datasets.
 */
export function routeKey(key: string, datasets: readonly DatasetSchema[]): DatasetSchema {
  const found = datasetOfKey(key, datasets);
  if (found !== undefined) return found;
  const known = datasets.map((dataset) => `"${dataset.name}"`).join(', ');
  const slash = key.indexOf('/');
  const why =
    slash === -1
      ? 'it has no prefix, and with several datasets the first segment of the key must name one'
      : `its first segment "${key.slice(0, slash)}" is not a dataset`;
  throw new UnknownDatasetError(
    `The object key "${key}" names no known dataset: ${why}. Known datasets: ${known}. Upload the file under "<dataset>/", for example "${datasets[0]?.name ?? 'books'}/${key.slice(slash + 1)}".`,
  );
}

/**
 * The schema of the dataset `name` (a plan's `dataset`), or UnknownDatasetError when
 * this deployment has no such dataset (its configuration changed since the plan).
 */
export function findDataset(name: string, datasets: readonly DatasetSchema[]): DatasetSchema {
  const found = datasets.find((dataset) => dataset.name === name);
  if (found !== undefined) return found;
  throw new UnknownDatasetError(
    `The plan names dataset "${name}", which this deployment does not have (known datasets: ${datasets.map((dataset) => `"${dataset.name}"`).join(', ')}); was the configuration changed while the file was loading? Redrive the failure record.`,
  );
}

/**
 * A converted cell: `string` for string and date columns, `boolean`, or a
 * `{ number: text }` holding the exact decimal text of a number (never a float,
 * so 19-digit integers and 0.1 keep their exact value).
 */
export type CellValue = string | boolean | ExactNumber;

/** The exact decimal text of a number, as DynamoDB stores it. */
export interface ExactNumber {
  readonly number: string;
}

/** The outcome of converting one cell. `value` is undefined for an empty optional cell. */
export type CellResult =
  | { readonly ok: true; readonly value: CellValue | undefined }
  | { readonly ok: false; readonly reason: string };

const TRUE_WORDS = new Set(['true', 'yes', '1']);
const FALSE_WORDS = new Set(['false', 'no', '0']);

/**
 * Converts one raw cell to its typed value, or explains why it cannot be.
 * Strings are kept verbatim; other types ignore surrounding whitespace. A cell
 * that is empty or whitespace only is "empty".
 */
export function parseCell(column: ColumnSpec, raw: string): CellResult {
  const value = convertCell(column, raw);
  if (value instanceof CellRefusal) return { ok: false, reason: value.reason };
  if (typeof value === 'string' && (column.type === 'number' || column.type === 'integer')) {
    return { ok: true, value: { number: value } };
  }
  return { ok: true, value };
}

/** Why a cell cannot be converted (returned by convertCell, never thrown). */
export class CellRefusal {
  constructor(readonly reason: string) {}
}

/**
 * parseCell for hot loops: the same checks and outcome without the result object.
 * Returns the cell's value with numbers as their exact decimal text (a string, the
 * column's type says what it is), undefined for an empty optional cell, or a
 * CellRefusal. Allocates nothing for a valid cell but the trimmed text, if trimmed.
 */
export function convertCell(
  column: ColumnSpec,
  raw: string,
): string | boolean | undefined | CellRefusal {
  // Most cells have no surrounding whitespace: skip trim's call then.
  const trimmed = hasEdgeWhitespace(raw) ? raw.trim() : raw;
  if (trimmed === '') {
    return column.required ? REQUIRED_EMPTY : undefined;
  }
  switch (column.type) {
    case 'string': {
      const { maxLength } = column;
      // UTF-16 length bounds the character count from above: count only when needed.
      if (maxLength !== undefined && raw.length > maxLength && codePointLength(raw) > maxLength) {
        return new CellRefusal(`longer than ${maxLength} characters`);
      }
      return raw;
    }
    case 'number':
    case 'integer': {
      const integer = column.type === 'integer';
      const digits = scanNumber(trimmed, integer);
      if (digits === NOT_DECIMAL) return integer ? NOT_INTEGER : NOT_NUMBER;
      // Up to 38 digits without an exponent always fit (|exponent| ≤ 38): only others need the full check.
      if (digits > MAX_NUMBER_DIGITS && canonicalNumber(trimmed) === undefined) return OUT_OF_RANGE;
      return trimmed;
    }
    case 'boolean': {
      const word = trimmed.toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      return NOT_BOOLEAN;
    }
    case 'date': {
      if (!isIsoDate(trimmed)) return NOT_DATE;
      return trimmed;
    }
    case 'map':
    case 'list':
      return NESTED_IN_CSV;
  }
}

// Refusals without a variable part are shared: a file full of bad cells allocates no reasons.
const REQUIRED_EMPTY = new CellRefusal('required value is empty');
const NOT_INTEGER = new CellRefusal('not an integer');
const NOT_NUMBER = new CellRefusal('not a number');
const OUT_OF_RANGE = new CellRefusal(
  `outside DynamoDB's number range (${MAX_NUMBER_DIGITS} significant digits, 1E-130 to 1E+126)`,
);
const NOT_BOOLEAN = new CellRefusal('not a boolean (true/false, yes/no, 1/0)');
const NOT_DATE = new CellRefusal('not a date (YYYY-MM-DD)');
const NESTED_IN_CSV = new CellRefusal(
  'a map or list column is filled by JSON files only: a CSV cell cannot hold one (leave it empty, or load the file as JSON)',
);

/** True when the first or last character is one String.prototype.trim removes. */
function hasEdgeWhitespace(text: string): boolean {
  if (text.length === 0) return false;
  return isTrimmable(text.charCodeAt(0)) || isTrimmable(text.charCodeAt(text.length - 1));
}

/** Characters String.prototype.trim removes: ECMAScript WhiteSpace and LineTerminator. */
function isTrimmable(code: number): boolean {
  if (code > 0x20 && code < 0xa0) return false;
  return (
    (code >= 0x09 && code <= 0x0d) ||
    code === 0x20 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/** Number of Unicode code points (what `[...text].length` counts), without building an array. */
function codePointLength(text: string): number {
  let count = 0;
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at);
    // A high surrogate followed by a low one is one code point; a lone surrogate counts alone.
    if (code >= 0xd800 && code <= 0xdbff && at + 1 < text.length) {
      const next = text.charCodeAt(at + 1);
      if (next >= 0xdc00 && next <= 0xdfff) at++;
    }
    count++;
  }
  return count;
}

/** scanNumber's answer for text that is not a decimal number. */
const NOT_DECIMAL = -1;

/**
 * Matches `text` against the number grammar `-?\d+(\.\d+)?([eE][+-]?\d+)?` (only
 * `-?\d+` when `integer`) in one pass, without a regular expression. Returns
 * NOT_DECIMAL when it does not match, else its digit count, or Infinity when it has
 * an exponent (its range then needs canonicalNumber's full check).
 */
function scanNumber(text: string, integer: boolean): number {
  const length = text.length;
  let at = text.charCodeAt(0) === 0x2d ? 1 : 0; // '-'
  const wholeStart = at;
  while (at < length && isDigit(text.charCodeAt(at))) at++;
  if (at === wholeStart) return NOT_DECIMAL;
  let digits = at - wholeStart;
  if (at === length) return digits;
  if (integer) return NOT_DECIMAL;
  if (text.charCodeAt(at) === 0x2e) {
    // '.': at least one digit must follow
    const fractionStart = ++at;
    while (at < length && isDigit(text.charCodeAt(at))) at++;
    if (at === fractionStart) return NOT_DECIMAL;
    digits += at - fractionStart;
    if (at === length) return digits;
  }
  const marker = text.charCodeAt(at);
  if (marker !== 0x65 && marker !== 0x45) return NOT_DECIMAL; // e, E
  at++;
  const sign = text.charCodeAt(at);
  if (sign === 0x2b || sign === 0x2d) at++; // '+', '-'
  const exponentStart = at;
  while (at < length && isDigit(text.charCodeAt(at))) at++;
  return at > exponentStart && at === length ? Number.POSITIVE_INFINITY : NOT_DECIMAL;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** YYYY-MM-DD naming a real day of the proleptic Gregorian calendar, years 0000 to 9999. */
function isIsoDate(text: string): boolean {
  if (text.length !== 10 || text.charCodeAt(4) !== 0x2d || text.charCodeAt(7) !== 0x2d)
    return false;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  return year >= 0 && month >= 0 && day >= 0 && isCalendarDate(year, month, day);
}

/** The value of `length` ASCII digits at `from`, or -1 if any is not a digit. */
function digitsAt(text: string, from: number, length: number): number {
  let value = 0;
  for (let at = from; at < from + length; at++) {
    const digit = text.charCodeAt(at) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * The canonical form of a decimal number's text, equal for every spelling of the
 * same value ("007", "7.0", "0.7e1" → "7E0"), or undefined when DynamoDB cannot
 * store it. Used to compare keys the way DynamoDB does.
 */
export function canonicalNumber(text: string): string | undefined {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const [, sign = '', whole = '', fraction = '', exponentText = '0'] = match;
  const allDigits = whole + fraction;
  const firstNonZero = allDigits.search(/[1-9]/);
  if (firstNonZero === -1) return '0';
  const significant = allDigits.slice(firstNonZero).replace(/0+$/, '');
  if (significant.length > MAX_NUMBER_DIGITS) return undefined;
  // Value = 0.d1d2... × 10^(position of the first significant digit relative to the point).
  const exponent = Number(exponentText) + whole.length - firstNonZero - 1;
  if (exponent > 125 || exponent < -130) return undefined;
  return `${sign}${significant}E${exponent}`;
}

/** The canonical identity of a key cell, equal whenever DynamoDB would see the same key. */
export function canonicalKey(value: CellValue): string {
  if (typeof value === 'object') return canonicalNumber(value.number) ?? value.number;
  return String(value);
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  // Plain arithmetic, not Date.UTC: that maps years 0–99 to 1900–1999.
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return day <= (month === 2 ? (leap ? 29 : 28) : (DAYS_IN_MONTH[month - 1] ?? 0));
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;
