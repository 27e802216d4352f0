// Native ESM under --experimental-vm-modules (see the "test" script): ESM-only
// dependencies (p-limit, jose, fauxqs, oauth2-mock-server) load exactly as in
// production; SWC only strips types from our own TypeScript.
/** @type {import('jest').Config} */
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { target: 'es2024', parser: { syntax: 'typescript' } },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
  },
  // Source imports use the `.js` suffix NodeNext requires; map them back to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

const tiers = [
  { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
  { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
  {
    ...common,
    displayName: 'integration',
    testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
  },
  // The console in a real Chromium (Debian's package, see .ci/run) against the local stack.
  { ...common, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.test.ts'] },
];

// `npm run test:unit` etc. select one tier with TEST_TIER, leaving jest's own
// arguments free for file patterns (`npm run test:unit -- dataset`).
const only = process.env.TEST_TIER;
if (only && !tiers.some((tier) => tier.displayName === only)) {
  throw new Error(`TEST_TIER must be one of ${tiers.map((tier) => tier.displayName).join(', ')}`);
}

/** @type {import('jest').Config} */
export default {
  projects: only ? tiers.filter((tier) => tier.displayName === only) : tiers,
  // aws-local-stepfunctions 3.0.0 keeps a Task's TimeoutSeconds timer (up to 900 s) alive
  // after its execution is aborted (StopExecution), so a test file that stops an
  // execution would hold the run open for minutes after its last test. Every stack a
  // test starts is stopped in its afterAll; nothing else is left behind.
  forceExit: true,
};
