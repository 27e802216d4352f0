import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** Where Debian's chromium package puts the browser (CHROMIUM_PATH overrides it). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** The browser the console's tests and screenshots need is not installed. */
export class ChromiumMissingError extends Error {
  constructor(path: string) {
    super(
      `Chromium is not installed (${path} not found). The console's browser tests and ` +
        "`npm run screenshots` drive a real Chromium: install Debian's package with " +
        '`sudo apt-get install -y chromium` (.ci/run does so before npm test), or point ' +
        'CHROMIUM_PATH at another Chromium or Chrome. (`npx playwright install` is not needed.)',
    );
    this.name = 'ChromiumMissingError';
  }
}

/** A headless Chromium with a fresh profile; `close()` removes the profile. */
export interface Chromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** The flags that work on these machines (no sandbox as root, no GPU, no network chatter). */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/** Starts headless Chromium with a fresh user-data dir; throws ChromiumMissingError when absent. */
export async function launchChromium(
  options: {
    readonly width?: number;
    readonly height?: number;
    readonly dark?: boolean;
    /** @default CHROMIUM_PATH */
    readonly executablePath?: string;
  } = {},
): Promise<Chromium> {
  const executablePath = options.executablePath ?? CHROMIUM_PATH;
  if (!existsSync(executablePath)) throw new ChromiumMissingError(executablePath);
  const profile = await mkdtemp(join(tmpdir(), 'console-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ARGS,
    viewport: { width: options.width ?? 1440, height: options.height ?? 900 },
    colorScheme: options.dark ? 'dark' : 'light',
    timeout: 60_000,
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
