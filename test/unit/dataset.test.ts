import {
  type ColumnSpec,
  canonicalKey,
  canonicalNumber,
  keyColumn,
  parseCell,
  parseDataset,
} from '../../handlers/shared/dataset.js';
import { ConfigurationError } from '../../handlers/shared/errors.js';
import { CDK_DATASET } from '../support/workflow-fakes.js';

function problemsOf(raw: unknown): readonly string[] {
  try {
    parseDataset(raw);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('parseDataset', () => {
  it('returns the books schema of cdk.json with defaults applied', () => {
    const schema = parseDataset(CDK_DATASET);
    expect(schema).toMatchObject({
      name: 'books',
      key: 'isbn',
      keyType: 'N',
      delimiter: ',',
      unknownColumns: 'reject',
    });
    expect(schema.columns.map((column) => `${column.name}:${column.type}`)).toEqual([
      'isbn:number',
      'title:string',
      'author:string',
      'year:integer',
      'language:string',
      'pages:integer',
      'price:number',
      'in_print:boolean',
      'published:date',
    ]);
    expect(keyColumn(schema)).toMatchObject({ name: 'isbn', required: true });
  });

  it('defaults delimiter to "," , unknownColumns to "reject" and required to false', () => {
    const schema = parseDataset({
      name: 'tags',
      key: 'id',
      columns: [
        { name: 'id', type: 'string', required: true },
        { name: 'label', type: 'string' },
      ],
    });
    expect(schema).toMatchObject({ delimiter: ',', unknownColumns: 'reject', keyType: 'S' });
    expect(schema.columns[1]).toEqual({ name: 'label', type: 'string', required: false });
  });

  it('lists every problem in one ConfigurationError', () => {
    expect(
      problemsOf({
        name: 'Books!',
        key: 'id',
        delimiter: '"',
        unknownColumns: 'keep',
        extra: true,
        columns: [
          { name: 'id', type: 'float', required: 'yes' },
          { name: 'title', type: 'string' },
          { name: 'title', type: 'string' },
          { name: 'n', type: 'number', maxLength: 5 },
          { name: '1bad', type: 'string', colour: 'red' },
        ],
      }),
    ).toEqual([
      'unknown field "extra"',
      'name must be lower-case letters, digits and dashes, starting with a letter',
      'columns[0]: type must be one of string, number, integer, boolean, date, map, list',
      'columns[0]: required must be true or false',
      'columns[2]: duplicate column "title"',
      'columns[3]: maxLength applies to string columns only',
      'columns[4]: unknown field "colour"',
      'columns[4]: name must start with a letter or _ and use letters, digits, _ . -',
      'key "id" is not one of the columns',
      'delimiter must be a single character other than a quote or a line break',
      'unknownColumns must be "reject" or "ignore"',
    ]);
  });

  it.each([
    [
      { name: 'x', key: 'b', columns: [{ name: 'b', type: 'boolean', required: true }] },
      'key column "b" must be of type string, number, integer',
    ],
    [
      { name: 'x', key: 'k', columns: [{ name: 'k', type: 'string' }] },
      'key column "k" must be required',
    ],
    [{ name: 'x', key: 'k', columns: [] }, 'columns must be a non-empty array'],
  ])('rejects an unusable key or column list (%#)', (raw, problem) => {
    expect(problemsOf(raw)).toContain(problem);
  });

  it('rejects a value that is not an object', () => {
    expect(problemsOf([])).toEqual(['must be an object with name, key and columns']);
  });
});

describe('parseCell', () => {
  const column = (type: ColumnSpec['type'], extra: Partial<ColumnSpec> = {}): ColumnSpec => ({
    name: 'c',
    type,
    required: false,
    ...extra,
  });

  it.each([
    ['string', ' keeps spaces ', ' keeps spaces '],
    ['number', ' 12.50 ', { number: '12.50' }],
    ['number', '-1.5e-7', { number: '-1.5e-7' }],
    ['number', '1234567890123456789', { number: '1234567890123456789' }],
    ['integer', '007', { number: '007' }],
    ['boolean', 'TRUE', true],
    ['boolean', 'yes', true],
    ['boolean', '1', true],
    ['boolean', 'False', false],
    ['boolean', 'no', false],
    ['boolean', '0', false],
    ['date', '2024-02-29', '2024-02-29'],
    ['date', '0000-02-29', '0000-02-29'],
    ['date', '0001-01-01', '0001-01-01'],
    ['date', '0099-12-31', '0099-12-31'],
    ['date', '9999-12-31', '9999-12-31'],
  ] as const)('accepts a %s cell %j', (type, raw, value) => {
    expect(parseCell(column(type), raw)).toEqual({ ok: true, value });
  });

  it.each([
    ['number', '1,5', 'not a number'],
    ['number', '0x10', 'not a number'],
    ['number', 'NaN', 'not a number'],
    [
      'number',
      '1e200',
      "outside DynamoDB's number range (38 significant digits, 1E-130 to 1E+126)",
    ],
    [
      'number',
      '1'.repeat(39),
      "outside DynamoDB's number range (38 significant digits, 1E-130 to 1E+126)",
    ],
    ['integer', '1.0', 'not an integer'],
    ['boolean', 'Y', 'not a boolean (true/false, yes/no, 1/0)'],
    ['date', '2023-02-29', 'not a date (YYYY-MM-DD)'],
    ['date', '29/02/2024', 'not a date (YYYY-MM-DD)'],
    ['date', '0004-02-30', 'not a date (YYYY-MM-DD)'],
    ['date', '0100-02-29', 'not a date (YYYY-MM-DD)'],
    ['date', '0099-13-01', 'not a date (YYYY-MM-DD)'],
  ] as const)('rejects a %s cell %j', (type, raw, reason) => {
    expect(parseCell(column(type), raw)).toEqual({ ok: false, reason });
  });

  it('treats an empty or blank cell as missing: an error when required, omitted otherwise', () => {
    expect(parseCell(column('string'), '  ')).toEqual({ ok: true, value: undefined });
    expect(parseCell(column('number', { required: true }), '')).toEqual({
      ok: false,
      reason: 'required value is empty',
    });
  });

  it('enforces maxLength in characters, not bytes', () => {
    const short = column('string', { maxLength: 3 });
    expect(parseCell(short, 'ééé')).toEqual({ ok: true, value: 'ééé' });
    expect(parseCell(short, 'éééé')).toEqual({ ok: false, reason: 'longer than 3 characters' });
  });
});

describe('canonicalNumber', () => {
  it.each([
    ['7', '7E0'],
    ['007', '7E0'],
    ['7.0', '7E0'],
    ['0.7e1', '7E0'],
    ['-12.50', '-125E1'],
    ['0.001', '1E-3'],
    ['0', '0'],
    ['-0.0', '0'],
    ['1234567890123456789', '1234567890123456789E18'],
  ])('returns the canonical form of %s', (text, canonical) => {
    expect(canonicalNumber(text)).toBe(canonical);
  });

  it.each(['abc', '1e126', '1e-131', '1'.repeat(39)])('returns undefined for %s', (text) => {
    expect(canonicalNumber(text)).toBeUndefined();
  });

  it('makes keys equal exactly when DynamoDB would', () => {
    expect(canonicalKey({ number: '1.0' })).toBe(canonicalKey({ number: '1' }));
    expect(canonicalKey({ number: '1.01' })).not.toBe(canonicalKey({ number: '1' }));
    expect(canonicalKey('a')).toBe('a');
  });
});

/**
 * parseCell's hand-written checks (no regular expressions, no Date, no string
 * spreading) against the definitions they replace, over generated cells.
 */
describe('parseCell agrees with its reference definitions', () => {
  /** A small deterministic PRNG (LCG): every run checks the same cells. */
  function prng(seed: number): () => number {
    let state = seed;
    return () => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state / 0x80000000;
    };
  }
  const random = prng(11);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const text = (alphabet: readonly string[], maxLength: number) =>
    Array.from({ length: Math.floor(random() * (maxLength + 1)) }, () => pick(alphabet)).join('');
  const column = (type: ColumnSpec['type'], extra: Partial<ColumnSpec> = {}): ColumnSpec => ({
    name: 'c',
    type,
    required: false,
    ...extra,
  });

  /** What parseCell answered before the fast paths, for number, integer and date cells. */
  function reference(type: 'number' | 'integer' | 'date', raw: string): string | undefined {
    const trimmed = raw.trim();
    if (trimmed === '') return 'empty';
    if (type === 'date') {
      const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(trimmed);
      if (!match) return undefined;
      const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
      // setUTCFullYear, unlike Date.UTC, keeps years 0–99 as they are (no 1900 offset).
      const date = new Date(0);
      date.setUTCFullYear(year, month - 1, day);
      const real =
        date.getUTCFullYear() === year &&
        date.getUTCMonth() === month - 1 &&
        date.getUTCDate() === day;
      return real ? trimmed : undefined;
    }
    const pattern = type === 'integer' ? /^-?\d+$/ : /^-?(?:\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
    if (!pattern.test(trimmed)) return undefined;
    const fits = /^-?\d{1,38}$/.test(trimmed) || canonicalNumber(trimmed) !== undefined;
    return fits ? trimmed : 'range';
  }

  function actual(type: 'number' | 'integer' | 'date', raw: string): string | undefined {
    const result = parseCell(column(type), raw);
    if (result.ok) {
      if (result.value === undefined) return 'empty';
      return typeof result.value === 'object' ? result.value.number : String(result.value);
    }
    return result.reason.startsWith('outside') ? 'range' : undefined;
  }

  const NUMBER_PIECES = ['0', '1', '9', '5', '.', '-', '+', 'e', 'E', ' ', 'x', '\t'];
  const numbers = [
    ...Array.from({ length: 20_000 }, () => text(NUMBER_PIECES, 8)),
    ...Array.from(
      { length: 500 },
      () => `${'9'.repeat(35 + Math.floor(random() * 6))}.${text(['0', '1'], 3)}`,
    ),
    ...Array.from({ length: 500 }, () => `1e${pick(['', '+', '-'])}${Math.floor(random() * 300)}`),
  ];

  it.each(['number', 'integer'] as const)(
    'accepts and refuses exactly the %s cells the regular expressions did',
    (type) => {
      for (const raw of numbers)
        expect([raw, actual(type, raw)]).toEqual([raw, reference(type, raw)]);
    },
  );

  it('accepts exactly the real calendar days a Date check does, years 0000 to 9999', () => {
    const pad = (value: number, width: number) => String(value).padStart(width, '0');
    const dates = [
      ...Array.from(
        { length: 20_000 },
        () =>
          `${pad(pick([0, 4, 99, 100, 1900, 2000, 2023, 2024, 2100, 9999]) + Math.floor(random() * 3), 4)}-${pad(Math.floor(random() * 14), 2)}-${pad(Math.floor(random() * 33), 2)}`,
      ),
      ...Array.from({ length: 5_000 }, () => text(['2', '0', '1', '-', '9', ' ', 'a'], 11)),
      '2024-02-29',
      '2023-02-29',
      '1900-02-29',
      '2000-02-29',
      ' 2024-12-31 ',
      '２０２４-01-01',
    ];
    for (const raw of dates)
      expect([raw, actual('date', raw)]).toEqual([raw, reference('date', raw)]);
  });

  it('treats as empty exactly the cells String.prototype.trim empties, and trims numbers the same way', () => {
    const SPACES = [
      ' ',
      '\t',
      '\n',
      '\r',
      '\v',
      '\f',
      '\u00a0',
      '\u1680',
      '\u2000',
      '\u200a',
      '\u2028',
      '\u2029',
      '\u202f',
      '\u205f',
      '\u3000',
      '\ufeff',
    ];
    const NOT_SPACES = ['\u180e', '\u200b', '\u0085', 'x'];
    for (const space of [...SPACES, ...NOT_SPACES]) {
      for (const raw of [space, `${space}7`, `7${space}`, `${space}7${space}`]) {
        expect([raw, actual('number', raw)]).toEqual([raw, reference('number', raw)]);
        expect([raw, parseCell(column('string', { required: true }), raw).ok]).toEqual([
          raw,
          raw.trim() !== '',
        ]);
      }
    }
  });

  it('counts characters for maxLength as code points, like [...text].length', () => {
    const PIECES = ['a', 'é', '😀', '\ud83d', '\ude00', '\u0301'];
    for (let round = 0; round < 5_000; round++) {
      const raw = `x${text(PIECES, 8)}`;
      const maxLength = 1 + Math.floor(random() * 8);
      expect([raw, maxLength, parseCell(column('string', { maxLength }), raw).ok]).toEqual([
        raw,
        maxLength,
        [...raw].length <= maxLength,
      ]);
    }
  });
});
