import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { NumberValue } from '@aws-sdk/lib-dynamodb';
import {
  CellRefusal,
  type ColumnSpec,
  canonicalNumber,
  convertCell,
  type DatasetSchema,
  MAX_KEY_BYTES,
  MAX_NUMBER_DIGITS,
} from './dataset.js';
import { excerpt, type FileProblem } from './errors.js';
import { type JsonRecord, placeIn } from './json-records.js';
import {
  describeJsonValue,
  isJsonObject,
  JsonNumber,
  type JsonObject,
  type JsonValue,
  jsonValueEnd,
  parseJson,
  pathStep,
} from './json-value.js';
import {
  type Item,
  type KeyIdentity,
  keyIdentity,
  MAX_ITEM_BYTES,
  numberSize,
  type RowCheck,
  type RowResult,
  wireBoolean,
} from './rows.js';

/**
 * JSON record → DynamoDB item, against the same dataset schema as CSV rows: the
 * members are the columns; the planner validates every record this way before
 * anything is written and the loader converts the records of one chunk.
 *
 * Rules (README "File format and schema"):
 * - `null`, a missing member, and an empty or blank string are an empty cell: an
 *   error in a required column, omitted in an optional one.
 * - number and integer columns take a JSON number, kept as its exact text; or a
 *   string that spells a number (`"1999"`, the number grammar of CSV cells, no
 *   spaces around it), stored as that number. Any other string is an error.
 * - string and date columns take a JSON string; boolean columns take true or false.
 * - map columns take an object, list columns an array (of `items` when the column
 *   says so), stored as DynamoDB M and L with exact numbers inside; a nested value
 *   in any other column is an error.
 * - members that are not columns follow `unknownColumns`.
 */

/** A value as lib-dynamodb stores it: numbers as NumberValue (exact text). */
export type StoredValue =
  | string
  | boolean
  | null
  | NumberValue
  | StoredValue[]
  | { [name: string]: StoredValue };

/** DynamoDB's limit on nesting in a document attribute. */
export const MAX_DOCUMENT_DEPTH = 32;

/** The schema as the JSON converter uses it. */
export interface JsonLayout {
  readonly schema: DatasetSchema;
  readonly columns: ReadonlyMap<string, ColumnSpec>;
  /** Per column of the schema, in order: its spec, JSON path step and name's UTF-8 bytes. */
  readonly members: readonly {
    readonly spec: ColumnSpec;
    readonly path: string;
    readonly nameBytes: number;
    readonly key: boolean;
    readonly numeric: boolean;
  }[];
}

/** The layout of a schema for JSON records (once per file or chunk). */
export function jsonLayout(schema: DatasetSchema): JsonLayout {
  return {
    schema,
    columns: new Map(schema.columns.map((column) => [column.name, column])),
    members: schema.columns.map((spec) => ({
      spec,
      path: pathStep(spec.name),
      nameBytes: Buffer.byteLength(spec.name),
      key: spec.name === schema.key,
      numeric: spec.type === 'number' || spec.type === 'integer',
    })),
  };
}

/** Converts one JSON record to an item, or lists every problem in it with its place. */
export function jsonRecordToItem(
  layout: JsonLayout,
  record: JsonRecord,
  extraBytes = 0,
): RowResult {
  const item: Item = {};
  const checked = convertRecord(layout, record, extraBytes, item);
  if (!checked.ok) return checked;
  return { ok: true, row: { item, key: checked.key, size: checked.size } };
}

/**
 * jsonRecordToItem for hot loops: converts the record into `item` (a fresh, empty
 * object) and returns its key and size, or its problems, with one result object per
 * record instead of two (the loader converts every record of a chunk this way).
 */
export function fillJsonItem(
  item: Item,
  layout: JsonLayout,
  record: JsonRecord,
  extraBytes = 0,
): RowCheck {
  return convertRecord(layout, record, extraBytes, item);
}

/** Validates a record exactly as jsonRecordToItem does, without building the item. */
export function checkJsonRecord(layout: JsonLayout, record: JsonRecord, extraBytes = 0): RowCheck {
  return convertRecord(layout, record, extraBytes, undefined);
}

/**
 * The stored form of a JSON value: objects → M, arrays → L, numbers → N with their
 * exact text, strings, booleans, null. Throws a ValueProblem (with the relative
 * path) when DynamoDB cannot store it.
 */
export function toStoredValue(value: JsonValue, path = '', depth = 1): StoredValue {
  if (value instanceof JsonNumber) return NumberValue.from(exactNumber(value.text, path));
  if (typeof value !== 'object' || value === null) return value;
  if (depth > MAX_DOCUMENT_DEPTH) {
    throw new ValueProblem(path, `nested deeper than DynamoDB's ${MAX_DOCUMENT_DEPTH} levels`);
  }
  if (Array.isArray(value))
    return value.map((element, index) => toStoredValue(element, `${path}[${index}]`, depth + 1));
  const stored: { [name: string]: StoredValue } = {};
  for (const name of Object.keys(value)) {
    if (name === '')
      throw new ValueProblem(
        path,
        'an empty member name: DynamoDB map keys need at least one character',
      );
    const inner = toStoredValue(value[name] as JsonValue, path + pathStep(name), depth + 1);
    Object.defineProperty(stored, name, {
      value: inner,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return stored;
}

/**
 * A stored value in DynamoDB's wire form, as the loader writes it: strings S,
 * booleans BOOL, null NULL, numbers N with their exact text, arrays L, objects M
 * (member names kept as they are, `__proto__` included).
 */
export function wireOf(value: StoredValue): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'boolean') return wireBoolean(value);
  if (value === null) return { NULL: true };
  if (value instanceof NumberValue) return { N: value.value };
  if (Array.isArray(value)) return { L: value.map(wireOf) };
  const map: Record<string, AttributeValue> = {};
  for (const name of Object.keys(value)) {
    Object.defineProperty(map, name, {
      value: wireOf(value[name] as StoredValue),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return { M: map };
}

/** A value DynamoDB cannot store, at `path` relative to the member. */
export class ValueProblem extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'ValueProblem';
  }
}

/** The size DynamoDB counts for a stored value, in bytes. */
export function storedSize(value: StoredValue): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (value instanceof NumberValue) return numberSize(value.value);
  let size = 3;
  if (Array.isArray(value)) {
    for (const element of value) size += storedSize(element) + 1;
    return size;
  }
  for (const name of Object.keys(value))
    size += Buffer.byteLength(name) + storedSize(value[name] as StoredValue) + 1;
  return size;
}

/** One problem before its place is known: the member's path (relative to the record) and why. */
interface Found {
  readonly path: string;
  readonly reason: string;
}

/**
 * The problems of the record being converted (conversion is synchronous, so one list
 * serves every call; no closure or array per record on the hot path).
 */
const found: Found[] = [];

function refuse(path: string, reason: string): void {
  found.push({ path, reason });
}

function convertRecord(
  layout: JsonLayout,
  record: JsonRecord,
  extraBytes: number,
  item: Item | undefined,
): RowCheck {
  const object = record.value;
  if (object === undefined) return { ok: false, problems: record.problem ? [record.problem] : [] };
  const { schema, columns, members } = layout;
  found.length = 0;
  let key: KeyIdentity | undefined;
  let size = extraBytes;
  let known = 0;
  for (const { spec, path, nameBytes, key: isKey, numeric } of members) {
    const name = spec.name;
    let member = object[name];
    // A member named like an Object.prototype property ("constructor") is found there too.
    if (member !== undefined && !Object.hasOwn(object, name)) member = undefined;
    if (member !== undefined) known++;
    const value =
      numeric && member instanceof JsonNumber
        ? convertNumber(spec, member.text, path, refuse)
        : convertMember(spec, member, path, refuse);
    if (value === undefined) continue;
    // A number column's value is its exact text until the item is built.
    const text = numeric && typeof value === 'string';
    if (isKey) {
      if (!text && typeof value === 'string' && Buffer.byteLength(value) > MAX_KEY_BYTES) {
        refuse(path, `key is longer than ${MAX_KEY_BYTES} bytes`);
        continue;
      }
      key = text ? keyIdentity({ number: value }) : String(value);
    }
    if (item !== undefined) item[name] = text ? { N: value } : wireOf(value);
    size += nameBytes + (text ? numberSize(value) : storedSize(value));
  }
  if (schema.unknownColumns === 'reject' && memberCount(object) > known) {
    let listed = false;
    for (const name of Object.keys(object)) {
      if (columns.has(name)) continue;
      const near = schema.columns.find(
        (column) => column.name.toLowerCase() === name.toLowerCase(),
      );
      const expected = listed
        ? ''
        : `; expected ${schema.columns.map((column) => column.name).join(', ')}`;
      listed = true;
      refuse(
        pathStep(name),
        `not a column of dataset "${schema.name}"${near ? ` (did you mean "${near.name}"?)` : ''}${expected}`,
      );
    }
  }
  if (found.length === 0 && size > MAX_ITEM_BYTES) {
    const extra = extraBytes > 0 ? ` (${extraBytes} of them for its provenance attributes)` : '';
    return {
      ok: false,
      problems: [
        {
          line: record.line,
          reason: `item is ${size} bytes${extra}, over DynamoDB's ${MAX_ITEM_BYTES}-byte item limit`,
        },
      ],
    };
  }
  if (found.length > 0) return { ok: false, problems: locate(record, found.splice(0)) };
  if (key === undefined) return { ok: false, problems: [] };
  return { ok: true, key, size };
}

/** The stored value of one member, undefined when it is empty (or refused). */
function convertMember(
  spec: ColumnSpec,
  member: JsonValue | undefined,
  path: string,
  refuse: (path: string, reason: string) => void,
): StoredValue | undefined {
  if (member === undefined || member === null) {
    if (spec.required)
      refuse(path, member === null ? 'required value is null' : 'required member is missing');
    return undefined;
  }
  if (spec.type === 'map' || spec.type === 'list') {
    const wanted = spec.type === 'map' ? isJsonObject(member) : Array.isArray(member);
    if (!wanted) {
      refuse(
        path,
        `expected ${spec.type === 'map' ? 'an object' : 'an array'} (a ${spec.type} column), found ${describeJsonValue(member)}`,
      );
      return undefined;
    }
    try {
      if (spec.items !== undefined && Array.isArray(member)) {
        // A typed list: every element by its column type's rules, stored as that type.
        const items = { name: spec.name, type: spec.items, required: true } satisfies ColumnSpec;
        const numeric = items.type === 'number' || items.type === 'integer';
        return member.map((element, index): StoredValue => {
          const converted = convertScalar(items, element);
          if (converted instanceof CellRefusal || converted === undefined) {
            refuse(`${path}[${index}]`, converted?.reason ?? 'required value is empty');
            return null;
          }
          return numeric && typeof converted === 'string' ? NumberValue.from(converted) : converted;
        });
      }
      return toStoredValue(member, path);
    } catch (error) {
      if (!(error instanceof ValueProblem)) throw error;
      refuse(error.path, error.reason);
      return undefined;
    }
  }
  const converted = convertScalar(spec, member);
  if (converted instanceof CellRefusal) {
    refuse(path, converted.reason);
    return undefined;
  }
  return converted;
}

/** A JSON number in a number column: its text, checked by the CSV cell rules (the hot path). */
function convertNumber(
  spec: ColumnSpec,
  text: string,
  path: string,
  refuse: (path: string, reason: string) => void,
): string | undefined {
  const value = convertCell(spec, text);
  if (value instanceof CellRefusal) {
    refuse(path, value.reason);
    return undefined;
  }
  return value as string | undefined;
}

/** Own enumerable members of an object, counted without building a list. */
function memberCount(object: JsonObject): number {
  let count = 0;
  for (const _name in object) count++;
  return count;
}

/** A scalar column's value: the CSV cell rules applied to the JSON value's kind (numbers as text). */
function convertScalar(spec: ColumnSpec, member: JsonValue): StoredValue | undefined | CellRefusal {
  const numeric = spec.type === 'number' || spec.type === 'integer';
  if (member === null)
    return new CellRefusal(
      `expected ${numeric ? 'a number' : spec.type === 'boolean' ? 'true or false' : 'a string'}, found null`,
    );
  if (typeof member === 'object' && member !== null && !(member instanceof JsonNumber)) {
    return new CellRefusal(
      `expected ${numeric ? 'a number' : spec.type === 'boolean' ? 'true or false' : 'a string'}, found ${describeJsonValue(member)} (declare the column "type": "${Array.isArray(member) ? 'list' : 'map'}" to store it)`,
    );
  }
  if (numeric) {
    if (typeof member === 'boolean') return new CellRefusal('expected a number, found a boolean');
    const text = member instanceof JsonNumber ? member.text : (member as string);
    if (typeof member === 'string' && member !== member.trim()) {
      return new CellRefusal('a number in a string may not have spaces around it');
    }
    const value = convertCell(spec, text);
    if (value instanceof CellRefusal || value === undefined) {
      return typeof member === 'string' &&
        value instanceof CellRefusal &&
        value.reason !== 'required value is empty'
        ? new CellRefusal(
            `${value.reason}: a string is accepted for a number column only when it spells a number, like "1999"`,
          )
        : value;
    }
    return value;
  }
  if (spec.type === 'boolean') {
    return typeof member === 'boolean'
      ? member
      : new CellRefusal(`expected true or false, found ${describeJsonValue(member)}`);
  }
  if (typeof member !== 'string')
    return new CellRefusal(`expected a string, found ${describeJsonValue(member)}`);
  const value = convertCell(spec, member);
  return value;
}

/** The exact text of a number DynamoDB can store, else a ValueProblem. */
function exactNumber(text: string, path: string): string {
  if (canonicalNumber(text) === undefined) {
    throw new ValueProblem(
      path,
      `a number outside DynamoDB's number range (${MAX_NUMBER_DIGITS} significant digits, 1E-130 to 1E+126)`,
    );
  }
  return text;
}

/** The problems with their line, column, JSON path and value excerpt (the record is parsed again to find them). */
function locate(record: JsonRecord, found: readonly Found[]): FileProblem[] {
  const starts = new Map<string, number>();
  let value: JsonValue | undefined;
  try {
    value = parseJson(record.text, starts);
  } catch {
    // The record parsed once already; whatever happens, the problems keep their paths.
  }
  return found.map(({ path, reason }): FileProblem => {
    let at = starts.get(`$${path}`);
    // A missing member: point at its object.
    let probe = path;
    while (at === undefined && probe !== '') {
      probe = probe.replace(/(\.[A-Za-z_$][A-Za-z0-9_$]*|\[[^\]]*\])$/, '');
      at = starts.get(`$${probe}`);
    }
    const place = placeIn(record, at ?? 0);
    const shown = at === undefined || value === undefined ? undefined : valueText(record.text, at);
    return {
      ...place,
      field: record.path + path,
      ...(shown === undefined || probe !== path ? {} : { value: shown }),
      reason,
    };
  });
}

/** An excerpt of the value starting at `at`: a string's content, else its JSON text. */
function valueText(text: string, at: number): string {
  const end = jsonValueEnd(text, at);
  const source = text.slice(at, end);
  if (source.charCodeAt(0) === 0x22) {
    const parsed = parseJson(source);
    if (typeof parsed === 'string') return excerpt(parsed);
  }
  return excerpt(source);
}
