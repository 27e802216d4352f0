import { readFileSync } from 'node:fs';
import type { ConsoleConfig, RecordsResult } from '../../local/console/model.js';
import type { LocalStack } from '../../local/stack.js';
import { sample, startTestStack, uploadAndWait } from './helpers.js';

// The console's records API on a stack with two datasets (books, authors), as
// `npm start -- --datasets sample-files/datasets.json` runs it: the page learns every
// dataset, and `/api/records?dataset=<name>` reads that one through the HTTPS API.

const DATASETS = JSON.parse(
  readFileSync(new URL('../../sample-files/datasets.json', import.meta.url), 'utf8'),
) as unknown[];

let stack: LocalStack;
let stop: () => Promise<void>;
let base: string;

beforeAll(async () => {
  ({ stack, stop } = await startTestStack({
    context: { dataset: undefined, datasets: DATASETS },
  }));
  base = new URL(stack.endpoints.console).origin;
  await uploadAndWait(stack, 'books/console/books.csv', await sample('books.csv'));
  await uploadAndWait(stack, 'authors/console/authors.csv', await sample('authors/authors.csv'));
}, 120_000);

afterAll(async () => {
  await stop?.();
}, 30_000);

async function records(query: string): Promise<{ status: number; body: unknown }> {
  const answer = await fetch(`${base}/api/records?${query}`);
  return { status: answer.status, body: await answer.json() };
}

describe('console server: several datasets', () => {
  it('tells the page every dataset with its key, key type, table and columns', async () => {
    const config = (await (await fetch(`${base}/api/config`)).json()) as ConsoleConfig;
    expect(config.datasets).toEqual([
      {
        name: 'books',
        key: 'isbn',
        keyType: 'N',
        table: 'books-dev-items',
        columns: [
          'isbn',
          'title',
          'author',
          'year',
          'language',
          'pages',
          'price',
          'in_print',
          'published',
        ],
      },
      {
        name: 'authors',
        key: 'author_id',
        keyType: 'S',
        table: 'authors-dev-items',
        columns: ['author_id', 'name', 'born', 'died', 'country', 'books_in_catalogue'],
      },
    ]);
    // The first dataset stays where a one-dataset page reads it.
    expect(config.dataset).toEqual(config.datasets[0]);
    expect(config.table).toBe('books-dev-items');
  });

  it.each([
    ['no dataset', 'key=9781400395958', 'books', 'books.read', '/books/9781400395958', 'isbn'],
    [
      'an empty dataset',
      'dataset=&key=9781400395958',
      'books',
      'books.read',
      '/books/9781400395958',
      'isbn',
    ],
    [
      'dataset=books',
      'dataset=books&key=9781400395958',
      'books',
      'books.read',
      '/books/9781400395958',
      'isbn',
    ],
    [
      'dataset=authors',
      'dataset=authors&key=austen-jane',
      'authors',
      'authors.read',
      '/authors/austen-jane',
      'author_id',
    ],
  ])(
    "reads a record of the right dataset with %s, with a token of that dataset's scope only",
    async (_what, query, _dataset, scope, path, key) => {
      const { status, body } = await records(query);
      const result = body as RecordsResult;
      expect(status).toBe(200);
      expect(result.status).toBe(200);
      expect(result.steps.map((step) => [step.method, step.url, step.status])).toEqual([
        ['POST', stack.endpoints.tokenUrl, 200],
        ['GET', `${stack.endpoints.api}${path}`, 200],
      ]);
      expect(Object.keys(JSON.parse(result.body) as object)).toContain(key);
      expect(result.claims).toMatchObject({ scope: `books-api/${scope}` });
      expect(result.steps[0]?.curl).toContain(`scope=books-api/${scope} `);
    },
    60_000,
  );

  it("lists a page of the second dataset's table", async () => {
    const { status, body } = await records('dataset=authors&limit=5');
    const result = body as RecordsResult;
    expect(status).toBe(200);
    expect(result.status).toBe(200);
    expect(result.steps[1]?.url).toBe(`${stack.endpoints.api}/authors?limit=5`);
    const page = JSON.parse(result.body) as { items: { author_id?: unknown }[]; cursor?: string };
    expect(page.items).toHaveLength(5);
    expect(page.items.every((item) => typeof item.author_id === 'string')).toBe(true);
    expect(typeof page.cursor).toBe('string');
  }, 60_000);

  it.each([['nope'], ['Books'], ['books/']])(
    'refuses dataset=%s with 400, naming the datasets it knows',
    async (name) => {
      const { status, body } = await records(
        `dataset=${encodeURIComponent(name)}&key=9781400395958`,
      );
      expect(status).toBe(400);
      expect(body).toEqual({
        error: 'unknown-dataset',
        message: `dataset "${name}" is not one of this stack's datasets: books, authors`,
      });
    },
  );
});
