import { readFileSync } from 'node:fs';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  NumberValue,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { handleAlbEvent } from '../../handlers/api/routes.js';
import { apiDeps, apiEnv, LOCAL_ISSUER, localAuth } from '../support/api-deps.js';
import { albEvent, body, header } from '../support/api-events.js';

const NOW = 1_800_000_000;
const ddb = mockClient(DynamoDBDocumentClient);
const SAMPLE_DATASETS = readFileSync(
  new URL('../../sample-files/datasets.json', import.meta.url),
  'utf8',
);
const BOOKS_SCOPE = 'ingest/books.read';
const AUTHORS_SCOPE = 'ingest/authors.read';

let auth: Awaited<ReturnType<typeof localAuth>>;
beforeAll(async () => {
  auth = await localAuth(NOW);
});
beforeEach(() => {
  ddb.reset();
  ddb.on(GetCommand, { TableName: 'books-table' }).resolves({
    Item: { isbn: NumberValue.from('9781400000005'), title: 'Pride and Prejudice' },
  });
  ddb.on(GetCommand, { TableName: 'authors-table' }).resolves({
    Item: { author_id: 'austen-jane', name: 'Jane Austen' },
  });
});

/** The API of a deployment with the books and authors datasets, one scope each. */
function deps() {
  return apiDeps(
    apiEnv(LOCAL_ISSUER, {
      DATASET: undefined,
      TABLE_NAME: undefined,
      DATASETS: SAMPLE_DATASETS,
      TABLE_NAMES: JSON.stringify({ books: 'books-table', authors: 'authors-table' }),
      AUTH_REQUIRED_SCOPE: 'ingest/{dataset}.read',
    }),
    { nowSeconds: NOW, getKey: auth.getKey },
  );
}

async function get(path: string, scope: string) {
  const token = await auth.token({ scope });
  return handleAlbEvent(albEvent(path, { headers: { authorization: `Bearer ${token}` } }), deps());
}

describe('API with several datasets', () => {
  it.each([
    ['/books/9781400000005', 'books-table', { isbn: 9781400000005, title: 'Pride and Prejudice' }],
    ['/authors/austen-jane', 'authors-table', { author_id: 'austen-jane', name: 'Jane Austen' }],
  ])('serves %s from its own table (%s)', async (path, table, record) => {
    const result = await get(path, `${BOOKS_SCOPE} ${AUTHORS_SCOPE}`);

    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual(record);
    expect(ddb.commandCalls(GetCommand).map((call) => call.args[0].input.TableName)).toEqual([
      table,
    ]);
  });

  it('parses each key with its own dataset schema (a string author_id, a numeric isbn)', async () => {
    const result = await get('/books/not-a-number', `${BOOKS_SCOPE} ${AUTHORS_SCOPE}`);
    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({ code: 'invalid-key' });
    expect((await get('/authors/not-a-number', AUTHORS_SCOPE)).statusCode).toBe(200);
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'authors-table',
      Key: { author_id: 'not-a-number' },
    });
  });

  it.each([
    ['/authors/austen-jane', BOOKS_SCOPE, AUTHORS_SCOPE],
    ['/authors', BOOKS_SCOPE, AUTHORS_SCOPE],
    ['/books/9781400000005', AUTHORS_SCOPE, BOOKS_SCOPE],
    ['/books', 'openid', BOOKS_SCOPE],
  ])(
    'answers %s with 403 insufficient_scope naming the missing scope to a token with only %s',
    async (path, scope, missing) => {
      const result = await get(path, scope);

      expect(result.statusCode).toBe(403);
      expect(header(result, 'WWW-Authenticate')).toBe(
        `Bearer realm="books", error="insufficient_scope", error_description="The access token lacks the required scope", scope="${missing}"`,
      );
      expect(body(result)).toMatchObject({
        code: 'insufficient-scope',
        detail: `The access token lacks the scope ${missing}, which reading this dataset requires.`,
      });
      expect(ddb.calls()).toHaveLength(0);
    },
  );

  it("lets a token with one dataset's scope read that dataset", async () => {
    expect((await get('/authors/austen-jane', AUTHORS_SCOPE)).statusCode).toBe(200);
    expect((await get('/books/9781400000005', BOOKS_SCOPE)).statusCode).toBe(200);
  });

  it('answers an unknown dataset with 404 naming the datasets there are', async () => {
    const result = await get('/orders/1', `${BOOKS_SCOPE} ${AUTHORS_SCOPE}`);

    expect(result.statusCode).toBe(404);
    expect(body(result)).toMatchObject({
      detail: 'There is no dataset "orders"; this API serves "books", "authors".',
    });
    expect(ddb.calls()).toHaveLength(0);
  });

  it('lists and batch-gets within the dataset of the path', async () => {
    ddb.on(ScanCommand).resolves({ Items: [{ author_id: 'austen-jane', name: 'Jane Austen' }] });
    ddb.on(BatchGetCommand).resolves({
      Responses: { 'authors-table': [{ author_id: 'austen-jane', name: 'Jane Austen' }] },
    });
    const token = await auth.token({ scope: AUTHORS_SCOPE });
    const listed = await handleAlbEvent(
      albEvent('/authors', { headers: { authorization: `Bearer ${token}` } }),
      deps(),
    );
    const batch = await handleAlbEvent(
      albEvent('/authors/batch-get', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ keys: ['austen-jane'] }),
      }),
      deps(),
    );

    expect(listed.statusCode).toBe(200);
    expect(batch.statusCode).toBe(200);
    expect(ddb.commandCalls(ScanCommand)[0]?.args[0].input.TableName).toBe('authors-table');
    expect(
      Object.keys(ddb.commandCalls(BatchGetCommand)[0]?.args[0].input.RequestItems ?? {}),
    ).toEqual(['authors-table']);
  });

  it('refuses a scope template without {dataset} when there are several datasets', () => {
    expect(() =>
      apiDeps(
        apiEnv(LOCAL_ISSUER, {
          DATASET: undefined,
          DATASETS: SAMPLE_DATASETS,
          TABLE_NAMES: JSON.stringify({ books: 'b', authors: 'a' }),
          AUTH_REQUIRED_SCOPE: 'ingest/read',
        }),
        { nowSeconds: NOW, getKey: auth.getKey },
      ),
    ).toThrow('AUTH_REQUIRED_SCOPE must contain {dataset} with several datasets');
  });
});
