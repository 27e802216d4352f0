import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { type Chromium, launchChromium } from '../../local/console/chromium.js';
import type { LocalStack } from '../../local/stack.js';
import { sample, startTestStack, uploadAndWait } from '../integration/helpers.js';

// The console's Records page on a stack with two datasets (books, authors), as
// `npm start -- --datasets sample-files/datasets.json` runs it, in a real Chromium
// (Debian's package). Every wait is bounded and waits for the DOM, never for a time.

const DATASETS = JSON.parse(
  readFileSync(new URL('../../sample-files/datasets.json', import.meta.url), 'utf8'),
) as unknown[];

let stack: LocalStack;
let stop: () => Promise<void>;
let browser: Chromium;

beforeAll(async () => {
  browser = await launchChromium();
  ({ stack, stop } = await startTestStack({
    context: { dataset: undefined, datasets: DATASETS },
  }));
  await uploadAndWait(stack, 'books/console/books.csv', await sample('books.csv'));
  await uploadAndWait(stack, 'authors/console/authors.csv', await sample('authors/authors.csv'));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stop?.();
}, 30_000);

const WAIT = { timeout: 60_000 } as const;

async function open(hash: string): Promise<Page & { errors: string[] }> {
  const page = (await browser.context.newPage()) as Page & { errors: string[] };
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(error.message));
  await page.goto(`${stack.endpoints.console}${hash}`);
  await page.waitForSelector('.topbar', { timeout: 20_000 });
  return page;
}

const title = (page: Page) => page.textContent('.page.records .card-header h2');

describe('console: records of several datasets', () => {
  it('picks the second dataset, lists its table with its columns and gets one record by its key', async () => {
    const page = await open('#/records');
    await page.waitForSelector('[data-testid="records-dataset"]', WAIT);
    expect(await title(page)).toBe('Records · books (table books-dev-items)');
    expect(
      await page.$$eval('[data-testid="records-dataset"] option', (options) =>
        options.map((option) => option.textContent),
      ),
    ).toEqual(['books', 'authors']);
    expect(await page.getAttribute('[data-testid="record-key"]', 'placeholder')).toBe(
      'a number: the isbn of a record',
    );

    await page.selectOption('[data-testid="records-dataset"]', 'authors');
    await page.waitForFunction(
      () =>
        document.querySelector('.page.records .card-header h2')?.textContent ===
        'Records · authors (table authors-dev-items)',
      undefined,
      WAIT,
    );
    expect(await page.textContent('label:has([data-testid="record-key"])')).toBe('author_id');
    expect(await page.getAttribute('[data-testid="record-key"]', 'placeholder')).toBe(
      'a string: the author_id of a record',
    );

    // Listing: the authors' columns, the authors' rows.
    await page.click('[data-action="list-records"]');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="records-table"] tbody tr').length === 22,
      undefined,
      WAIT,
    );
    expect(
      await page.$$eval('[data-testid="records-table"] th', (cells) =>
        cells.map((cell) => cell.textContent),
      ),
    ).toEqual(['author_id', 'name', 'born', 'died', 'country', 'books_in_catalogue']);
    const rows = await page.$$eval('[data-testid="records-table"] tbody tr', (trs) =>
      trs.map((tr) => tr.querySelector('td')?.textContent ?? ''),
    );
    expect(rows).toContain('austen-jane');
    expect(
      (await page.$$eval('[data-testid="curl"]', (blocks) => blocks[1]?.textContent)) ?? '',
    ).toContain(`${stack.endpoints.api}/authors?limit=25`);

    // Getting one by its key, with a token of the authors' scope.
    await page.fill('[data-testid="record-key"]', 'austen-jane');
    await page.click('[data-action="get-record"]');
    const body = await page.waitForSelector('[data-testid="record-body"]', WAIT);
    expect(await body.textContent()).toContain('"name": "Jane Austen"');
    const curls = await page.$$eval('[data-testid="curl"]', (blocks) =>
      blocks.map((block) => block.textContent ?? ''),
    );
    expect(curls).toEqual([
      expect.stringContaining(
        `-d grant_type=client_credentials -d scope=books-api/authors.read ${stack.endpoints.tokenUrl}`,
      ),
      `curl --cacert ${stack.endpoints.caCertFile} -H "Authorization: Bearer $TOKEN" ${stack.endpoints.api}/authors/austen-jane`,
    ]);
    expect(await page.textContent('[data-testid="token-flow"]')).toContain('HTTP 200');
    expect(page.errors).toEqual([]);
    await page.close();
  }, 120_000);
});
