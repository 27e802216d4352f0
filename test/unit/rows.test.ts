import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type DatasetSchema, parseDataset } from '../../handlers/shared/dataset.js';
import { excerpt } from '../../handlers/shared/errors.js';
import {
  checkRow,
  fillItem,
  type HeaderLayout,
  itemSizeBound,
  keyIdentity,
  MAX_ITEM_BYTES,
  rowToItem,
  validateHeader,
  type WireItem,
  wireValue,
} from '../../handlers/shared/rows.js';
import { books, CDK_DATASET } from '../support/workflow-fakes.js';

const HEADER = [
  'isbn',
  'title',
  'author',
  'year',
  'language',
  'pages',
  'price',
  'in_print',
  'published',
];

function layoutOf(header: readonly string[], schema: DatasetSchema = books): HeaderLayout {
  const result = validateHeader(header, schema);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.layout;
}

describe('validateHeader', () => {
  it('returns the layout of a header in any column order, names trimmed', () => {
    const result = validateHeader([' title ', 'isbn', 'author\t'], books);
    expect(result).toEqual({
      ok: true,
      layout: expect.objectContaining({ header: ['title', 'isbn', 'author'], keyPosition: 1 }),
    });
  });

  it('returns every problem with its column position', () => {
    const result = validateHeader(['ISBN', 'title', 'title', '', 'rating'], books);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      {
        line: 1,
        column: 1,
        field: 'ISBN',
        reason: expect.stringMatching(
          /^not a column of dataset "books" \(did you mean "isbn"\?\); expected isbn, title/,
        ),
      },
      { line: 1, column: 3, field: 'title', reason: 'duplicate of column 2' },
      { line: 1, column: 4, reason: 'header name is empty' },
      {
        line: 1,
        column: 5,
        field: 'rating',
        reason: 'not a column of dataset "books"',
      },
      { line: 1, field: 'isbn', reason: 'required column is missing' },
      { line: 1, field: 'author', reason: 'required column is missing' },
    ]);
  });

  it('reports one clear problem, not a list of bogus columns, when lines end in CR alone', () => {
    // A file saved with classic Mac line ends (CR) parses as a single record.
    const result = validateHeader(['isbn', 'title', 'author\r9780306406157', 'T', 'A\r1'], books);
    expect(result).toEqual({
      ok: false,
      problems: [
        {
          line: 1,
          column: 3,
          reason:
            'a carriage return (CR) inside the header: lines must end in LF or CRLF, not CR alone (save the file with LF or CRLF line ends)',
        },
      ],
    });
  });

  it('ignores unknown columns when the schema says so', () => {
    const lenient = parseDataset({ ...CDK_DATASET, unknownColumns: 'ignore' });
    const layout = layoutOf(['isbn', 'rating', 'title', 'author'], lenient);
    expect(layout.columns.map((column) => column?.name)).toEqual([
      'isbn',
      undefined,
      'title',
      'author',
    ]);
    const row = rowToItem(layout, ['1', '5 stars', 'T', 'A'], 2);
    expect(row.ok && Object.keys(row.row.item)).toEqual(['isbn', 'title', 'author']);
  });

  it('accepts a header without the optional columns', () => {
    expect(validateHeader(['isbn', 'title', 'author'], books).ok).toBe(true);
  });
});

describe('wireValue', () => {
  it.each([
    ['string', 'Title', { S: 'Title' }],
    ['date', '1999-12-31', { S: '1999-12-31' }],
    ['number', '12.50', { N: '12.50' }],
    ['integer', '1234567890123456789', { N: '1234567890123456789' }],
    ['boolean', true, { BOOL: true }],
    ['boolean', false, { BOOL: false }],
  ] as const)('stores a converted %s cell %j as %j', (type, value, stored) => {
    expect(wireValue(type, value)).toEqual(stored);
  });

  it('stores every boolean as one of two shared, frozen values (an item holds no object of its own for it)', () => {
    expect(wireValue('boolean', true)).toBe(wireValue('boolean', true));
    expect(wireValue('boolean', false)).toBe(wireValue('boolean', false));
    expect(Object.isFrozen(wireValue('boolean', true))).toBe(true);
    expect(Object.isFrozen(wireValue('boolean', false))).toBe(true);
  });
});

describe('rowToItem', () => {
  const layout = layoutOf(HEADER);
  const good = [
    '9780306406157',
    'Title',
    'Author',
    '1999',
    'en',
    '320',
    '12.50',
    'yes',
    '1999-12-31',
  ];

  it('converts a row to an item in DynamoDB wire form with typed values', () => {
    const result = rowToItem(layout, good, 2);
    expect(result).toEqual({
      ok: true,
      row: {
        item: {
          isbn: { N: '9780306406157' },
          title: { S: 'Title' },
          author: { S: 'Author' },
          year: { N: '1999' },
          language: { S: 'en' },
          pages: { N: '320' },
          price: { N: '12.50' },
          in_print: { BOOL: true },
          published: { S: '1999-12-31' },
        },
        key: 9780306406157,
        size: expect.any(Number),
      },
    });
  });

  it.each([
    ['a 19-digit integer', '1234567890123456789'],
    ['0.1', '0.1'],
    ['a 38-digit decimal', '1234567890.1234567890123456789012345678'],
    ['a negative exponent', '-1.5E-7'],
  ])('stores %s as its exact decimal text', (_case, price) => {
    const result = rowToItem(layout, [...good.slice(0, 6), price, '', ''], 2);
    if (!result.ok) throw new Error('expected a valid row');
    expect(result.row.item.price).toEqual({ N: price });
    expect(String(unmarshall(result.row.item as WireItem, { wrapNumbers: true }).price)).toBe(
      price,
    );
  });

  it('omits empty optional cells instead of storing empty strings', () => {
    const result = rowToItem(layout, ['1', 'T', 'A', '', ' ', '', '', '', ''], 2);
    expect(result.ok && result.row.item).toEqual({
      isbn: { N: '1' },
      title: { S: 'T' },
      author: { S: 'A' },
    });
  });

  it('keeps string cells verbatim (surrounding spaces, quotes, newlines)', () => {
    const result = rowToItem(layout, ['1', '  "Quoted",\ntitle ', 'A', '', '', '', '', '', ''], 2);
    expect(result.ok && result.row.item.title).toEqual({ S: '  "Quoted",\ntitle ' });
  });

  it('returns every cell problem with line, column, field, value excerpt and reason', () => {
    const result = rowToItem(
      layout,
      ['97803X', '', 'A', '19.5', 'en', 'many', '1,5', 'maybe', '2021-02-30'],
      7,
    );
    expect(result).toEqual({
      ok: false,
      problems: [
        { line: 7, column: 1, field: 'isbn', value: '97803X', reason: 'not a number' },
        { line: 7, column: 2, field: 'title', value: '', reason: 'required value is empty' },
        { line: 7, column: 4, field: 'year', value: '19.5', reason: 'not an integer' },
        { line: 7, column: 6, field: 'pages', value: 'many', reason: 'not an integer' },
        { line: 7, column: 7, field: 'price', value: '1,5', reason: 'not a number' },
        {
          line: 7,
          column: 8,
          field: 'in_print',
          value: 'maybe',
          reason: 'not a boolean (true/false, yes/no, 1/0)',
        },
        {
          line: 7,
          column: 9,
          field: 'published',
          value: '2021-02-30',
          reason: 'not a date (YYYY-MM-DD)',
        },
      ],
    });
  });

  it('reports a cell on its own physical line when an earlier cell spans lines', () => {
    const result = rowToItem(
      layout,
      ['1', 'two\nline title', 'A\r\nB', 'x', '', '', '', '', ''],
      10,
    );
    expect(result.ok === false && result.problems[0]).toMatchObject({ line: 12, column: 4 });
  });

  it.each([
    [['1', 'T'], 'expected 9 fields like the header, found 2'],
    [[...good, 'extra'], 'expected 9 fields like the header, found 10'],
    [[''], 'blank line (remove it)'],
  ])('rejects a record with the wrong field count (%j)', (fields, reason) => {
    expect(rowToItem(layout, fields, 4)).toEqual({ ok: false, problems: [{ line: 4, reason }] });
  });

  it('rejects a string key longer than DynamoDB allows (2048 bytes)', () => {
    const schema = parseDataset({
      name: 'tags',
      key: 'id',
      columns: [{ name: 'id', type: 'string', required: true }],
    });
    const stringLayout = layoutOf(['id'], schema);
    expect(rowToItem(stringLayout, ['é'.repeat(1024)], 2).ok).toBe(true);
    expect(rowToItem(stringLayout, ['é'.repeat(1025)], 2)).toEqual({
      ok: false,
      problems: [
        expect.objectContaining({ line: 2, column: 1, reason: 'key is longer than 2048 bytes' }),
      ],
    });
  });

  it('rejects an item over the DynamoDB item size limit', () => {
    const schema = parseDataset({
      name: 'notes',
      key: 'id',
      columns: [
        { name: 'id', type: 'string', required: true },
        { name: 'a', type: 'string', required: false },
        { name: 'b', type: 'string', required: false },
      ],
    });
    const notes = layoutOf(['id', 'a', 'b'], schema);
    const half = 'x'.repeat(MAX_ITEM_BYTES / 2);
    expect(rowToItem(notes, ['k', half.slice(10), half.slice(10)], 2).ok).toBe(true);
    expect(rowToItem(notes, ['k', half, half], 2)).toEqual({
      ok: false,
      problems: [
        {
          line: 2,
          reason: `item is ${MAX_ITEM_BYTES + 5} bytes, over DynamoDB's 409600-byte item limit`,
        },
      ],
    });
  });
});

describe('fillItem', () => {
  it.each([
    [['9780306406157', 'T', 'A', '1999', 'en', '320', '12.50', 'yes', '1999-12-31']],
    [['x', '', 'A', 'MMI', '', '', '', '', '']],
  ])('fills the item rowToItem returns and agrees on key, size and problems for %j', (fields) => {
    const layout = layoutOf(HEADER);
    const full = rowToItem(layout, fields, 3, 100);
    const item = {};
    const filled = fillItem(item, layout, fields, 3, 100);
    if (full.ok) {
      expect(filled).toEqual({ ok: true, key: full.row.key, size: full.row.size });
      expect(item).toEqual(full.row.item);
    } else expect(filled).toEqual(full);
  });
});

describe('checkRow', () => {
  const layout = layoutOf(HEADER);

  it.each([
    [['9780306406157', 'T', 'A', '1999', 'en', '320', '12.50', 'yes', '1999-12-31']],
    [['1', 'T', 'A', '', '', '', '', '', '']],
    [['x', '', 'A', 'MMI', '', '', '', '', '']],
    [['1', 'T']],
  ])('agrees with rowToItem on key, size and problems for %j', (fields) => {
    const full = rowToItem(layout, fields, 3);
    const checked = checkRow(layout, fields, 3);
    if (full.ok) expect(checked).toEqual({ ok: true, key: full.row.key, size: full.row.size });
    else expect(checked).toEqual(full);
  });

  it.each([
    ['plain cells', ['9780306406157', 'T', 'A', '1999', 'en', '320', '12.50', 'yes', '1999-12-31']],
    ['quoted, multi-byte', ['1', '"Война"', 'A é', '', '', '', '', '1', '']],
  ])(
    'with the record length, skips counting and reports a bound at least the exact size (%s)',
    (_case, fields) => {
      const recordBytes = Buffer.byteLength(fields.join(','));
      const exact = checkRow(layout, fields, 3, 120);
      const bounded = checkRow(layout, fields, 3, 120, recordBytes);
      if (!exact.ok || !bounded.ok) throw new Error('expected valid rows');
      expect(bounded.key).toBe(exact.key);
      expect(bounded.size).toBe(itemSizeBound(layout, recordBytes, 120));
      expect(bounded.size).toBeGreaterThanOrEqual(exact.size);
    },
  );

  it('still counts exactly, and refuses, a record whose bound passes the item limit', () => {
    const notes = layoutOf(['isbn', 'title', 'author']);
    const title = 'x'.repeat(MAX_ITEM_BYTES);
    const checked = checkRow(notes, ['1', title, 'A'], 3, 0, title.length + 4);
    expect(checked.ok).toBe(false);
  });
});

describe('rowToItem field count', () => {
  const layout = layoutOf(HEADER);
  const row = ['1', 'T', 'A', '2001', 'en', '100', '9.99', 'true', '2001-01-01'];

  it('hints at CR line ends when a row with too many fields holds a carriage return', () => {
    const fields = [...row.slice(0, 8), `${row[8]}\r2`, ...row.slice(1)];
    expect(rowToItem(layout, fields, 2)).toEqual({
      ok: false,
      problems: [
        {
          line: 2,
          reason:
            'expected 9 fields like the header, found 17 (a field holds a carriage return (CR): if lines end in CR alone, save the file with LF or CRLF line ends)',
        },
      ],
    });
  });

  it('gives no CR hint when no field holds a carriage return', () => {
    expect(rowToItem(layout, row.slice(0, 7), 2)).toEqual({
      ok: false,
      problems: [{ line: 2, reason: 'expected 9 fields like the header, found 7' }],
    });
  });
});

describe('keyIdentity', () => {
  it.each([
    [{ number: '7' }, { number: '7.0' }],
    [{ number: '007' }, { number: '7' }],
    [{ number: '0.7e1' }, { number: '7' }],
    [{ number: '1234567890123456789' }, { number: '1234567890123456789.000' }],
    [{ number: '-0' }, { number: '0.0' }],
    [{ number: '1.50' }, { number: '1.5' }],
  ])('gives %j and %j the same identity', (a, b) => {
    expect(keyIdentity(a)).toBe(keyIdentity(b));
  });

  it.each([
    [{ number: '1234567890123456789' }, { number: '1234567890123456788' }],
    [{ number: '0.1' }, { number: '0.10000000000000001' }],
    [{ number: '9007199254740993' }, { number: '9007199254740992' }],
  ])('tells %j and %j apart', (a, b) => {
    expect(keyIdentity(a)).not.toBe(keyIdentity(b));
  });

  it('uses compact numbers for integer keys up to 15 digits and strings beyond', () => {
    expect(keyIdentity({ number: '9780306406157' })).toBe(9780306406157);
    expect(keyIdentity({ number: '1234567890123456' })).toBe('1234567890123456E15');
    expect(keyIdentity('abc')).toBe('abc');
  });
});

describe('excerpt', () => {
  it('keeps short values and shortens long ones by code points', () => {
    expect(excerpt('short')).toBe('short');
    expect(excerpt('😀'.repeat(50))).toBe(`${'😀'.repeat(39)}…`);
  });
});
