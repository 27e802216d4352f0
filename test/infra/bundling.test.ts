import { build } from 'esbuild';
import { HANDLER_ESBUILD_OPTIONS } from '../../infra/bundling.js';

describe('handler bundling', () => {
  it('keeps error class names through minification, so the workflow can match them', async () => {
    const result = await build({
      stdin: {
        contents:
          "import * as errors from './handlers/shared/errors.ts';\n" +
          'export const names = Object.entries(errors).filter(([, value]) => typeof value === "function").map(([exported, value]) => [exported, value.name]);',
        resolveDir: process.cwd(),
        loader: 'ts',
      },
      ...HANDLER_ESBUILD_OPTIONS,
      // Imported from a data: URL, where the banner's createRequire(import.meta.url) cannot run;
      // one output file, no map.
      banner: {},
      sourcemap: false,
      write: false,
    });
    const code = result.outputFiles[0]?.text ?? '';
    const url = `data:text/javascript;base64,${Buffer.from(code).toString('base64')}`;
    const { names } = (await import(url)) as { names: [string, string][] };

    expect(names.length).toBeGreaterThan(5);
    for (const [exported, runtimeName] of names) {
      expect(runtimeName).toBe(exported);
    }
  });
});
