import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build, stop } from 'esbuild';
import { PROJECT_ROOT } from '../config.js';

/** Where the page's sources live. */
export const UI_DIR = join(PROJECT_ROOT, 'local', 'console', 'ui');

/** The page's script and style sheet, built in memory. */
export interface UiBundle {
  readonly js: string;
  readonly css: string;
  readonly html: string;
}

/**
 * Bundles the page (TypeScript + Preact, its CSS) with esbuild when the console
 * starts, so nobody runs a build step and nothing built is committed.
 */
export async function bundleUi(): Promise<UiBundle> {
  // The page is bundled once per start: then end esbuild's service process, which would
  // otherwise keep this process alive (a test runner waiting for it to exit, for one).
  const result = await build({
    entryPoints: [join(UI_DIR, 'main.tsx')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: join(UI_DIR, 'tsconfig.json'),
    outdir: join(UI_DIR, 'out'),
    write: false,
    sourcemap: 'inline',
    legalComments: 'none',
    logLevel: 'silent',
    charset: 'utf8',
  }).finally(stop);
  const text = (extension: string) =>
    result.outputFiles.find((file) => file.path.endsWith(extension))?.text ?? '';
  return {
    js: text('.js'),
    css: text('.css'),
    html: await readFile(join(UI_DIR, 'index.html'), 'utf8'),
  };
}
