import { createHash } from 'node:crypto';
import { NumberValue } from '@aws-sdk/lib-dynamodb';
import type { DatasetSchema } from '../shared/dataset.js';
import { isRecord } from '../shared/guards.js';
import { parseKey, quote } from './keys.js';
import { badRequest, type HttpProblemError } from './problems.js';

/**
 * The listing cursor: `base64url(payload) "." base64url(digest)`, where the
 * payload names the cursor version, the dataset, the key type and the last key
 * read (base64url of its UTF-8 text, so no key is inflated by JSON escapes: a
 * 2048-byte key of control characters would otherwise need a 16 KB cursor, more
 * than the ALB accepts in a request line), and the digest is a truncated
 * SHA-256 of the payload. The digest is an
 * integrity check, not a signature: it makes a corrupted or hand-edited cursor
 * fail loudly. Forging one buys nothing, because every decoded field is
 * validated and a cursor can only start a scan of this dataset at some key the
 * caller may read anyway.
 */

const VERSION = 2;
/** Version 1 carried the key text itself; cursors issued before version 2 still decode. */
const RAW_KEY_VERSION = 1;
const DIGEST_LENGTH = 16; // bytes, 22 base64url characters
/** The longest cursor accepted: a 2048-byte string key, JSON-escaped and base64url-encoded. */
export const MAX_CURSOR_LENGTH = 12_000;
const SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/;

interface CursorPayload {
  readonly v: number;
  readonly d: string;
  readonly t: 'S' | 'N';
  readonly k: string;
}

/** Encodes DynamoDB's LastEvaluatedKey (read with wrapNumbers) as an opaque cursor. */
export function encodeCursor(
  schema: DatasetSchema,
  lastEvaluatedKey: Record<string, unknown>,
): string {
  const value = lastEvaluatedKey[schema.key];
  const keyText =
    schema.keyType === 'N'
      ? value instanceof NumberValue
        ? value.value
        : undefined
      : typeof value === 'string'
        ? value
        : undefined;
  if (keyText === undefined || Object.keys(lastEvaluatedKey).length !== 1) {
    // DynamoDB returned a key this schema cannot describe: a deployment mismatch, not a client error.
    throw new TypeError(`LastEvaluatedKey does not match the key "${schema.key}" of the schema`);
  }
  const payload: CursorPayload = {
    v: VERSION,
    d: schema.name,
    t: schema.keyType,
    k: Buffer.from(keyText, 'utf8').toString('base64url'),
  };
  const json = JSON.stringify(payload);
  return `${Buffer.from(json, 'utf8').toString('base64url')}.${digest(json)}`;
}

/**
 * Decodes a cursor into the ExclusiveStartKey of the next Scan. Any cursor this
 * API did not issue for this dataset is a 400 that says why, never a 500.
 */
export function decodeCursor(
  schema: DatasetSchema,
  cursor: string,
): Record<string, string | NumberValue> {
  if (cursor.length > MAX_CURSOR_LENGTH || !SHAPE.test(cursor)) {
    throw invalid('it is not a cursor this API issued');
  }
  const [encoded = '', check = ''] = cursor.split('.');
  const json = Buffer.from(encoded, 'base64url').toString('utf8');
  if (digest(json) !== check) throw invalid('it was altered or truncated');
  let payload: unknown;
  try {
    payload = JSON.parse(json);
  } catch {
    throw invalid('it is not a cursor this API issued');
  }
  if (!isPayload(payload)) throw invalid('it is not a cursor this API issued');
  if (payload.v !== VERSION && payload.v !== RAW_KEY_VERSION) {
    throw invalid(`cursor version ${payload.v} is not supported`);
  }
  if (payload.d !== schema.name)
    throw invalid(`it belongs to another dataset (${quote(payload.d, 64)})`);
  if (payload.t !== schema.keyType) {
    throw invalid(`its key type ${payload.t} does not match the key type ${schema.keyType}`);
  }
  const keyText = payload.v === VERSION ? base64urlText(payload.k) : payload.k;
  if (keyText === undefined) throw invalid('its key is not base64url of UTF-8 text');
  const parsed = parseKey(schema, payload.t === 'N' ? { number: keyText } : keyText);
  if (!parsed.ok) throw invalid(`its key ${parsed.reason}`);
  return { [schema.key]: parsed.key.attribute };
}

function base64urlText(encoded: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(encoded)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(encoded, 'base64url'));
  } catch {
    return undefined;
  }
}

function digest(json: string): string {
  return createHash('sha256')
    .update(`cursor:${json}`)
    .digest()
    .subarray(0, DIGEST_LENGTH)
    .toString('base64url');
}

function isPayload(value: unknown): value is CursorPayload {
  return (
    isRecord(value) &&
    Object.keys(value).length === 4 &&
    typeof value.v === 'number' &&
    typeof value.d === 'string' &&
    (value.t === 'S' || value.t === 'N') &&
    typeof value.k === 'string'
  );
}

function invalid(reason: string): HttpProblemError {
  return badRequest(
    'invalid-cursor',
    `The cursor is not valid: ${reason}. Start again without a cursor.`,
    [{ parameter: 'cursor', detail: reason }],
  );
}
