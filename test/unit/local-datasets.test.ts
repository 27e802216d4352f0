import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetNamed, uploadPrefix } from '../../local/cli/datasets.js';
import { sampleUploads } from '../../local/samples.js';

const books = { name: 'books', key: 'isbn', keyType: 'N' as const, table: 't1', scope: 's1' };
const authors = {
  name: 'authors',
  key: 'author_id',
  keyType: 'S' as const,
  table: 't2',
  scope: 's2',
};

describe('sampleUploads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'samples-'));
  mkdirSync(join(dir, 'authors'));
  for (const file of ['books.csv', 'bad-header.csv', 'README.md', 'authors/authors.csv']) {
    writeFileSync(join(dir, file), 'x');
  }

  it('uploads the root samples under their own names when there is one dataset', async () => {
    await expect(sampleUploads({ datasets: [books] as never }, dir)).resolves.toEqual([
      { file: 'bad-header.csv', key: 'bad-header.csv' },
      { file: 'books.csv', key: 'books.csv' },
    ]);
  });

  it("uploads every dataset's samples under its prefix when there are several", async () => {
    await expect(sampleUploads({ datasets: [books, authors] as never }, dir)).resolves.toEqual([
      { file: 'bad-header.csv', key: 'books/bad-header.csv' },
      { file: 'books.csv', key: 'books/books.csv' },
      { file: 'authors/authors.csv', key: 'authors/authors.csv' },
    ]);
  });
});

describe('CLI --dataset', () => {
  it('picks the only dataset when --dataset is not given', () => {
    expect(datasetNamed({ datasets: [books] }, undefined)).toBe(books);
  });

  it.each([
    [undefined, 'the stack has several datasets: say which with --dataset (books, authors)'],
    ['orders', '--dataset orders: no such dataset (books, authors)'],
  ])('refuses --dataset %s with several datasets', (name, message) => {
    expect(() => datasetNamed({ datasets: [books, authors] }, name)).toThrow(message);
  });

  it.each([
    [[books], undefined, '', ''],
    [[books], undefined, '2026/', '2026/'],
    [[books, authors], 'authors', '2026/', 'authors/2026/'],
    [[books, authors], undefined, 'books/2026/', 'books/2026/'],
  ])(
    'uploads under the prefix that routes the file (%#)',
    (datasets, dataset, prefix, expected) => {
      expect(uploadPrefix({ datasets }, dataset, prefix)).toBe(expected);
    },
  );

  it('refuses an upload that would reach no dataset', () => {
    expect(() => uploadPrefix({ datasets: [books, authors] }, undefined, '2026/')).toThrow(
      'say which with --dataset (books, authors), or give a --prefix that starts with one',
    );
  });
});
