import { createHash } from 'node:crypto';
import { NumberValue } from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor } from '../../handlers/api/cursor.js';
import { HttpProblemError } from '../../handlers/api/problems.js';
import { parseDataset } from '../../handlers/shared/dataset.js';
import { BOOKS_DATASET, SKU_DATASET } from '../support/api-events.js';

const books = parseDataset(BOOKS_DATASET);
const parts = parseDataset(SKU_DATASET);

/** A cursor with a correct digest around any payload: what a careful forger would send. */
function forge(payload: unknown): string {
  const json = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const digest = createHash('sha256').update(`cursor:${json}`).digest().subarray(0, 16);
  return `${Buffer.from(json).toString('base64url')}.${digest.toString('base64url')}`;
}

/** The cursor with its last character changed. */
function otherLastChar(cursor: string): string {
  return cursor.slice(0, -1) + (cursor.endsWith('A') ? 'B' : 'A');
}

function problemOf(action: () => unknown): HttpProblemError {
  try {
    action();
  } catch (error) {
    if (error instanceof HttpProblemError) return error;
    throw error;
  }
  throw new Error('expected a problem');
}

describe('listing cursor', () => {
  it.each([
    [
      'a 38-digit number key',
      books,
      { isbn: NumberValue.from('12345678901234567890123456789012345678') },
    ],
    ['a decimal number key', books, { isbn: NumberValue.from('-0.000001') }],
    ['a string key with slashes and accents', parts, { sku: 'a/b é "c"' }],
  ])('round-trips %s exactly', (_case, schema, lastEvaluatedKey) => {
    const cursor = encodeCursor(schema, lastEvaluatedKey);

    expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(decodeCursor(schema, cursor)).toEqual(lastEvaluatedKey);
  });

  it('keeps the cursor of the longest key short enough for a request line (a 2048-byte key of control characters)', () => {
    const sku = '\u0001'.repeat(2048);

    const cursor = encodeCursor(parts, { sku });

    expect(cursor.length).toBeLessThan(4_000);
    expect(decodeCursor(parts, cursor)).toEqual({ sku });
  });

  it('still decodes a version 1 cursor, which carried the key text itself', () => {
    expect(decodeCursor(books, forge({ v: 1, d: 'books', t: 'N', k: '42' }))).toEqual({
      isbn: NumberValue.from('42'),
    });
  });

  it('refuses to encode a LastEvaluatedKey that does not match the schema', () => {
    expect(() => encodeCursor(books, { isbn: 'abc' })).toThrow(TypeError);
    expect(() => encodeCursor(books, { isbn: NumberValue.from('1'), extra: 'x' })).toThrow(
      TypeError,
    );
  });

  it.each([
    ['empty', books, '', 'not a cursor this API issued'],
    ['garbage', books, 'hello world', 'not a cursor this API issued'],
    ['too long', books, `${'a'.repeat(12_000)}.${'b'.repeat(22)}`, 'not a cursor this API issued'],
    [
      'with a wrong digest',
      books,
      otherLastChar(forge({ v: 1, d: 'books', t: 'N', k: '1' })),
      'altered',
    ],
    ['with a non-JSON payload', books, forge('not json'), 'not a cursor this API issued'],
    ['with a JSON array payload', books, forge([1, 2]), 'not a cursor this API issued'],
    [
      'with an extra field',
      books,
      forge({ v: 1, d: 'books', t: 'N', k: '1', x: 1 }),
      'not a cursor',
    ],
    ['of another version', books, forge({ v: 3, d: 'books', t: 'N', k: 'MQ' }), 'version 3'],
    [
      'whose key is not base64url',
      books,
      forge({ v: 2, d: 'books', t: 'N', k: '1+2' }),
      'not base64url of UTF-8 text',
    ],
    [
      'whose key is not UTF-8',
      parts,
      forge({ v: 2, d: 'parts', t: 'S', k: Buffer.from([0xff, 0xfe]).toString('base64url') }),
      'not base64url of UTF-8 text',
    ],
    [
      'of another dataset',
      books,
      forge({ v: 1, d: 'films', t: 'N', k: '1' }),
      'another dataset ("films")',
    ],
    [
      'with a string key for a number key',
      books,
      forge({ v: 1, d: 'books', t: 'S', k: '1' }),
      'key type S',
    ],
    [
      'with a number key for a string key',
      parts,
      forge({ v: 1, d: 'parts', t: 'N', k: '1' }),
      'key type N',
    ],
    [
      'whose key is not a number',
      books,
      forge({ v: 1, d: 'books', t: 'N', k: 'abc' }),
      'not a number',
    ],
    [
      'whose key is over 2048 bytes',
      parts,
      forge({ v: 1, d: 'parts', t: 'S', k: 'x'.repeat(2049) }),
      '2048 bytes',
    ],
  ])('rejects a cursor %s with a 400 that says why', (_case, schema, cursor, reason) => {
    const problem = problemOf(() => decodeCursor(schema, cursor));

    expect(problem.status).toBe(400);
    expect(problem.code).toBe('invalid-cursor');
    expect(problem.detail).toContain(reason);
  });
});
