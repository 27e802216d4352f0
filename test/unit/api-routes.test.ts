import {
  BatchGetCommand,
  type BatchGetCommandInput,
  DynamoDBDocumentClient,
  GetCommand,
  NumberValue,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ALBEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { JWTVerifyGetKey } from 'jose';
import { encodeCursor } from '../../handlers/api/cursor.js';
import { handleAlbEvent } from '../../handlers/api/routes.js';
import { parseDataset } from '../../handlers/shared/dataset.js';
import { apiDeps, apiEnv, LOCAL_ISSUER, localAuth } from '../support/api-deps.js';
import {
  albEvent,
  BOOKS_DATASET,
  body,
  header,
  multiValueAlbEvent,
  SKU_DATASET,
} from '../support/api-events.js';

const NOW = 1_800_000_000;
const ddb = mockClient(DynamoDBDocumentClient);
let getKey: JWTVerifyGetKey;
let token: string;

beforeAll(async () => {
  const auth = await localAuth(NOW);
  getKey = auth.getKey;
  token = await auth.token();
});
beforeEach(() => {
  ddb.reset();
});

function deps(dataset: object = BOOKS_DATASET) {
  return apiDeps(apiEnv(LOCAL_ISSUER, { DATASET: JSON.stringify(dataset) }), {
    nowSeconds: NOW,
    getKey,
  });
}

type EventOptions = Parameters<typeof albEvent>[1];

/** Sends an authenticated request through the handler core. */
async function call(path: string, options: EventOptions = {}, dependencies = deps()) {
  return handleAlbEvent(
    albEvent(path, {
      ...options,
      headers: { authorization: `Bearer ${token}`, ...options?.headers },
    }),
    dependencies,
  );
}

/** A batch-get request with a JSON body. */
function batch(payload: unknown, options: EventOptions = {}, dependencies = deps()) {
  return call(
    '/books/batch-get',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof payload === 'string' ? payload : JSON.stringify(payload),
      ...options,
    },
    dependencies,
  );
}

const book = (isbn: string, title = `Book ${isbn}`) => ({ isbn: NumberValue.from(isbn), title });

/** Answers BatchGetItem with the stored books, in reverse order (DynamoDB promises no order). */
function serveBooks(stored: readonly string[]) {
  ddb.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => {
    const keys = input.RequestItems?.['books-table']?.Keys ?? [];
    const found = keys
      .map((key) => String((key.isbn as NumberValue).value))
      .filter((isbn) => stored.includes(isbn))
      .map((isbn) => book(isbn))
      .reverse();
    return { Responses: { 'books-table': found } };
  });
}

describe('response headers', () => {
  it.each([
    ['a success', '/health', 200, 'application/json'],
    ['a problem', '/books/not-a-number', 400, 'application/problem+json'],
  ])('are all set on %s', async (_case, path, status, contentType) => {
    const result = await call(path);

    expect(result.statusCode).toBe(status);
    expect(result.statusDescription).toBe(status === 200 ? '200 OK' : '400 Bad Request');
    expect(result.isBase64Encoded).toBe(false);
    expect(result.headers).toEqual({
      'Content-Type': contentType,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
      'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
      'X-Correlation-Id': 'corr-1',
    });
  });

  it('come as multiValueHeaders (and no headers) when the target group uses multi-value headers', async () => {
    const result = await handleAlbEvent(multiValueAlbEvent('/health'), deps());

    expect(result.statusCode).toBe(200);
    expect(result.headers).toBeUndefined();
    expect(result.multiValueHeaders).toMatchObject({
      'Content-Type': ['application/json'],
      'Cache-Control': ['no-store'],
      'X-Content-Type-Options': ['nosniff'],
      'Strict-Transport-Security': ['max-age=31536000; includeSubDomains'],
    });
  });
});

describe('GET /{dataset}/{key}', () => {
  it('returns 200 with the item, numbers exact to the last digit', async () => {
    ddb.on(GetCommand).resolves({
      Item: {
        isbn: NumberValue.from('9780306406157'),
        title: 'Exact',
        big: NumberValue.from('12345678901234567890123456789012345678'),
        price: NumberValue.from('0.1000000000000000055511151231257827'),
        tiny: NumberValue.from('1E-130'),
        in_print: true,
      },
    });

    const result = await call('/books/9780306406157');

    expect(result.statusCode).toBe(200);
    expect(result.body).toBe(
      '{"isbn":9780306406157,"title":"Exact","big":12345678901234567890123456789012345678,' +
        '"price":0.1000000000000000055511151231257827,"tiny":1E-130,"in_print":true}',
    );
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: 'books-table',
      Key: { isbn: NumberValue.from('9780306406157') },
    });
  });

  it.each([
    ['9780306406157.0', '9780306406157'],
    ['0009780306406157', '9780306406157'],
    ['9.780306406157e12', '9780306406157'],
    ['-0.50', '-0.5'],
    ['1e3', '1000'],
  ])('reads key %s as the number %s', async (given, sent) => {
    ddb.on(GetCommand).resolves({ Item: book(sent) });

    await call(`/books/${given}`);

    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input.Key).toEqual({
      isbn: NumberValue.from(sent),
    });
  });

  it('returns 404 when there is no such record', async () => {
    ddb.on(GetCommand).resolves({});

    const result = await call('/books/9780000000000');

    expect(result.statusCode).toBe(404);
    expect(body(result)).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'No books record has isbn "9780000000000".',
      code: 'not-found',
    });
  });

  it.each([
    ['not a number', '/books/abc', 'not a number'],
    [
      'more than 38 significant digits',
      `/books/1${'2'.repeat(38)}`,
      "outside DynamoDB's number range",
    ],
    ['malformed percent-encoding', '/books/%E0%A4%A', 'percent-encoding'],
  ])('returns 400 for a key that is %s', async (_case, path, reason) => {
    const result = await call(path);

    expect(result.statusCode).toBe(400);
    expect(body(result).detail).toContain(reason);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('decodes a percent-encoded string key, slashes included', async () => {
    ddb.on(GetCommand).resolves({ Item: { sku: 'a/b c', name: 'Part' } });

    const result = await call('/parts/a%2Fb%20c', {}, deps(SKU_DATASET));

    expect(result.statusCode).toBe(200);
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input.Key).toEqual({ sku: 'a/b c' });
  });

  it('returns 400 for a string key over 2048 bytes', async () => {
    const result = await call(`/parts/${'é'.repeat(1025)}`, {}, deps(SKU_DATASET));

    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({
      code: 'invalid-key',
      detail: expect.stringContaining('2048 bytes'),
    });
  });
});

describe('routing', () => {
  it.each([
    ['an unknown dataset', 'GET', '/films/1'],
    ['an unknown dataset, whatever the method', 'DELETE', '/films/1'],
    ['a path too deep', 'GET', '/books/1/2'],
    ['the root', 'GET', '/'],
    ['an empty segment', 'GET', '/books//1'],
    ['a trailing slash', 'GET', '/books/'],
  ])('returns 404 for %s', async (_case, method, path) => {
    const result = await call(path, { method });

    expect(result.statusCode).toBe(404);
    expect(body(result)).toMatchObject({ status: 404, code: 'not-found' });
  });

  it.each([
    ['DELETE', '/books/1', 'GET'],
    ['PUT', '/books', 'GET'],
    ['POST', '/books', 'GET'],
    ['POST', '/books/1', 'GET'],
    ['PUT', '/books/batch-get', 'POST, GET'],
    ['POST', '/health', 'GET'],
  ])('returns 405 for %s %s with Allow: %s', async (method, path, allow) => {
    const result = await call(path, { method });

    expect(result.statusCode).toBe(405);
    expect(header(result, 'Allow')).toBe(allow);
    expect(body(result)).toMatchObject({ status: 405, code: 'method-not-allowed' });
  });

  it('answers GET /health with {"status":"ok"}', async () => {
    const result = await call('/health');

    expect(body(result)).toEqual({ status: 'ok' });
  });
});

describe('POST /{dataset}/batch-get', () => {
  it('returns the items in request order and the missing keys', async () => {
    serveBooks(['1', '2', '3']);

    const result = await batch({ keys: [3, '9', 1, 2] });

    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual({
      items: [
        { isbn: 3, title: 'Book 3' },
        { isbn: 1, title: 'Book 1' },
        { isbn: 2, title: 'Book 2' },
      ],
      missing: ['9'],
      unprocessed: [],
    });
  });

  it('collapses duplicate keys by value ("7", 7, "7.0", 7e0) into one DynamoDB key', async () => {
    serveBooks(['7']);

    const result = await batch('{"keys":["7", 7, "7.0", 7e0, 8]}');

    const keys =
      ddb.commandCalls(BatchGetCommand)[0]?.args[0].input.RequestItems?.['books-table']?.Keys;
    expect(keys).toEqual([{ isbn: NumberValue.from('7') }, { isbn: NumberValue.from('8') }]);
    expect(body(result)).toEqual({
      items: [{ isbn: 7, title: 'Book 7' }],
      missing: [8],
      unprocessed: [],
    });
  });

  it('keeps every digit of a number key the JSON holds as a number', async () => {
    serveBooks([]);

    const result = await batch('{"keys":[12345678901234567890123]}');

    expect(
      ddb.commandCalls(BatchGetCommand)[0]?.args[0].input.RequestItems?.['books-table']?.Keys,
    ).toEqual([{ isbn: NumberValue.from('12345678901234567890123') }]);
    expect(result.body).toBe('{"items":[],"missing":[12345678901234567890123],"unprocessed":[]}');
  });

  it('retries UnprocessedKeys until every key is read', async () => {
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { 'books-table': [book('1')] },
        UnprocessedKeys: { 'books-table': { Keys: [{ isbn: NumberValue.from('2') }] } },
      })
      .resolvesOnce({ Responses: { 'books-table': [book('2')] } });

    const result = await batch({ keys: [2, 1] });

    expect(body(result)).toEqual({
      items: [
        { isbn: 2, title: 'Book 2' },
        { isbn: 1, title: 'Book 1' },
      ],
      missing: [],
      unprocessed: [],
    });
    expect(ddb.commandCalls(BatchGetCommand)[1]?.args[0].input.RequestItems).toEqual({
      'books-table': { Keys: [{ isbn: NumberValue.from('2') }] },
    });
  });

  it('returns 503 with Retry-After when keys stay unprocessed after every retry', async () => {
    ddb.on(BatchGetCommand).resolves({
      UnprocessedKeys: { 'books-table': { Keys: [{ isbn: NumberValue.from('1') }] } },
    });

    const result = await batch({ keys: [1] });

    expect(result.statusCode).toBe(503);
    expect(header(result, 'Retry-After')).toBe('1');
    expect(body(result)).toMatchObject({ status: 503, code: 'throttled' });
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(4);
  });

  it('accepts a base64-encoded body (isBase64Encoded)', async () => {
    serveBooks(['1']);

    const result = await batch({ keys: [1] }, { base64: true });

    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual({
      items: [{ isbn: 1, title: 'Book 1' }],
      missing: [],
      unprocessed: [],
    });
  });

  it.each([
    ['application/json', 200],
    ['application/json; charset=utf-8', 200],
    ['Application/JSON; charset="UTF-8"', 200],
    ['text/plain', 415],
    ['application/x-www-form-urlencoded', 415],
    ['application/json; charset=latin1', 415],
    [undefined, 415],
  ])('answers Content-Type %s with %i', async (contentType, status) => {
    serveBooks(['1']);

    const result = await call('/books/batch-get', {
      method: 'POST',
      headers: contentType === undefined ? {} : { 'content-type': contentType },
      body: '{"keys":[1]}',
    });

    expect(result.statusCode).toBe(status);
    if (status === 415) expect(body(result)).toMatchObject({ code: 'unsupported-media-type' });
  });

  it('accepts a body of exactly 64 KiB', async () => {
    serveBooks(['1']);
    const json = '{"keys":[1]}';

    const result = await batch(json + ' '.repeat(64 * 1024 - json.length));

    expect(result.statusCode).toBe(200);
  });

  it('returns 413 for a body over 64 KiB', async () => {
    const json = '{"keys":[1]}';

    const result = await batch(json + ' '.repeat(64 * 1024 - json.length + 1));

    expect(result.statusCode).toBe(413);
    expect(body(result)).toMatchObject({
      title: 'Content Too Large',
      code: 'body-too-large',
      detail: 'The request body is 65537 bytes; the limit is 65536 bytes.',
    });
  });

  it.each([
    ['not JSON', 'keys=1', 'The request body is not valid JSON (line 1, column 1).'],
    [
      'truncated JSON',
      '{"keys":[1,\n  2',
      'The request body is not valid JSON (line 2, column 4).',
    ],
    ['an empty body', '', 'The request body is not valid JSON (the body is empty).'],
  ])('returns 400 for %s, saying where', async (_case, text, detail) => {
    const result = await batch(text);

    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({ code: 'invalid-body', detail });
  });

  const tooDeep = (line: number, column: number) =>
    `The request body nests arrays and objects more than 32 levels deep (line ${line}, column ${column}); a batch-get body needs 2: {"keys": [...]}.`;

  it.each([
    ['unterminated', '['.repeat(60_000), tooDeep(1, 33)],
    ['valid but nested 30,000 deep', `${'['.repeat(30_000)}${']'.repeat(30_000)}`, tooDeep(1, 33)],
    [
      'valid, 33 deep inside the keys',
      `{"keys":\n ${'['.repeat(32)}${']'.repeat(32)}}`,
      tooDeep(2, 33),
    ],
  ])(
    'returns 400 naming the depth limit for deeply nested JSON (%s)',
    async (_case, text, detail) => {
      const result = await batch(text);

      expect(result.statusCode).toBe(400);
      expect(body(result)).toMatchObject({ code: 'invalid-body', detail });
    },
  );

  it('does not count brackets inside strings as nesting', async () => {
    const result = await batch(`{"keys":["${'['.repeat(100)}\\"${'{'.repeat(100)}"]}`);

    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({ code: 'invalid-key' });
  });

  it('checks the shape of valid JSON nested exactly 32 deep', async () => {
    const result = await batch(`{"keys":${'['.repeat(31)}${']'.repeat(31)}}`);

    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({
      code: 'invalid-key',
      errors: [{ pointer: '/keys/0', detail: 'must be a string or a number' }],
    });
  });

  it('returns 400 for a body that is not UTF-8', async () => {
    const result = await handleAlbEvent(
      {
        ...albEvent('/books/batch-get', {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        }),
        body: Buffer.from([0x7b, 0xff, 0x7d]).toString('base64'),
        isBase64Encoded: true,
      } as ALBEvent,
      deps(),
    );

    expect(body(result)).toMatchObject({
      status: 400,
      code: 'invalid-body',
      detail: 'The request body is not valid UTF-8 (byte 0xFF at byte offset 1).',
    });
  });

  it.each([
    ['an array', [1], ''],
    ['no keys', {}, '/keys'],
    ['an empty keys array', { keys: [] }, '/keys'],
    ['keys not an array', { keys: '1' }, '/keys'],
    ['an unknown member', { keys: [1], limit: 5 }, '/limit'],
  ])('returns 400 for %s', async (_case, payload, pointer) => {
    const result = await batch(payload);

    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({
      code: 'invalid-body',
      errors: [expect.objectContaining({ pointer })],
    });
  });

  it('returns 400 for more than 100 keys', async () => {
    const result = await batch({ keys: Array.from({ length: 101 }, (_, index) => index + 1) });

    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({
      code: 'too-many-keys',
      detail: 'The request has 101 keys; send at most 100 per request.',
    });
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(0);
  });

  it('accepts exactly 100 keys', async () => {
    serveBooks([]);

    const result = await batch({ keys: Array.from({ length: 100 }, (_, index) => index + 1) });

    expect(result.statusCode).toBe(200);
  });

  it('returns 400 listing every key that does not fit, by JSON pointer', async () => {
    const result = await batch({ keys: [1, 'abc', true, null, { isbn: 1 }, '1.5e400'] });

    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({
      code: 'invalid-key',
      errors: [
        { pointer: '/keys/1', detail: 'not a number' },
        { pointer: '/keys/2', detail: 'must be a string or a number' },
        { pointer: '/keys/3', detail: 'must be a string or a number' },
        { pointer: '/keys/4', detail: 'must be a string or a number' },
        { pointer: '/keys/5', detail: expect.stringContaining('number range') },
      ],
    });
  });

  it('rejects JSON numbers as keys of a string-keyed dataset', async () => {
    const result = await call(
      '/parts/batch-get',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"keys":[12]}' },
      deps(SKU_DATASET),
    );

    expect(body(result)).toMatchObject({
      status: 400,
      errors: [{ pointer: '/keys/0', detail: 'must be a string (key "sku" is a string)' }],
    });
  });
});

describe('GET /{dataset} (paginated listing)', () => {
  const schema = parseDataset(BOOKS_DATASET);

  it('returns the first page of 25 with a cursor to the next', async () => {
    ddb.on(ScanCommand).resolves({
      Items: [book('1'), book('2')],
      LastEvaluatedKey: { isbn: NumberValue.from('2') },
    });

    const result = await call('/books');

    expect(ddb.commandCalls(ScanCommand)[0]?.args[0].input).toEqual({
      TableName: 'books-table',
      Limit: 25,
    });
    expect(body(result)).toEqual({
      items: [
        { isbn: 1, title: 'Book 1' },
        { isbn: 2, title: 'Book 2' },
      ],
      cursor: encodeCursor(schema, { isbn: NumberValue.from('2') }),
    });
  });

  it('continues from the cursor and ends with cursor null', async () => {
    ddb
      .on(ScanCommand)
      .resolvesOnce({ Items: [book('1')], LastEvaluatedKey: { isbn: NumberValue.from('1') } })
      .resolvesOnce({ Items: [book('2')] });
    const first = body(await call('/books', { query: { limit: '1' } }));

    const second = await call('/books', { query: { limit: '1', cursor: String(first.cursor) } });

    expect(ddb.commandCalls(ScanCommand)[1]?.args[0].input).toEqual({
      TableName: 'books-table',
      Limit: 1,
      ExclusiveStartKey: { isbn: NumberValue.from('1') },
    });
    expect(body(second)).toEqual({ items: [{ isbn: 2, title: 'Book 2' }], cursor: null });
  });

  it.each([
    ['1', 1],
    ['100', 100],
    ['%31%30', 10],
  ])('accepts limit=%s', async (limit, expected) => {
    ddb.on(ScanCommand).resolves({ Items: [] });

    const result = await call('/books', { query: { limit } });

    expect(result.statusCode).toBe(200);
    expect(ddb.commandCalls(ScanCommand)[0]?.args[0].input.Limit).toBe(expected);
  });

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '101' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ limit: '1.5' }, 'limit'],
    [{ limit: '-1' }, 'limit'],
    [{ cursor: '' }, 'cursor'],
    [{ page: '2' }, 'page'],
    [{ limit: '%ZZ' }, 'limit'],
  ])('returns 400 for the query %j', async (query, parameter) => {
    const result = await call('/books', { query });

    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({
      code: 'invalid-query',
      errors: [expect.objectContaining({ parameter })],
    });
    expect(ddb.commandCalls(ScanCommand)).toHaveLength(0);
  });

  it('returns 400 for a repeated parameter (multi-value target group)', async () => {
    const result = await handleAlbEvent(
      multiValueAlbEvent('/books', {
        headers: { authorization: [`Bearer ${token}`] },
        query: { limit: ['1', '2'] },
      }),
      deps(),
    );

    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({
      errors: [{ parameter: 'limit', detail: 'given more than once' }],
    });
  });

  it.each([
    ['garbage', 'garbage'],
    ['a tampered cursor', tamper(encodeCursor(schema, { isbn: NumberValue.from('42') }))],
    [
      'a cursor of another dataset',
      encodeCursor(parseDataset({ ...BOOKS_DATASET, name: 'films' }), {
        isbn: NumberValue.from('1'),
      }),
    ],
    [
      'a cursor with a string key',
      encodeCursor(parseDataset({ ...SKU_DATASET, name: 'books' }), { sku: 'abc' }),
    ],
    ['a truncated cursor', encodeCursor(schema, { isbn: NumberValue.from('42') }).slice(0, -3)],
  ])('returns 400 (never 500) for %s', async (_case, cursor) => {
    const result = await call('/books', { query: { cursor } });

    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({
      code: 'invalid-cursor',
      errors: [{ parameter: 'cursor' }],
    });
    expect(ddb.commandCalls(ScanCommand)).toHaveLength(0);
  });
});

describe('response size (the ALB answers 502 above 1 MB of response JSON)', () => {
  const schema = parseDataset(BOOKS_DATASET);
  // 20,000 quotes: 40 KB in the body, 80 KB once the response JSON escapes them again.
  const bigBook = (isbn: string) => book(isbn, '"'.repeat(20_000));
  const isbns = Array.from({ length: 100 }, (_, index) => String(1000 + index));
  /** Bytes of the response JSON the Lambda runtime hands to the load balancer. */
  const responseBytes = (result: object) => Buffer.byteLength(JSON.stringify(result));

  it('returns as many batch records as fit and the keys of the rest as unprocessed', async () => {
    ddb.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => ({
      Responses: {
        'books-table': (input.RequestItems?.['books-table']?.Keys ?? []).map((key) =>
          bigBook(String((key.isbn as NumberValue).value)),
        ),
      },
    }));

    const dependencies = deps();

    const result = await batch({ keys: isbns.map(Number) }, {}, dependencies);

    expect(result.statusCode).toBe(200);
    expect(responseBytes(result)).toBeLessThanOrEqual(1_000_000);
    const answer = body(result) as { items: { isbn: number }[]; unprocessed: number[] };
    expect(dependencies.logger.info).toHaveBeenCalledWith(
      'request',
      expect.objectContaining({ status: 200, unprocessed: answer.unprocessed.length }),
    );
    expect(answer.items.length).toBeGreaterThan(0);
    expect(answer.items.length).toBeLessThan(100);
    // A prefix in request order, and every other key to retry, in order too.
    expect([...answer.items.map((item) => item.isbn), ...answer.unprocessed]).toEqual(
      isbns.map(Number),
    );
  });

  it('shrinks a listing page to what fits, with a cursor right after its last record', async () => {
    ddb.on(ScanCommand).resolves({
      Items: isbns.map(bigBook),
      LastEvaluatedKey: { isbn: NumberValue.from('1099') },
    });

    const result = await call('/books', { query: { limit: '100' } });

    expect(result.statusCode).toBe(200);
    expect(responseBytes(result)).toBeLessThanOrEqual(1_000_000);
    const page = body(result) as { items: { isbn: number }[]; cursor: string };
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items.length).toBeLessThan(100);
    const last = page.items.at(-1)?.isbn;
    expect(page.cursor).toBe(encodeCursor(schema, { isbn: NumberValue.from(String(last)) }));
  });

  it('answers 500 record-too-large for a record the load balancer could never carry', async () => {
    ddb.on(GetCommand).resolves({ Item: book('1', '\u0001'.repeat(200_000)) });

    const result = await call('/books/1');

    expect(result.statusCode).toBe(500);
    expect(responseBytes(result)).toBeLessThan(10_000);
    expect(body(result)).toMatchObject({ status: 500, code: 'record-too-large' });
  });
});

describe('failures', () => {
  it('returns 500 with a correlation id, logged and in a header, and no internal detail', async () => {
    ddb.on(GetCommand).rejects(new Error('connect ECONNREFUSED 10.0.0.1:443 secret-internal-host'));
    const dependencies = deps();

    const result = await call('/books/1', {}, dependencies);

    expect(result.statusCode).toBe(500);
    expect(header(result, 'X-Correlation-Id')).toBe('corr-1');
    expect(body(result)).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'An unexpected error occurred. Quote correlation id corr-1 when reporting it.',
      code: 'internal-error',
      correlationId: 'corr-1',
    });
    expect(result.body).not.toContain('secret-internal-host');
    expect(dependencies.logger.error).toHaveBeenCalledWith(
      'unexpected error',
      expect.objectContaining({ correlationId: 'corr-1', error: expect.any(Error) }),
    );
  });

  it('answers 503 timeout with a correlation id shortly before the Lambda timeout when DynamoDB hangs', async () => {
    ddb.on(GetCommand).callsFake(() => new Promise(() => {}));
    const dependencies = deps();
    const started = Date.now();

    const result = await handleAlbEvent(
      albEvent('/books/1', { headers: { authorization: `Bearer ${token}` } }),
      dependencies,
      { remainingTimeMs: () => 700 }, // 200 ms before the 500 ms margin
    );

    expect(Date.now() - started).toBeLessThan(1_000);
    expect(result.statusCode).toBe(503);
    expect(header(result, 'Retry-After')).toBe('1');
    expect(header(result, 'X-Correlation-Id')).toBe('corr-1');
    expect(body(result)).toMatchObject({ status: 503, code: 'timeout' });
    expect(dependencies.logger.info).toHaveBeenCalledWith(
      'request',
      expect.objectContaining({ status: 503, problem: 'timeout' }),
    );
  });

  it('returns 503 with Retry-After when DynamoDB throttles', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ProvisionedThroughputExceededException',
    });
    ddb.on(GetCommand).rejects(throttled);

    const result = await call('/books/1');

    expect(result.statusCode).toBe(503);
    expect(header(result, 'Retry-After')).toBe('1');
    expect(result.body).not.toContain('Rate exceeded');
  });

  it.each([
    ['/health', 200, {}],
    ['/books/abc', 400, { clientId: 'client-1', problem: 'invalid-key' }],
  ])(
    'logs %s once with its status, correlation id, client and problem',
    async (path, status, extra) => {
      const dependencies = deps();

      await call(path, {}, dependencies);

      expect(dependencies.logger.info).toHaveBeenCalledTimes(1);
      expect(dependencies.logger.info).toHaveBeenCalledWith('request', {
        correlationId: 'corr-1',
        method: 'GET',
        path,
        status,
        durationMs: expect.any(Number),
        ...extra,
      });
    },
  );
});

/** Changes one character of the payload part of a cursor. */
function tamper(cursor: string): string {
  const index = 5;
  const replacement = cursor[index] === 'A' ? 'B' : 'A';
  return cursor.slice(0, index) + replacement + cursor.slice(index + 1);
}

describe('provenance (the reserved _uploaded_at / _source_* attributes)', () => {
  const SOURCE = {
    _uploaded_at: '2026-11-28T10:00:00.000Z',
    _source_key: 'books.csv',
    _source_sequencer: '0066A1B2C3D4E5F60100000000000000',
    _source_version: 'v1',
    _source_line: NumberValue.from('7'),
  };
  const stamped = (isbn: string) => ({ ...book(isbn), ...SOURCE });
  const source = {
    key: 'books.csv',
    version: 'v1',
    line: 7,
    uploadedAt: '2026-11-28T10:00:00.000Z',
    sequencer: '0066A1B2C3D4E5F60100000000000000',
  };

  it('keeps them out of the record body of a single GET', async () => {
    ddb.on(GetCommand).resolves({ Item: stamped('1') });
    expect(body(await call('/books/1'))).toEqual({ isbn: 1, title: 'Book 1' });
  });

  it('keeps them out of batch-get and list bodies', async () => {
    serveBooks([]);
    ddb.on(BatchGetCommand).resolves({ Responses: { 'books-table': [stamped('1')] } });
    expect(body(await batch({ keys: [1] })).items).toEqual([{ isbn: 1, title: 'Book 1' }]);
    ddb.on(ScanCommand).resolves({ Items: [stamped('1')] });
    expect(body(await call('/books')).items).toEqual([{ isbn: 1, title: 'Book 1' }]);
  });

  it('shows the record with its source on GET ?include=source', async () => {
    ddb.on(GetCommand).resolves({ Item: stamped('1') });
    expect(body(await call('/books/1', { query: { include: 'source' } }))).toEqual({
      record: { isbn: 1, title: 'Book 1' },
      source,
    });
  });

  it('shows source null for a record loaded before provenance existed', async () => {
    ddb.on(GetCommand).resolves({ Item: book('1') });
    expect(body(await call('/books/1', { query: { include: 'source' } }))).toEqual({
      record: { isbn: 1, title: 'Book 1' },
      source: null,
    });
  });

  it('wraps each listed record with its source and keeps the cursor working', async () => {
    ddb.on(ScanCommand).resolves({
      Items: [stamped('1'), stamped('2')],
      LastEvaluatedKey: { isbn: NumberValue.from('2') },
    });
    const page = body(await call('/books', { query: { include: 'source', limit: '2' } }));
    expect(page.items).toEqual([
      { record: { isbn: 1, title: 'Book 1' }, source },
      { record: { isbn: 2, title: 'Book 2' }, source },
    ]);
    expect(page.cursor).toBe(
      encodeCursor(parseDataset(BOOKS_DATASET), { isbn: NumberValue.from('2') }),
    );
  });

  it.each(['everything', ''])('answers 400 invalid-query for include=%s', async (value) => {
    ddb.on(GetCommand).resolves({ Item: stamped('1') });
    const result = await call('/books/1', { query: { include: value } });
    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({
      code: 'invalid-query',
      errors: [{ parameter: 'include', detail: 'must be given once, as include=source' }],
    });
  });
});
