import { readFileSync } from 'node:fs';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { ApiClient } from '../../local/cli/api-client.js';
import { fetchToken } from '../../local/cli/api-client.js';
import type { LocalStack } from '../../local/stack.js';
import {
  closed,
  dlqRecordsFor,
  nextExecutionOf,
  sample,
  startTestStack,
  uploadAndWait,
  waitFor,
} from './helpers.js';

/** The two sample datasets, books and authors, as `npm start -- --datasets` runs them. */
const DATASETS = JSON.parse(
  readFileSync(new URL('../../sample-files/datasets.json', import.meta.url), 'utf8'),
) as unknown[];

let stack: LocalStack;
let api: ApiClient;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ stack, api, stop } = await startTestStack({
    context: { dataset: undefined, datasets: DATASETS },
  }));
}, 60_000);

afterAll(async () => {
  await stop?.();
}, 30_000);

/** Every item of one dataset's table, by its key attribute's value. */
async function itemsOf(dataset: string, key: string): Promise<Map<string, unknown>> {
  const items = new Map<string, unknown>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await stack.clients.dynamodb.send(
      new ScanCommand({
        TableName: stack.names.tables[dataset],
        ...(start ? { ExclusiveStartKey: start as never } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const value = item[key];
      items.set(String(value?.S ?? value?.N), item);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** A token with exactly `scope`, as a client allowed only that is given. */
async function tokenWith(scope: string): Promise<string> {
  return (await fetchToken({ ...stack.endpoints, scope })).access_token;
}

describe('local stack: two datasets', () => {
  it('creates a table per dataset and names each scope after its dataset', () => {
    expect(stack.endpoints.datasets).toEqual([
      {
        name: 'books',
        key: 'isbn',
        keyType: 'N',
        table: 'books-dev-items',
        scope: 'books-api/books.read',
      },
      {
        name: 'authors',
        key: 'author_id',
        keyType: 'S',
        table: 'authors-dev-items',
        scope: 'books-api/authors.read',
      },
    ]);
  });

  it('loads files of both datasets uploaded at the same time, each into its own table', async () => {
    const [booksBody, authorsBody] = [
      await sample('books.csv'),
      await sample('authors/authors.csv'),
    ];
    const executions = [
      nextExecutionOf(stack, 'books/2026/books.csv'),
      nextExecutionOf(stack, 'authors/2026/authors.csv'),
    ];
    await Promise.all([
      stack.clients.s3.send(
        new PutObjectCommand({
          Bucket: stack.names.bucket,
          Key: 'books/2026/books.csv',
          Body: booksBody,
        }),
      ),
      stack.clients.s3.send(
        new PutObjectCommand({
          Bucket: stack.names.bucket,
          Key: 'authors/2026/authors.csv',
          Body: authorsBody,
        }),
      ),
    ]);
    const [books, authors] = await Promise.all(
      executions.map(async (started) => closed(await started)),
    );

    expect(books?.status).toBe('SUCCEEDED');
    expect(authors?.status).toBe('SUCCEEDED');
    expect(JSON.parse(books?.output ?? '{}')).toMatchObject({ dataset: 'books', written: 100 });
    expect(JSON.parse(authors?.output ?? '{}')).toMatchObject({ dataset: 'authors', written: 22 });
    const bookItems = await itemsOf('books', 'isbn');
    const authorItems = await itemsOf('authors', 'author_id');
    expect(bookItems.size).toBe(100);
    expect(authorItems.size).toBe(22);
    expect(authorItems.get('le-guin-ursula')).toMatchObject({
      name: { S: 'Le Guin, Ursula K.' },
      born: { N: '1929' },
      _source_key: { S: 'authors/2026/authors.csv' },
    });
    // Neither file's rows reached the other's table.
    expect([...bookItems.values()].some((item) => 'author_id' in (item as object))).toBe(false);
    expect([...authorItems.values()].some((item) => 'isbn' in (item as object))).toBe(false);
  }, 120_000);

  it("lets a token with one dataset's scope read it, and answers 403 naming the other's scope", async () => {
    const authorsOnly = await tokenWith('books-api/authors.read');

    const allowed = await api.send('GET', '/authors/austen-jane', { token: authorsOnly });
    const refused = await api.send('GET', '/books/9781400000005', { token: authorsOnly });

    expect(allowed.status).toBe(200);
    expect(JSON.parse(allowed.body)).toMatchObject({
      author_id: 'austen-jane',
      name: 'Jane Austen',
    });
    expect(refused.status).toBe(403);
    expect(refused.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(refused.headers['www-authenticate']).toContain('scope="books-api/books.read"');
    expect(JSON.parse(refused.body)).toMatchObject({
      code: 'insufficient-scope',
      detail: expect.stringContaining('books-api/books.read'),
    });
  });

  it('answers 404 naming the datasets for a path under no dataset', async () => {
    const token = (await fetchToken(stack.endpoints)).access_token;
    const response = await api.send('GET', '/orders/1', { token });

    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toMatchObject({
      detail: 'There is no dataset "orders"; this API serves "books", "authors".',
    });
  });

  it.each(['orders/2026/x.csv', 'x.csv'])(
    'sends %s, which names no dataset, to the DLQ with UnknownDatasetError listing the datasets',
    async (key) => {
      const execution = await uploadAndWait(stack, key, await sample('books.csv'));

      expect(execution).toMatchObject({ status: 'FAILED', error: 'UnknownDatasetError' });
      const [record] = await waitFor(`the DLQ record of ${key}`, async () => {
        const records = await dlqRecordsFor(stack, key);
        return records.length > 0 ? records : undefined;
      });
      expect(record?.failure).toMatchObject({
        error: 'UnknownDatasetError',
        state: 'PlanFile',
        cause: expect.stringContaining('Known datasets: "books", "authors"'),
      });
      expect(record?.Records[0]?.s3.object.key).toBe(key);
    },
    60_000,
  );
});
