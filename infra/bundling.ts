import type { BuildOptions } from 'esbuild';

/**
 * How every handler is bundled for Lambda, as plain esbuild settings with no
 * aws-cdk-lib import: the CDK app maps them onto NodejsFunction, and tools
 * that must measure the deployed bundles (bench/) can build with the same ones.
 */
export const HANDLER_BUNDLING = {
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minify: true,
  /**
   * Minified class names would turn `InvalidFileError` into `s`: the workflow's
   * Retry/Catch and the DLQ failure records match errors by name.
   */
  keepNames: true,
  /** External `.map` files; stack traces map back through NODE_OPTIONS=--enable-source-maps. */
  sourcemap: true,
  /** Sources stay out of the map: smaller artifacts, traces still name files and lines. */
  sourcesContent: false,
  mainFields: ['module', 'main'],
  /** Nothing external: the AWS SDK is bundled, so the versions we test are the versions we run. */
  external: [] as readonly string[],
  /** CommonJS dependencies inside an ESM bundle still call require(). */
  banner:
    "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
} as const;

/**
 * HANDLER_BUNDLING as esbuild `build()` options, for tools that build the handlers
 * themselves (bench/, tests): the same bundle NodejsFunction produces, minus the
 * entry and output paths.
 */
export const HANDLER_ESBUILD_OPTIONS = {
  bundle: true,
  format: HANDLER_BUNDLING.format,
  platform: HANDLER_BUNDLING.platform,
  target: HANDLER_BUNDLING.target,
  minify: HANDLER_BUNDLING.minify,
  keepNames: HANDLER_BUNDLING.keepNames,
  sourcemap: HANDLER_BUNDLING.sourcemap,
  sourcesContent: HANDLER_BUNDLING.sourcesContent,
  mainFields: [...HANDLER_BUNDLING.mainFields],
  external: [...HANDLER_BUNDLING.external],
  banner: { js: HANDLER_BUNDLING.banner },
} as const satisfies BuildOptions;
