import { PutObjectCommand } from '@aws-sdk/client-s3';
import { PROVENANCE } from '../../handlers/shared/provenance.js';
import type { LocalStack } from '../../local/stack.js';
import { closed, nextExecutionOf, sample, scanAll, startTestStack } from './helpers.js';

// Its own stack: the good JSON samples load into an empty table. The bad JSON samples
// go through pipeline.test.ts with the other bad files (sample-files/README.md).
let stack: LocalStack;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ stack, stop } = await startTestStack());
}, 60_000);

afterAll(async () => {
  await stop?.();
}, 30_000);

/** Uploads a sample with the given content type and waits for its execution to close. */
async function upload(name: string, contentType?: string) {
  const started = nextExecutionOf(stack, name, 60_000);
  started.catch(() => undefined);
  await stack.clients.s3.send(
    new PutObjectCommand({
      Bucket: stack.names.bucket,
      Key: name,
      Body: await sample(name),
      ...(contentType ? { ContentType: contentType } : {}),
    }),
  );
  return closed(await started);
}

describe('local stack: JSON files', () => {
  it.each([
    ['books.jsonl', undefined, 'jsonl', 10, 0],
    ['books.json', 'application/json', 'json', 6, 1],
    ['books-array.txt', 'text/plain', 'json', 4, 0],
  ] as const)(
    'loads %s (content type %s) as %s: %i rows, %i superseded',
    async (name, contentType, format, rows, duplicates) => {
      const execution = await upload(name, contentType);
      expect(execution.status).toBe('SUCCEEDED');
      expect(JSON.parse(execution.output ?? '{}')).toMatchObject({
        key: name,
        format,
        rows,
        duplicateRows: duplicates,
        written: rows - duplicates,
      });
    },
    60_000,
  );

  it('stored every record with exact numbers, the last occurrence of a key and the line it came from', async () => {
    const items = await scanAll(stack);
    // 10 + 5 + 4 books (sample-files/README.md).
    expect(items.size).toBe(19);
    expect(items.get('9782000000002')?.price).toEqual({ N: '1234567890123456789' });
    expect(items.get('9782000000003')?.price).toEqual({ N: '0.1' });
    expect(items.get('9782000000004')?.year).toEqual({ N: '1906' });
    expect(items.get('9782000000005')).not.toHaveProperty('language');
    expect(items.get('9782000000105')?.price).toEqual({ N: '12345678901234567890.5' });
    expect(items.get('9782000000102')).toMatchObject({
      title: { S: 'Le Petit Prince (édition illustrée)' },
      pages: { N: '112' },
      [PROVENANCE.key]: { S: 'books.json' },
      // The superseding element's `{` is on line 46 of books.json.
      [PROVENANCE.line]: { N: '46' },
    });
    expect(items.get('9782000000203')).toMatchObject({
      author: { S: 'Adam Mickiewicz' },
      [PROVENANCE.key]: { S: 'books-array.txt' },
      [PROVENANCE.line]: { N: '1' },
    });
  }, 30_000);
});
