import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Page } from 'playwright-core';
import { PORTS, type PortName, PROJECT_ROOT } from '../config.js';
import { generateCsv } from '../generate-csv.js';
import { type LocalStack, startLocalStack } from '../stack.js';
import { launchChromium } from './chromium.js';

// `npm run screenshots`: the console's main pages as PNG files in docs/, taken
// from a real run (an in-memory stack on free ports, the sample files and a
// generated 50,000-row file), light and dark.

const OUT = join(PROJECT_ROOT, 'docs');
const out = (text: string) => process.stdout.write(`${text}\n`);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'console-screenshots-'));
  const ports = Object.fromEntries(Object.keys(PORTS).map((name) => [name, 0])) as Record<
    PortName,
    number
  >;
  const stack = await startLocalStack({
    ports,
    dataDir: dir,
    inMemory: true,
    writeEndpointsFile: false,
    pollWaitSeconds: 1,
    handlerLogs: createWriteStream(join(dir, 'handlers.log')),
  });
  try {
    await load(stack);
    await shoot(stack);
  } finally {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function load(stack: LocalStack): Promise<void> {
  const put = async (key: string, body: Buffer) =>
    stack.clients.s3.send(
      new PutObjectCommand({ Bucket: stack.names.bucket, Key: key, Body: body }),
    );
  for (const file of [
    'books.csv',
    'bad-header.csv',
    'bad-key-not-a-number.csv',
    'bad-missing-values.csv',
  ]) {
    await put(file, await readFile(join(PROJECT_ROOT, 'sample-files', file)));
  }
  const generated = new PassThrough();
  const parts: Buffer[] = [];
  generated.on('data', (chunk: Buffer) => parts.push(chunk));
  await generateCsv({ rows: 50_000, seed: 7 }, generated);
  generated.end();
  await put('big/books-50k.csv', Buffer.concat(parts));
  out('Loading the sample files and a 50,000-row file…');
  const deadline = Date.now() + 300_000;
  for (;;) {
    const executions = stack.executions.list();
    if (executions.length >= 5 && executions.every((execution) => execution.status !== 'RUNNING'))
      return;
    if (Date.now() > deadline) throw new Error('the executions did not close within 300 s');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function shoot(stack: LocalStack): Promise<void> {
  const find = (key: string) =>
    stack.executions.list().find((execution) => execution.input.includes(`"key":"${key}"`))?.name ??
    '';
  const shots: Array<{
    file: string;
    hash: string;
    dark?: boolean;
    ready: string;
    act?: (page: Page) => Promise<void>;
  }> = [
    { file: 'console-executions.png', hash: '#/executions', ready: 'tr[data-execution]' },
    {
      file: 'console-execution.png',
      hash: `#/executions/${find('big/books-50k.csv')}`,
      ready: '[data-state="LoadChunks"]',
    },
    {
      file: 'console-execution-failed-dark.png',
      hash: `#/executions/${find('bad-key-not-a-number.csv')}`,
      dark: true,
      ready: '[data-testid="cause"]',
    },
    { file: 'console-files.png', hash: '#/files', ready: 'tr[data-object]' },
    {
      file: 'console-dlq-dark.png',
      hash: '#/dlq',
      dark: true,
      ready: 'tr[data-message]',
      act: async (page) => {
        await page.click('tr[data-file="bad-key-not-a-number.csv"] td');
        await page.waitForSelector('[data-testid="dlq-cause"]');
      },
    },
    {
      file: 'console-records.png',
      hash: '#/records',
      ready: '[data-testid="record-key"]',
      act: async (page) => {
        await page.fill('[data-testid="record-key"]', '9781400395958');
        await page.click('[data-action="get-record"]');
        await page.waitForSelector('[data-testid="token-flow"]');
      },
    },
  ];
  for (const dark of [false, true]) {
    const browser = await launchChromium({ width: 1440, height: 900, dark });
    try {
      for (const shot of shots.filter((candidate) => (candidate.dark ?? false) === dark)) {
        const page = await browser.context.newPage();
        // Still pictures: the running pulse is off under reduced motion.
        await page.emulateMedia({ reducedMotion: 'reduce' });
        await page.goto(`${stack.endpoints.console}${shot.hash}`);
        await page.waitForSelector(shot.ready, { timeout: 30_000 });
        await shot.act?.(page);
        const path = join(OUT, shot.file);
        await page.screenshot({ path });
        out(`  ${path}`);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
