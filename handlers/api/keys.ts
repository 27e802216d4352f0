import { NumberValue } from '@aws-sdk/lib-dynamodb';
import {
  canonicalKey,
  canonicalNumber,
  type DatasetSchema,
  keyColumn,
  MAX_KEY_BYTES,
  parseCell,
} from '../shared/dataset.js';

/** A request key that fits the schema's key column. */
export interface ParsedKey {
  /** Identity used to collapse duplicates ("7" and "7.0" are the same number key). */
  readonly canonical: string;
  /** The value to put in a DynamoDB key (string, or an exact NumberValue). */
  readonly attribute: string | NumberValue;
  /** The key as the client wrote it, for `missing` (string, or exact number text). */
  readonly asGiven: string | { readonly number: string };
}

/** The outcome of parsing one key: the key, or why it does not fit. */
export type KeyResult =
  | { readonly ok: true; readonly key: ParsedKey }
  | { readonly ok: false; readonly reason: string };

/**
 * Parses a key (path segment text, a JSON string, or a JSON number's source
 * text) against the schema's key column: type, the column's rules, and
 * DynamoDB's 2048-byte key limit.
 */
export function parseKey(schema: DatasetSchema, raw: string | { number: string }): KeyResult {
  const column = keyColumn(schema);
  if (typeof raw === 'object' && column.type === 'string') {
    return { ok: false, reason: `must be a string (key "${schema.key}" is a string)` };
  }
  const text = typeof raw === 'object' ? raw.number : raw;
  if (Buffer.byteLength(text, 'utf8') > MAX_KEY_BYTES) {
    return { ok: false, reason: `longer than ${MAX_KEY_BYTES} bytes` };
  }
  const cell = parseCell(column, text);
  if (!cell.ok) return { ok: false, reason: cell.reason };
  const value = cell.value;
  if (value === undefined || typeof value === 'boolean') {
    return { ok: false, reason: 'required value is empty' };
  }
  if (typeof value === 'string') {
    return { ok: true, key: { canonical: value, attribute: value, asGiven: raw } };
  }
  const canonical = canonicalKey(value);
  return {
    ok: true,
    key: {
      canonical,
      attribute: NumberValue.from(plainDecimal(canonical)),
      asGiven: raw,
    },
  };
}

/** The canonical identity of a key attribute read back from DynamoDB. */
export function canonicalOfAttribute(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof NumberValue) return canonicalNumber(value.value);
  return undefined;
}

/**
 * Plain decimal text (no exponent) of a canonical number `d1d2…E<e>` meaning
 * d1.d2… × 10^e, so DynamoDB receives one spelling per value.
 */
export function plainDecimal(canonical: string): string {
  const match = /^(-?)(\d+)E(-?\d+)$/.exec(canonical);
  if (!match) return canonical; // "0"
  const [, sign = '', digits = '', exponentText = '0'] = match;
  const integerDigits = Number(exponentText) + 1;
  if (integerDigits <= 0) return `${sign}0.${'0'.repeat(-integerDigits)}${digits}`;
  if (integerDigits >= digits.length) {
    return `${sign}${digits}${'0'.repeat(integerDigits - digits.length)}`;
  }
  return `${sign}${digits.slice(0, integerDigits)}.${digits.slice(integerDigits)}`;
}

/** Shortens client input for an error message. */
export function quote(text: string, max = 80): string {
  const shown = [...text].length > max ? `${[...text].slice(0, max).join('')}…` : text;
  return JSON.stringify(shown);
}
