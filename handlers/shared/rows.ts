import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  CellRefusal,
  type CellValue,
  type ColumnSpec,
  type ColumnType,
  canonicalNumber,
  convertCell,
  type DatasetSchema,
  MAX_KEY_BYTES,
} from './dataset.js';
import { excerpt, type FileProblem } from './errors.js';

/**
 * Header validation and row → DynamoDB item conversion: pure functions shared by
 * the planner (which validates every row before anything is written) and the
 * loader (which converts the rows of one planned chunk).
 *
 * API (stable):
 *
 * ```ts
 * const header = validateHeader(record.fields, schema);   // once per file or chunk
 * if (!header.ok) ... header.problems                      // FileProblem[] with columns
 * const row = rowToItem(header.layout, record.fields, record.line);
 * if (row.ok) row.item  // Record<string, AttributeValue>: DynamoDB's wire form ({ N: "12.50" }, { S: … }, { BOOL: … })
 *             row.key   // identity of the key: equal exactly when DynamoDB sees the same key
 * else row.problems     // FileProblem[]: line, column, field, value excerpt, reason
 *
 * const check = checkRow(header.layout, record.fields, record.line); // same checks, no item
 * ```
 */

/** DynamoDB's maximum item size (400 KB), in bytes. */
export const MAX_ITEM_BYTES = 400 * 1024;

/** A validated header mapped onto the schema. */
export interface HeaderLayout {
  /** Header names after BOM strip and trim, in file order. */
  readonly header: readonly string[];
  /** For each header position, the column it fills, or undefined for an ignored unknown column. */
  readonly columns: readonly (ColumnSpec | undefined)[];
  /** Position of the key column in the header. */
  readonly keyPosition: number;
  readonly keyType: DatasetSchema['keyType'];
  /** UTF-8 byte length of each column's attribute name (it counts towards the item size). */
  readonly nameBytes: readonly number[];
}

export type HeaderResult =
  | { readonly ok: true; readonly layout: HeaderLayout }
  | { readonly ok: false; readonly problems: readonly FileProblem[] };

/**
 * A stored value in DynamoDB's own wire form, as the low-level client sends it: a
 * number is its exact decimal text (`N`), so 19-digit integers and 0.1 are stored as
 * written. The loader writes these as they are, with no marshalling per row.
 */
export type WireValue =
  | { readonly S: string; readonly N?: never; readonly BOOL?: never }
  | { readonly N: string; readonly S?: never; readonly BOOL?: never }
  | { readonly BOOL: boolean; readonly S?: never; readonly N?: never };

/** An item in DynamoDB's wire form, as the loader writes it (attribute name → AttributeValue). */
export type WireItem = Record<string, WireValue | AttributeValue>;

/**
 * The stored value of one converted cell of a column of type `type` (convertCell's
 * result: numbers as their exact decimal text, booleans as booleans, strings and
 * dates as text), in wire form. The one conversion of every CSV cell type to what
 * DynamoDB stores.
 */
export function wireValue(type: ColumnType, value: string | boolean): WireValue {
  if (typeof value === 'boolean') return wireBoolean(value);
  return type === 'number' || type === 'integer' ? { N: value } : { S: value };
}

const WIRE_TRUE: WireValue = Object.freeze({ BOOL: true });
const WIRE_FALSE: WireValue = Object.freeze({ BOOL: false });

/**
 * A boolean in wire form: one shared, frozen value for each, as a boolean carries
 * nothing of its row (an item in flight then holds one object fewer per boolean).
 */
export function wireBoolean(value: boolean): WireValue {
  return value ? WIRE_TRUE : WIRE_FALSE;
}

/**
 * A converted row's item, in DynamoDB's wire form whatever the file's format: a CSV
 * row's cells through wireValue, a JSON record's members through json-rows.ts
 * (wireValue for scalars, M and L for nested values). The loader writes it as it is.
 */
export type Item = WireItem;

/** A converted row. */
export interface ConvertedRow {
  readonly item: Item;
  /** Identity of the key, equal exactly when DynamoDB would see the same key ("7", "7.0" and "007" are one key). */
  readonly key: KeyIdentity;
  /** The item's size as DynamoDB counts it, in bytes. */
  readonly size: number;
}

/** A number for integer keys up to 15 digits (compact in a Map), else a canonical string. */
export type KeyIdentity = string | number;

export type RowResult =
  | { readonly ok: true; readonly row: ConvertedRow }
  | { readonly ok: false; readonly problems: readonly FileProblem[] };

const CR_IN_HEADER =
  'a carriage return (CR) inside the header: lines must end in LF or CRLF, not CR alone (save the file with LF or CRLF line ends)';
const CR_IN_ROW_HINT =
  ' (a field holds a carriage return (CR): if lines end in CR alone, save the file with LF or CRLF line ends)';

/**
 * Checks a header against the schema after trimming each name (csv-parse already
 * stripped the BOM): empty or duplicate names, unknown columns (rejected unless the
 * schema's `unknownColumns` is `ignore`), and missing required columns.
 */
export function validateHeader(
  fields: readonly string[],
  schema: DatasetSchema,
  line = 1,
): HeaderResult {
  const header = fields.map((name) => name.trim());
  // A file whose lines end in CR alone parses as one record (CR is data, not a line
  // break, outside quotes): say so once instead of listing its rows as bogus columns.
  const crAt = header.findIndex((name) => name.includes('\r'));
  if (crAt >= 0) {
    return { ok: false, problems: [{ line, column: crAt + 1, reason: CR_IN_HEADER }] };
  }
  const byName = new Map(schema.columns.map((column) => [column.name, column]));
  const problems: FileProblem[] = [];
  const firstPosition = new Map<string, number>();
  let listedExpected = false;
  const columns = header.map((name, index): ColumnSpec | undefined => {
    const column = index + 1;
    if (name === '') {
      problems.push({ line, column, reason: 'header name is empty' });
      return undefined;
    }
    const earlier = firstPosition.get(name);
    if (earlier !== undefined) {
      problems.push({
        line,
        column,
        field: excerpt(name),
        reason: `duplicate of column ${earlier}`,
      });
      return undefined;
    }
    firstPosition.set(name, column);
    const spec = byName.get(name);
    if (spec === undefined && schema.unknownColumns === 'reject') {
      const near = schema.columns.find((c) => c.name.toLowerCase() === name.toLowerCase());
      // The list of expected names is said once, on the first unknown column.
      const expected = listedExpected
        ? ''
        : `; expected ${schema.columns.map((c) => c.name).join(', ')}`;
      listedExpected = true;
      problems.push({
        line,
        column,
        field: excerpt(name),
        reason: `not a column of dataset "${schema.name}"${near ? ` (did you mean "${near.name}"?)` : ''}${expected}`,
      });
    }
    return spec;
  });
  for (const spec of schema.columns) {
    if (spec.required && !firstPosition.has(spec.name)) {
      problems.push({ line, field: spec.name, reason: 'required column is missing' });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    layout: {
      header,
      columns,
      keyPosition: header.indexOf(schema.key),
      keyType: schema.keyType,
      nameBytes: header.map(byteLength),
    },
  };
}

/**
 * Converts one record to a DynamoDB item in wire form with exact numbers (`N` keeps the
 * decimal text, so 19-digit integers and 0.1 round-trip), omitting empty optional
 * cells; or lists every problem in the row (field count, cells, key, item size).
 */
export function rowToItem(
  layout: HeaderLayout,
  fields: readonly string[],
  line: number,
  /** Bytes the loader adds to the item (its provenance attributes), counted against the limit. */
  extraBytes = 0,
): RowResult {
  const item: Item = {};
  const checked = convertRow(layout, fields, line, extraBytes, item);
  if (!checked.ok) return checked;
  return { ok: true, row: { item, key: checked.key, size: checked.size } };
}

/**
 * rowToItem for hot loops: converts the row into `item` (a fresh, empty object) and
 * returns its key and size, or its problems, with one result object per row instead
 * of two (the loader converts every row of a chunk this way).
 */
export function fillItem(
  item: Item,
  layout: HeaderLayout,
  fields: readonly string[],
  line: number,
  extraBytes = 0,
): RowCheck {
  return convertRow(layout, fields, line, extraBytes, item);
}

/** The outcome of checking a row without building its item. */
export type RowCheck =
  | { readonly ok: true; readonly key: KeyIdentity; readonly size: number }
  | { readonly ok: false; readonly problems: readonly FileProblem[] };

/**
 * Validates a row exactly as rowToItem does and returns its key and item size,
 * without building the item: the planner checks every row of a file this way.
 */
export function checkRow(
  layout: HeaderLayout,
  fields: readonly string[],
  line: number,
  extraBytes = 0,
  /**
   * The record's length in the file, in bytes. When given and the item surely fits
   * (see itemSizeBound), the cells' sizes are not counted and `size` is that bound.
   */
  recordBytes?: number,
): RowCheck {
  const bound =
    recordBytes === undefined ? undefined : itemSizeBound(layout, recordBytes, extraBytes);
  return convertRow(layout, fields, line, extraBytes, undefined, bound);
}

/**
 * An upper bound of the size of the item a record of `recordBytes` bytes makes: each
 * cell's UTF-8 bytes are at most its bytes in the record (quotes and `""` escapes only
 * add bytes there), a number's size is at most its text's length plus one, a boolean
 * takes 1 byte, plus every attribute name and the extra (provenance) bytes.
 */
export function itemSizeBound(layout: HeaderLayout, recordBytes: number, extraBytes = 0): number {
  let names = 0;
  for (const bytes of layout.nameBytes) names += bytes + 1;
  return recordBytes + names + extraBytes;
}

/**
 * Checks a row and, when `item` is given, fills it. With a `sizeBound` within the item
 * limit (and no item to fill), the cells' sizes are not counted: the row cannot be too
 * large, and the bound is its size.
 */
function convertRow(
  layout: HeaderLayout,
  fields: readonly string[],
  line: number,
  extraBytes: number,
  item: Item | undefined,
  sizeBound?: number,
): RowCheck {
  if (fields.length !== layout.header.length) {
    const blank = fields.length === 1 && fields[0] === '';
    return {
      ok: false,
      problems: [
        {
          line,
          reason: blank
            ? 'blank line (remove it)'
            : `expected ${layout.header.length} fields like the header, found ${fields.length}${
                fields.some((field) => field.includes('\r')) ? CR_IN_ROW_HINT : ''
              }`,
        },
      ],
    };
  }
  let problems: FileProblem[] | undefined;
  let size = 0;
  const counting = item !== undefined || sizeBound === undefined || sizeBound > MAX_ITEM_BYTES;
  let key: KeyIdentity | undefined;
  const { columns } = layout;
  for (let position = 0; position < columns.length; position++) {
    const spec = columns[position];
    if (spec === undefined) continue;
    // convertCell, not parseCell: no result object per cell (this runs for every cell of a file).
    const value = convertCell(spec, fields[position] ?? '');
    if (value instanceof CellRefusal) {
      problems ??= [];
      problems.push(cellProblem(line, fields, position, spec, value.reason));
      continue;
    }
    if (value === undefined) continue;
    // A number column's value is its exact decimal text.
    const numeric =
      typeof value === 'string' && (spec.type === 'number' || spec.type === 'integer');
    if (position === layout.keyPosition) {
      if (!numeric && typeof value === 'string' && byteLength(value) > MAX_KEY_BYTES) {
        problems ??= [];
        problems.push(
          cellProblem(line, fields, position, spec, `key is longer than ${MAX_KEY_BYTES} bytes`),
        );
        continue;
      }
      key = numeric ? numberKeyIdentity(value) : String(value);
    }
    if (item !== undefined) item[spec.name] = wireValue(spec.type, value);
    if (counting) {
      size += (layout.nameBytes[position] ?? 0) + (numeric ? numberSize(value) : valueSize(value));
    }
  }
  size = counting ? size + extraBytes : (sizeBound ?? 0);
  if (problems === undefined && size > MAX_ITEM_BYTES) {
    const extra = extraBytes > 0 ? ` (${extraBytes} of them for its provenance attributes)` : '';
    problems = [
      {
        line,
        reason: `item is ${size} bytes${extra}, over DynamoDB's ${MAX_ITEM_BYTES}-byte item limit`,
      },
    ];
  }
  if (problems !== undefined || key === undefined) return { ok: false, problems: problems ?? [] };
  return { ok: true, key, size };
}

/** The identity of a key value: equal exactly when DynamoDB would see the same key. */
export function keyIdentity(value: CellValue): KeyIdentity {
  if (typeof value !== 'object') return String(value);
  return numberKeyIdentity(value.number);
}

/** keyIdentity of a number given as its decimal text. */
function numberKeyIdentity(number: string): KeyIdentity {
  // Fast path for the common key: a plain integer below 10^15 is exact as a double
  // (leading zeros and -0 compare equal, as in DynamoDB).
  const small = smallInteger(number);
  if (small !== undefined) return small;
  const canonical = canonicalNumber(number) ?? number;
  // "dE<exp>" with d the significant digits: an integer below 10^15 is exact as a double.
  const match = /^(-?)(\d+)E(\d+)$/.exec(canonical);
  if (match) {
    const [, sign = '', digits = '', exponent = '0'] = match;
    const scale = Number(exponent) - digits.length + 1;
    if (scale >= 0 && Number(exponent) < 15) return Number(`${sign}${digits}e${scale}`);
  }
  return canonical === '0' ? 0 : canonical;
}

/**
 * The value of a `-?\d{1,15}` text, computed digit by
 * digit (exact: below 10^15 < 2^53), -0 as 0; undefined for any other text.
 */
function smallInteger(text: string): number | undefined {
  const negative = text.charCodeAt(0) === 0x2d;
  const from = negative ? 1 : 0;
  const length = text.length - from;
  if (length < 1 || length > 15) return undefined;
  let value = 0;
  for (let at = from; at < text.length; at++) {
    const digit = text.charCodeAt(at) - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return negative && value !== 0 ? -value : value;
}

/** A problem in one cell, on the physical line where the cell starts. */
function cellProblem(
  recordLine: number,
  fields: readonly string[],
  position: number,
  spec: ColumnSpec,
  reason: string,
): FileProblem {
  let line = recordLine;
  for (const field of fields.slice(0, position)) line += field.split('\n').length - 1;
  return {
    line,
    column: position + 1,
    field: spec.name,
    value: excerpt(fields[position] ?? ''),
    reason,
  };
}

function valueSize(value: string | boolean): number {
  return typeof value === 'string' ? byteLength(value) : 1;
}

/** A number's size as DynamoDB counts it, from its decimal text. */
export function numberSize(text: string): number {
  // DynamoDB: about one byte per two significant digits, plus one. Counting every
  // digit of the text (leading and trailing zeros too) errs on the large side.
  let digits = 0;
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code === 0x65 || code === 0x45) break; // e, E: the exponent does not count
    if (code >= 0x30 && code <= 0x39) digits++;
  }
  return Math.ceil(digits / 2) + 1;
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
