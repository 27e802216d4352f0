import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../infra/handler-function.js';
import { dispose, synthesize } from './synth.js';
import { VARIANTS } from './variants.js';

/**
 * Synthesizes every variant of the stack once (offline, without bundling: cfn-lint reads
 * templates, not code) and runs cfn-lint over all the templates in one call. Exits
 * non-zero on any cfn-lint error; warnings are printed and do not fail. The rules the
 * project skips, and why, are in .cfnlintrc.
 */
const CFN_LINT = process.env.CFN_LINT ?? 'cfn-lint';

const version = spawnSync(CFN_LINT, ['--version'], { encoding: 'utf8' });
if (version.error !== undefined || version.status !== 0) {
  process.stderr.write(
    `${CFN_LINT} is not installed or does not run (${version.error?.message ?? version.stderr.trim()}): install it with "pip install cfn-lint" (the project is checked with 1.51)\n`,
  );
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
try {
  const files: string[] = [];
  for (const [name, context] of Object.entries(VARIANTS)) {
    const synthesized = synthesize(context, { bundle: false });
    try {
      const file = join(dir, `${name}.template.json`);
      writeFileSync(file, JSON.stringify(synthesized.template.toJSON(), null, 1));
      files.push(file);
    } finally {
      dispose(synthesized);
    }
  }
  process.stdout.write(
    `${version.stdout.trim()}: linting ${files.length} variants (${Object.keys(VARIANTS).join(', ')})\n`,
  );
  const lint = spawnSync(
    CFN_LINT,
    [
      '--config-file',
      join(PROJECT_ROOT, '.cfnlintrc'),
      '--non-zero-exit-code',
      'error',
      '--',
      ...files,
    ],
    { stdio: 'inherit' },
  );
  if (lint.error !== undefined) throw lint.error;
  process.stdout.write(
    lint.status === 0
      ? `cfn-lint: 0 errors in ${files.length} templates\n`
      : `cfn-lint: errors found (exit ${lint.status})\n`,
  );
  process.exitCode = lint.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
