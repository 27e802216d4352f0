import { NumberValue } from '@aws-sdk/lib-dynamodb';
import { HttpProblemError } from '../../handlers/api/problems.js';
import {
  batchGetBody,
  encodedBodyBytes,
  itemBody,
  pageBody,
} from '../../handlers/api/response-size.js';

const record = (isbn: number, title: string) => ({ isbn: NumberValue.from(String(isbn)), title });
const found = (isbn: number, title: string) => ({ echo: isbn, item: record(isbn, title) });

describe('encodedBodyBytes', () => {
  it.each([
    ['plain ASCII', 'abc', 3],
    ['a quote, escaped again inside the response JSON', '"', 2],
    ['a backslash', '\\', 2],
    ['a newline', '\n', 2],
    ['a control character', '\u0001', 6],
    ['a two-byte UTF-8 character', 'é', 2],
    ['a JSON object', '{"a":"b\\"c"}', 18],
  ])('counts %s as its bytes inside the Lambda response JSON', (_name, text, expected) => {
    expect(encodedBodyBytes(text)).toBe(expected);
    expect(Buffer.byteLength(JSON.stringify({ body: text })) - '{"body":""}'.length).toBe(expected);
  });
});

describe('batchGetBody', () => {
  it('returns every found record and empty unprocessed when they fit', () => {
    const result = batchGetBody([found(1, 'a'), found(2, 'b')], [3]);

    expect(result.unprocessed).toBe(0);
    expect(JSON.parse(result.body)).toEqual({
      items: [
        { isbn: 1, title: 'a' },
        { isbn: 2, title: 'b' },
      ],
      missing: [3],
      unprocessed: [],
    });
  });

  it('keeps the records in request order while they fit and lists the keys of the rest', () => {
    const records = [1, 2, 3, 4, 5].map((isbn) => found(isbn, 'x'.repeat(100)));
    const budget = 450; // room for the frame, three records and the two other keys

    const result = batchGetBody(records, [9], budget);

    expect(result.unprocessed).toBe(2);
    const parsed = JSON.parse(result.body) as { items: { isbn: number }[] };
    expect(parsed).toMatchObject({ missing: [9], unprocessed: [4, 5] });
    expect(parsed.items.map((item) => item.isbn)).toEqual([1, 2, 3]);
    expect(encodedBodyBytes(result.body)).toBeLessThanOrEqual(budget);
  });

  it.each([
    [560, 2],
    [561, 1],
  ])('fills the budget exactly: with %d bytes, %d record(s) wait', (budget, unprocessed) => {
    const records = [1, 2, 3, 4, 5].map((isbn) => found(isbn, 'x'.repeat(100)));

    const result = batchGetBody(records, [9], budget);

    expect(result.unprocessed).toBe(unprocessed);
    expect(encodedBodyBytes(result.body)).toBeLessThanOrEqual(budget);
  });

  it('counts quotes twice, as the response JSON escapes them again', () => {
    const plain = [1, 2].map((isbn) => found(isbn, 'x'.repeat(100)));
    const quoted = [1, 2].map((isbn) => found(isbn, '"'.repeat(100)));

    expect(batchGetBody(plain, [], 600).unprocessed).toBe(0);
    expect(batchGetBody(quoted, [], 600).unprocessed).toBe(1);
  });

  it('throws a 500 record-too-large when not even the first record fits', () => {
    const call = () => batchGetBody([found(1, 'x'.repeat(500)), found(2, 'y')], [], 300);

    expect(call).toThrow(HttpProblemError);
    expect(call).toThrow(expect.objectContaining({ status: 500, code: 'record-too-large' }));
    expect(call).toThrow('The record with key 1 is larger than the load balancer can return');
  });
  it('never defers a record of the default books schema: 100 worst-case records measure 612,047 bytes', () => {
    // Every text cell at its cdk.json maxLength, all control characters (7 bytes each once
    // escaped twice), and the longest numbers DynamoDB stores.
    const control = '\u0001';
    const worst = Array.from({ length: 100 }, (_, index) => ({
      echo: 9_780_000_000_000 + index,
      item: {
        isbn: NumberValue.from(String(9_780_000_000_000 + index)),
        title: control.repeat(500),
        author: control.repeat(300),
        year: NumberValue.from(`-${'9'.repeat(38)}`),
        language: control.repeat(35),
        pages: NumberValue.from('9'.repeat(38)),
        price: NumberValue.from(`-9.${'9'.repeat(37)}E-130`),
        in_print: true,
        published: '2024-01-01',
      },
    }));

    const result = batchGetBody(worst, []);

    expect(result.unprocessed).toBe(0);
    expect(encodedBodyBytes(result.body)).toBe(612_047);
  });
});

describe('pageBody', () => {
  const cursorAfter = (item: Record<string, unknown>) =>
    `after-${(item.isbn as NumberValue).value}`;

  it('returns the scan cursor when every record fits, null on the last page', () => {
    expect(JSON.parse(pageBody([record(1, 'a')], 'next', cursorAfter))).toEqual({
      items: [{ isbn: 1, title: 'a' }],
      cursor: 'next',
    });
    expect(pageBody([], undefined, cursorAfter)).toBe('{"items":[],"cursor":null}');
  });

  it('stops before the budget and continues right after the last record returned', () => {
    const records = [1, 2, 3, 4].map((isbn) => record(isbn, 'x'.repeat(100)));

    const body = pageBody(records, 'scan-next', cursorAfter, 300);

    expect(encodedBodyBytes(body)).toBeLessThanOrEqual(300);
    const parsed = JSON.parse(body) as { items: { isbn: number }[]; cursor: string };
    expect(parsed.items.map((item) => item.isbn)).toEqual([1, 2]);
    expect(parsed.cursor).toBe('after-2');
  });

  it('throws a 500 record-too-large when the first record alone does not fit', () => {
    expect(() => pageBody([record(1, 'x'.repeat(500))], undefined, cursorAfter, 300)).toThrow(
      expect.objectContaining({ status: 500, code: 'record-too-large' }),
    );
  });
});

describe('itemBody', () => {
  it('returns the JSON of a record that fits, and a 500 record-too-large otherwise', () => {
    expect(itemBody(record(1, 'a'), '1')).toBe('{"isbn":1,"title":"a"}');
    expect(() => itemBody(record(1, '\u0001'.repeat(100)), '1', 500)).toThrow(
      expect.objectContaining({ status: 500, code: 'record-too-large' }),
    );
  });
});
