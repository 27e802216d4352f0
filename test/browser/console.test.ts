import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../local/config.js';
import { type Chromium, launchChromium } from '../../local/console/chromium.js';
import { STATE_STATUSES, type StateStatus } from '../../local/console/model.js';
import { statesOf } from '../../local/console/views.js';
import { generateCsv } from '../../local/generate-csv.js';
import type { LocalStack } from '../../local/stack.js';
import type { Execution } from '../../local/stepfunctions/executions.js';
import {
  executionsOf,
  executionsSince,
  sample,
  startTestStack,
  uploadAndWait,
  waitFor,
} from '../integration/helpers.js';

// The console as a user sees it: a real Chromium (Debian's package) on the page
// the stack serves, against the real local stack. Every wait is bounded and waits
// for the DOM or the stack, never for a fixed time.

const ASL = JSON.parse(
  readFileSync(join(PROJECT_ROOT, 'statemachines', 'ingest-file.asl.json'), 'utf8'),
) as Record<string, unknown>;
const ALL_STATES = [...statesOf(ASL).keys()].sort();

let stack: LocalStack;
let stop: () => Promise<void>;
let browser: Chromium;

beforeAll(async () => {
  // Chromium first: when it is missing, the message says how to install it.
  browser = await launchChromium();
  ({ stack, stop } = await startTestStack());
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stop?.();
}, 30_000);

/** A new tab on a page of the console (with the token, unless told otherwise). */
async function open(hash: string, options: { token?: boolean } = {}): Promise<Page> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const base =
    options.token === false
      ? stack.endpoints.console.replace(/\?.*$/, '')
      : stack.endpoints.console;
  await page.goto(`${base}${hash}`);
  await page.waitForSelector('.topbar', { timeout: 20_000 });
  (page as Page & { errors?: string[] }).errors = errors;
  return page;
}

const WAIT = { timeout: 60_000 } as const;

describe('console: executions', () => {
  it('uploads a good and a bad file dropped on the Files page, and the open list shows both closing with their status, rows and error', async () => {
    const list = await open('#/executions');
    const files = await open('#/files');
    await files.fill('input.prefix', 'drop/');
    const payload = [
      { name: 'books.csv', text: (await sample('books.csv')).toString('utf8') },
      { name: 'bad-header.csv', text: (await sample('bad-header.csv')).toString('utf8') },
    ];
    const transfer = await files.evaluateHandle((items) => {
      const data = new DataTransfer();
      for (const item of items)
        data.items.add(new File([item.text], item.name, { type: 'text/csv' }));
      return data;
    }, payload);
    await files.dispatchEvent('[data-testid="dropzone"]', 'drop', { dataTransfer: transfer });

    await files.waitForSelector('tr[data-upload="drop/books.csv"][data-state="stored"]', WAIT);
    await files.waitForSelector('tr[data-upload="drop/bad-header.csv"][data-state="stored"]', WAIT);

    // The list was open before the uploads: it updates from the event stream, no reload.
    const good = await list.waitForSelector(
      'tr[data-file="drop/books.csv"][data-status="SUCCEEDED"]',
      WAIT,
    );
    const bad = await list.waitForSelector(
      'tr[data-file="drop/bad-header.csv"][data-status="FAILED"]',
      WAIT,
    );
    expect(await good.$eval('[data-cell="rows"]', (cell) => cell.textContent)).toBe('100 / 100');
    expect(await good.$eval('[data-cell="chunks"]', (cell) => cell.textContent)).toContain('1 / 1');
    expect(await good.$eval('[data-cell="error"]', (cell) => cell.textContent)).toBe('');
    const error = await bad.$eval('[data-cell="error"]', (cell) => cell.textContent);
    expect(error).toContain('InvalidFileError');
    expect(error).toContain('line 1, column 1 (ISBN): not a column of dataset "books"');
    expect(await bad.$eval('[data-cell="rows"]', (cell) => cell.textContent)).toBe('0');

    // Filter by status and search by file.
    await list.click('[data-filter="FAILED"]');
    await list.fill('input.search', 'drop/');
    await list.waitForFunction(
      () =>
        [...document.querySelectorAll('tr[data-file]')]
          .map((row) => row.getAttribute('data-file'))
          .join() === 'drop/bad-header.csv',
      undefined,
      WAIT,
    );
    await list.close();
    await files.close();
  }, 120_000);

  it('opens the first row with j and Enter, and g d goes to the dead-letter queue', async () => {
    await uploadAndWait(stack, 'keys/books.csv', await sample('books.csv'));
    const page = await open('#/executions?q=keys/');
    await page.waitForSelector('tr[data-file="keys/books.csv"]', WAIT);
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.execution[data-status="SUCCEEDED"]', WAIT);
    expect(await page.textContent('h1')).toBe('keys/books.csv');
    await page.keyboard.press('g');
    await page.keyboard.press('d');
    await page.waitForSelector('.page.dlq', WAIT);
    await page.close();
  }, 90_000);
});

describe('console: one execution', () => {
  it.each<[string, string, Record<string, StateStatus>]>([
    [
      'graph/books.csv',
      'books.csv',
      {
        Configure: 'SUCCEEDED',
        PlanFile: 'SUCCEEDED',
        LoadChunks: 'SUCCEEDED',
        LoadChunk: 'SUCCEEDED',
        Summarize: 'SUCCEEDED',
        Succeeded: 'SUCCEEDED',
        PlanFileFailed: 'NOT_STARTED',
        LoadChunksFailed: 'NOT_STARTED',
        BuildFailureRecord: 'NOT_STARTED',
        SendToDeadLetterQueue: 'NOT_STARTED',
        Failed: 'NOT_STARTED',
        FailureRecordLost: 'NOT_STARTED',
        FailedWithoutRecord: 'NOT_STARTED',
      },
    ],
    [
      'graph/bad-header.csv',
      'bad-header.csv',
      {
        Configure: 'SUCCEEDED',
        PlanFile: 'CAUGHT',
        LoadChunks: 'NOT_STARTED',
        LoadChunk: 'NOT_STARTED',
        Summarize: 'NOT_STARTED',
        Succeeded: 'NOT_STARTED',
        PlanFileFailed: 'SUCCEEDED',
        LoadChunksFailed: 'NOT_STARTED',
        BuildFailureRecord: 'SUCCEEDED',
        SendToDeadLetterQueue: 'SUCCEEDED',
        Failed: 'FAILED',
        FailureRecordLost: 'NOT_STARTED',
        FailedWithoutRecord: 'NOT_STARTED',
      },
    ],
  ])(
    'draws every state of the ASL for %s, each in the colour of its status',
    async (key, file, expected) => {
      const execution = await uploadAndWait(stack, key, await sample(file));
      const page = await open(`#/executions/${execution.name}`);
      await page.waitForSelector(`.execution[data-status="${execution.status}"]`, WAIT);

      const drawn = await page.$$eval('[data-state]', (nodes) =>
        nodes.map((node) => ({
          state: node.getAttribute('data-state') ?? '',
          status: node.getAttribute('data-status') ?? '',
          fill: getComputedStyle(node.querySelector('.state-box') as Element).fill,
        })),
      );
      expect(drawn.map((node) => node.state).sort()).toEqual(ALL_STATES);
      expect(Object.keys(expected).sort()).toEqual(ALL_STATES);
      const legend = Object.fromEntries(
        await page.$$eval('[data-legend]', (items) =>
          items.map((item) => [
            item.getAttribute('data-legend') ?? '',
            getComputedStyle(item.querySelector('rect') as Element).fill,
          ]),
        ),
      ) as Record<StateStatus, string>;
      // Six statuses, six colours, and each state has the colour the legend gives its status.
      expect(Object.keys(legend).sort()).toEqual([...STATE_STATUSES].sort());
      expect(new Set(Object.values(legend)).size).toBe(STATE_STATUSES.length);
      for (const node of drawn) {
        expect({ state: node.state, status: node.status }).toEqual({
          state: node.state,
          status: expected[node.state],
        });
        expect({ state: node.state, fill: node.fill }).toEqual({
          state: node.state,
          fill: legend[node.status as StateStatus],
        });
      }

      // The history is GetExecutionHistory's, each event opening its details.
      const types = await page.$$eval('tr[data-event]', (rows) =>
        rows.map((row) => row.getAttribute('data-type')),
      );
      expect(types).toEqual(execution.events.map((event) => event.type));
      await page.click('tr[data-event="1"]');
      const details = await page.waitForSelector('tr.details-row .json', WAIT);
      expect(await details.textContent()).toContain('executionStartedEventDetails');
      expect(await details.textContent()).toContain(key);

      if (execution.status === 'FAILED') {
        const cause = await page.textContent('[data-testid="cause"]');
        expect(cause).toContain('line 1, column 1 (ISBN): not a column of dataset "books"');
        expect(cause).toContain('line 1 (author): required column is missing');
        expect(await page.textContent('[data-testid="failure"]')).toContain('PlanFile');
        await page.click('[data-link="failure-line"]');
        await page.waitForSelector('[data-testid="lines"] [data-line="1"].highlight', WAIT);
        expect(await page.textContent('[data-line="1"] .text')).toMatch(/^ISBN,titel,/);
      } else {
        // The upload stamp of the input, and the chunk summaries' own columns.
        const upload = (JSON.parse(execution.input) as { upload: { uploadedAt: string } }).upload;
        const inputFile = (await page.textContent('dl[aria-label="Input file"]')) ?? '';
        expect(inputFile).toContain('upload.uploadedAt');
        expect(inputFile).toContain(upload.uploadedAt);
        const columns = await page.$$eval('table[aria-label="Chunks"] th', (cells) =>
          cells.map((cell) => cell.textContent),
        );
        expect(columns).toEqual(expect.arrayContaining(['written', 'superseded']));
        await page.click('[data-link="chunk-lines"]');
        const line = await page.waitForSelector('[data-testid="lines"] [data-line="7"]', WAIT);
        expect(await line.textContent()).toContain('9781400395958,"Crime and Punishment');
      }
      expect((page as Page & { errors?: string[] }).errors).toEqual([]);
      await page.close();
    },
    90_000,
  );

  it('shows the Map progress move while a 50,000-row file loads', async () => {
    const output = new PassThrough();
    const parts: Buffer[] = [];
    output.on('data', (chunk: Buffer) => parts.push(chunk));
    await generateCsv({ rows: 50_000, seed: 13 }, output);
    output.end();
    const body = Buffer.concat(parts);

    // Upload through the page's file chooser.
    const files = await open('#/files');
    await files.setInputFiles('[data-testid="file-input"]', {
      name: 'big-50k.csv',
      mimeType: 'text/csv',
      buffer: body,
    });
    const started: Execution = await waitFor(
      'the execution of big-50k.csv to start',
      () => executionsOf(stack, 'big-50k.csv')[0],
      60_000,
    );

    // A fresh tab records every text the Map's progress line shows, from its first paint.
    const page = await browser.context.newPage();
    await page.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { mapSeen: string[] }).mapSeen = seen;
      const record = () => {
        const text = document.querySelector('[data-testid="map-summary"]')?.textContent ?? '';
        if (text !== '' && seen[seen.length - 1] !== text) seen.push(text);
      };
      new MutationObserver(record).observe(document, {
        subtree: true,
        childList: true,
        characterData: true,
      });
    });
    await page.goto(`${stack.endpoints.console}#/executions/${started.name}`);
    await page.waitForSelector('.execution[data-status="SUCCEEDED"]', { timeout: 180_000 });
    const seen = await page.evaluate(() => (window as unknown as { mapSeen: string[] }).mapSeen);

    const parsed = seen.map((text) => {
      const match = /^(\d+)\/(\d+) done · (\d+) running · (\d+) failed · (\d+) retried$/.exec(text);
      if (!match) throw new Error(`unexpected Map progress text "${text}"`);
      return { done: Number(match[1]), total: Number(match[2]), running: Number(match[3]) };
    });
    const total = parsed[parsed.length - 1]?.total ?? 0;
    expect(total).toBeGreaterThanOrEqual(2);
    // It moved: chunks were seen running before all were done, and done never went back.
    expect(parsed.some((step) => step.running > 0 && step.done < total)).toBe(true);
    expect(parsed[parsed.length - 1]).toEqual({ done: total, total, running: 0 });
    parsed.forEach((step, index) => {
      expect(step.done).toBeGreaterThanOrEqual(parsed[index - 1]?.done ?? 0);
    });
    expect(await page.textContent('[data-fact="rows"]')).toBe('50,000 / 50,000');
    expect(
      await page.$$eval('tr[data-chunk][data-status="SUCCEEDED"]', (rows) => rows.length),
    ).toBe(total);
    await files.close();
    await page.close();
  }, 240_000);
});

describe('console: dead-letter queue', () => {
  it('redrives one failure record after a confirmation that says what will happen, leaving the others', async () => {
    await uploadAndWait(stack, 'dlq/a.csv', await sample('bad-missing-values.csv'));
    await uploadAndWait(stack, 'dlq/b.csv', await sample('bad-header.csv'));
    const since = Date.now();
    const page = await open('#/dlq');
    await page.waitForSelector('tr[data-file="dlq/b.csv"]', WAIT);
    const row = await page.waitForSelector('tr[data-file="dlq/a.csv"]', WAIT);

    // The full cause opens under the row.
    await (await row.$('td'))?.click();
    expect(await page.textContent('[data-testid="dlq-cause"]')).toContain(
      'line 3, column 3 (author), value "": required value is empty',
    );

    // A first confirmation is cancelled: nothing moves.
    await page.click('tr[data-file="dlq/a.csv"] [data-action="redrive"]');
    const dialog = await page.waitForSelector('[data-testid="redrive-dialog"][open]', WAIT);
    const explanation = (await page.textContent('[data-testid="redrive-explanation"]')) ?? '';
    expect(explanation).toContain('dlq/a.csv');
    expect(explanation).toContain(`goes back to ${stack.names.queue}`);
    expect(explanation).toContain('exactly one new execution');
    expect(explanation).toContain('fails again');
    await page.click('[data-testid="redrive-dialog"] button:text("Cancel")');
    await dialog.waitForElementState('hidden', WAIT);

    await page.click('tr[data-file="dlq/a.csv"] [data-action="redrive"]');
    await page.click('[data-action="confirm-redrive"]');
    expect(
      await (await page.waitForSelector('[data-testid="redrive-notice"]', WAIT)).textContent(),
    ).toContain(`Moved 1 message(s) to ${stack.names.queue}`);

    // Exactly one new execution for a.csv, a redrive; b.csv stays in the DLQ.
    const redriven = await waitFor(
      'the redrive execution of dlq/a.csv to close',
      () =>
        executionsSince(stack, 'dlq/a.csv', since).find(
          (execution) => execution.name.startsWith('redrive-') && execution.status !== 'RUNNING',
        ),
      60_000,
    );
    expect(redriven.status).toBe('FAILED');
    expect(executionsSince(stack, 'dlq/b.csv', since)).toEqual([]);
    await page.waitForSelector('tr[data-file="dlq/b.csv"]', WAIT);

    const list = await open(`#/executions?q=dlq/a.csv`);
    await list.waitForSelector(`tr[data-execution="${redriven.name}"] .tag`, WAIT);
    await list.close();
    await page.close();
  }, 120_000);
});

describe('console: records', () => {
  it('looks up a record through the HTTPS API and shows the token flow as curl commands', async () => {
    await uploadAndWait(stack, 'records/books.csv', await sample('books.csv'));
    const page = await open('#/records');
    await page.fill('[data-testid="record-key"]', '9781403167606');
    // One dataset: nothing to pick.
    expect(await page.$('[data-testid="records-dataset"]')).toBeNull();
    await page.click('[data-action="get-record"]');
    const body = await page.waitForSelector('[data-testid="record-body"]', WAIT);
    const text = (await body.textContent()) ?? '';
    expect(text).toContain('"title": "Anna Karenina"');
    // The 19-digit price keeps every digit.
    expect(text).toContain('"price": 1234567890123456789');

    const curls = await page.$$eval('[data-testid="curl"]', (blocks) =>
      blocks.map((block) => block.textContent ?? ''),
    );
    expect(curls).toEqual([
      expect.stringContaining(
        `curl -s -u local-client:local-secret -d grant_type=client_credentials -d scope=${stack.endpoints.scope} ${stack.endpoints.tokenUrl}`,
      ),
      `curl --cacert ${stack.endpoints.caCertFile} -H "Authorization: Bearer $TOKEN" ${stack.endpoints.api}/books/9781403167606`,
    ]);
    expect(await page.textContent('[data-testid="token-flow"]')).toContain('HTTP 200');

    // Paging through the table.
    await page.click('[data-action="list-records"]');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="records-table"] tbody tr').length === 25,
      undefined,
      WAIT,
    );
    const first = await page.$$eval('[data-testid="records-table"] tbody tr', (rows) =>
      rows.map((row) => row.textContent),
    );
    await page.click('[data-action="next-page"]');
    await page.waitForFunction(
      (before) =>
        document.querySelector('[data-testid="records-table"] tbody tr')?.textContent !== before,
      first[0],
      WAIT,
    );
    expect(curls.length).toBe(2);
    expect(
      (await page.$$eval('[data-testid="curl"]', (blocks) => blocks[1]?.textContent)) ?? '',
    ).toMatch(/\/books\?limit=25&cursor=/);
    await page.close();
  }, 90_000);
});

describe('console: without the token', () => {
  it('shows the page read-only: no upload, no redrive', async () => {
    await uploadAndWait(stack, 'read-only/bad.csv', await sample('bad-header.csv'));
    const page = await open('#/files', { token: false });
    await page.waitForSelector('.pill-warn:text("read-only")', WAIT);
    expect(await page.textContent('[data-testid="dropzone"]')).toContain(
      'Uploading needs the token',
    );
    await page.goto(`${stack.endpoints.console.replace(/\?.*$/, '')}#/dlq`);
    await page.waitForSelector('tr[data-file="read-only/bad.csv"]', WAIT);
    const disabled = await page.$$eval('[data-action^="redrive"]', (buttons) =>
      buttons.map((button) => (button as HTMLButtonElement).disabled),
    );
    expect(disabled.length).toBeGreaterThanOrEqual(2);
    expect(disabled.every(Boolean)).toBe(true);
    await page.close();
  }, 60_000);
});
