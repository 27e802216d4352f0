import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '../../handlers/shared/errors.js';
import {
  type AppConfig,
  apiEnvironment,
  DEFAULTS,
  loadAppConfig,
  loadChunkEnvironment,
  parseAppConfig,
  planFileEnvironment,
  readCdkContext,
  startIngestionEnvironment,
} from '../../infra/config.js';

const dataset = {
  name: 'books',
  key: 'isbn',
  columns: [
    { name: 'isbn', type: 'number', required: true },
    { name: 'title', type: 'string', required: true },
  ],
};

function problemsOf(context: Record<string, unknown>): readonly string[] {
  try {
    parseAppConfig(context);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('parseAppConfig', () => {
  it('applies every documented default when only the dataset is given', () => {
    const config = parseAppConfig({ dataset });

    expect(config).toMatchObject({ ...DEFAULTS, authAlgorithms: ['RS256'] });
    expect(config.workflowLogLevel).toBe('ALL');
    expect(config.dataset).toMatchObject({ name: 'books', key: 'isbn', keyType: 'N' });
    expect(config.auth).toBeUndefined();
    expect(config.certificateArn).toBeUndefined();
    expect(config.datasets).toEqual([config.dataset]);
    expect(JSON.parse(config.datasetsJson)).toEqual([dataset]);
    expect(config.datasetMaxWriteThroughput).toEqual({});
  });

  it('accepts the strings that `cdk -c name=value` passes', () => {
    const config = parseAppConfig({
      dataset: JSON.stringify(dataset),
      mapMaxConcurrency: '20',
      apiInVpc: 'true',
      albJwtVerification: 'false',
      authAlgorithms: 'RS256, ES256',
      auth: JSON.stringify({
        issuer: 'https://example.eu.auth0.com/',
        audience: 'https://api.example.com',
        jwksUri: 'https://example.eu.auth0.com/.well-known/jwks.json',
        scope: 'read:books',
      }),
    });

    expect(config.mapMaxConcurrency).toBe(20);
    expect(config.apiInVpc).toBe(true);
    expect(config.albJwtVerification).toBe(false);
    expect(config.authAlgorithms).toEqual(['RS256', 'ES256']);
    expect(config.auth).toEqual({
      issuer: 'https://example.eu.auth0.com/',
      audience: 'https://api.example.com',
      audienceClaim: 'aud',
      jwksUri: 'https://example.eu.auth0.com/.well-known/jwks.json',
      scope: 'read:books',
    });
  });

  it.each([
    ['dev', 'ALL'],
    ['prod', 'ERROR'],
    ['staging', 'ERROR'],
  ])('logs %s workflows at %s unless workflowLogLevel is set', (stage, level) => {
    expect(parseAppConfig({ dataset, stage }).workflowLogLevel).toBe(level);
    expect(parseAppConfig({ dataset, stage, workflowLogLevel: 'ALL' }).workflowLogLevel).toBe(
      'ALL',
    );
  });

  it('plans for a new account with room for throttled deliveries and an account limit', () => {
    expect(parseAppConfig({ dataset })).toMatchObject({
      maxReceiveCount: 15,
      accountConcurrencyLimit: 1000,
      apiReservedConcurrency: 20,
      loaderReservedConcurrency: 40,
    });
  });

  it('ignores the context keys the CDK toolkit sets itself', () => {
    expect(() =>
      parseAppConfig({
        dataset,
        '@aws-cdk/core:newStyleStackSynthesis': true,
        'aws:cdk:bundling-stacks': ['**'],
        'acknowledged-issue-numbers': [1234],
      }),
    ).not.toThrow();
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a missing dataset', { dataset: undefined }, 'datasets is required'],
    ['a bad dataset key', { dataset: { ...dataset, key: 'nope' } }, 'dataset: key "nope"'],
    ['an upper-case stage', { stage: 'Prod' }, 'stage must be'],
    ['a bad certificate ARN', { certificateArn: 'arn:aws:iam::1:x' }, 'certificateArn must be'],
    ['a bad CIDR', { allowedCidr: '10.0.0.0/33' }, 'allowedCidr must be'],
    [
      'an IPv6 CIDR (the ALB is IPv4-only)',
      { allowedCidr: '2001:db8::/32' },
      'allowedCidr must be an IPv4',
    ],
    ['an octet above 255', { allowedCidr: '10.0.0.256/32' }, 'allowedCidr must be'],
    ['an IPv4 address without prefix', { allowedCidr: '10.0.0.1' }, 'allowedCidr must be'],
    ['a starter concurrency of 1', { starterMaxConcurrency: 1 }, 'starterMaxConcurrency must be'],
    ['a fractional Map concurrency', { mapMaxConcurrency: 2.5 }, 'mapMaxConcurrency must be'],
    ['too many chunks', { maxChunks: 5000 }, 'maxChunks must be an integer from 1 to 1000'],
    ['an odd log retention', { logRetentionDays: 10 }, 'logRetentionDays must be one of'],
    ['a bad log level', { logLevel: 'verbose' }, 'logLevel must be one of'],
    ['a bad e-mail', { alarmEmail: 'ops' }, 'alarmEmail must be'],
    ['a non-boolean flag', { albJwtVerification: 'yes' }, 'albJwtVerification must be true'],
    ['a symmetric algorithm', { authAlgorithms: ['HS256'] }, 'authAlgorithms: "HS256"'],
    [
      'ES256 with ALB JWT verification (the ALB verifies RS256 only)',
      { authAlgorithms: ['RS256', 'ES256'], albJwtVerification: true },
      'albJwtVerification needs authAlgorithms ["RS256"]: the load balancer verifies RS256 signatures only and would refuse every token signed with ES256',
    ],
    [
      'EdDSA with ALB JWT verification',
      { authAlgorithms: ['EdDSA'], albJwtVerification: 'true' },
      'would refuse every token signed with EdDSA',
    ],
    [
      'a workflow log level that hides failures from the lost-record alarm',
      { workflowLogLevel: 'FATAL' },
      'workflowLogLevel must be ALL or ERROR, got "FATAL": the FailureRecordLost alarm',
    ],
    ['workflow logging turned off', { workflowLogLevel: 'OFF' }, 'got "OFF"'],
    ['a negative reservation', { apiReservedConcurrency: -1 }, 'apiReservedConcurrency must be'],
    ['an account limit of 0', { accountConcurrencyLimit: 0 }, 'accountConcurrencyLimit must be'],
    ['a typo in a setting name', { alarmEmial: 'a@b.co' }, 'unknown setting "alarmEmial"'],
    ['records above the chunk size', { chunkTargetBytes: 65_536 }, 'must not exceed'],
    ['an auth without issuer', { auth: { audience: 'a', scope: 's' } }, 'auth.issuer is required'],
    [
      'an http issuer',
      { auth: { issuer: 'http://idp', audience: 'a', scope: 's' } },
      'auth.issuer must be an https URL',
    ],
    [
      'ALB verification without a JWKS URI',
      { albJwtVerification: true, auth: { issuer: 'https://idp', audience: 'a', scope: 's' } },
      'needs auth.jwksUri',
    ],
    [
      'token types that are not a list of media types',
      {
        auth: {
          issuer: 'https://idp',
          audience: 'a',
          scope: 's',
          acceptedTokenTypes: 'JWT',
        },
      },
      'auth.acceptedTokenTypes must be a non-empty list of media types',
    ],
    [
      'a dataset name too long for the default Cognito domain prefix',
      {
        dataset: { ...dataset, name: 'a-very-long-dataset-name-for-a-bookcatalogue' },
        stage: 'production',
      },
      'the default Cognito domain prefix "a-very-long-dataset-name-for-a-bookcatalogue-production-<8 hex digits>" (64 characters)',
    ],
    [
      'a dataset name Cognito reserves in domain prefixes',
      { dataset: { ...dataset, name: 'aws-costs' } },
      'the default Cognito domain prefix "aws-costs-dev-<8 hex digits>"',
    ],
  ])('rejects %s', (_case, overrides, expected) => {
    const problems = problemsOf({ dataset, ...overrides });

    expect(problems).toEqual(expect.arrayContaining([expect.stringContaining(expected)]));
  });

  it.each([
    ['an explicit cognitoDomainPrefix', { cognitoDomainPrefix: 'books-catalogue' }],
    [
      'an external IdP (no Cognito domain at all)',
      { auth: { issuer: 'https://idp', audience: 'a', scope: 's' } },
    ],
  ])('accepts a dataset name too long for the default domain prefix with %s', (_case, extra) => {
    const longName = { ...dataset, name: 'a-very-long-dataset-name-for-a-bookcatalogue' };

    expect(() =>
      parseAppConfig({ dataset: longName, stage: 'production', ...extra }),
    ).not.toThrow();
  });

  it('reports an invalid stage once, not again as an invalid default domain prefix', () => {
    expect(problemsOf({ dataset, stage: 'Prod' })).toEqual([
      'stage must be 1-16 lower-case letters, digits or dashes starting with a letter, got "Prod"',
    ]);
  });

  it('accepts RS256 only with ALB JWT verification', () => {
    expect(() => parseAppConfig({ dataset, albJwtVerification: true })).not.toThrow();
  });

  it('accepts every algorithm the API can verify, Ed25519 included', () => {
    const config = parseAppConfig({ dataset, authAlgorithms: ['ES256', 'EdDSA', 'Ed25519'] });

    expect(config.authAlgorithms).toEqual(['ES256', 'EdDSA', 'Ed25519']);
  });

  it('reads auth.acceptedTokenTypes as the API compares them (lower case, no application/)', () => {
    const config = parseAppConfig({
      dataset,
      auth: {
        issuer: 'https://example.eu.auth0.com/',
        audience: 'https://api.example.com',
        scope: 'read:books',
        acceptedTokenTypes: ['application/at+jwt', 'JWT'],
      },
    });

    expect(config.auth?.acceptedTokenTypes).toEqual(['at+jwt', 'jwt']);
  });

  it('lists every problem in one error', () => {
    const call = () =>
      parseAppConfig({ dataset, stage: 'PROD', maxReceiveCount: 0, allowedCidr: 'anywhere' });

    expect(call).toThrow(ConfigurationError);
    expect(call).toThrow(/stage must be[\s\S]*allowedCidr must be[\s\S]*maxReceiveCount must be/);
  });
});

const authors = {
  name: 'authors',
  description: 'Authors keyed by id.',
  key: 'author_id',
  columns: [
    { name: 'author_id', type: 'string', required: true, description: 'A stable id.' },
    { name: 'name', type: 'string', required: true },
  ],
};

describe('parseAppConfig datasets', () => {
  it('reads a list of datasets in order, each with its own table write cap or the default', () => {
    const config = parseAppConfig({
      datasets: [dataset, { ...authors, maxWriteThroughput: 500 }],
      maxWriteThroughput: 2000,
    });

    expect(config.datasets.map(({ name, key, keyType }) => ({ name, key, keyType }))).toEqual([
      { name: 'books', key: 'isbn', keyType: 'N' },
      { name: 'authors', key: 'author_id', keyType: 'S' },
    ]);
    expect(config.dataset.name).toBe('books');
    expect(config.datasetMaxWriteThroughput).toEqual({ books: 2000, authors: 500 });
  });

  it('passes the handlers the schemas without descriptions or deployment settings', () => {
    const config = parseAppConfig({ datasets: [dataset, { ...authors, maxWriteThroughput: 5 }] });

    expect(JSON.parse(config.datasetsJson)).toEqual([
      dataset,
      {
        name: 'authors',
        key: 'author_id',
        columns: [
          { name: 'author_id', type: 'string', required: true },
          { name: 'name', type: 'string', required: true },
        ],
      },
    ]);
  });

  it('accepts datasets as the JSON string `cdk -c datasets=[...]` passes', () => {
    expect(parseAppConfig({ datasets: JSON.stringify([dataset, authors]) }).datasets).toHaveLength(
      2,
    );
  });

  it('lists every problem of every dataset in one message', () => {
    const problems = problemsOf({
      datasets: [
        dataset,
        { ...authors, key: 'nope', maxWriteThroughput: 0 },
        { ...dataset, name: 'Books!' },
        dataset,
        { ...authors, name: 'health' },
        {
          ...authors,
          name: 'reserved',
          columns: [...authors.columns, { name: '_source_line', type: 'integer' }],
        },
      ],
    });

    expect(problems).toEqual([
      'datasets[1] (authors): maxWriteThroughput must be an integer from 1 to 40000000, got 0',
      'datasets[4] (health): the name "health" is reserved (the API answers /health itself)',
      'datasets[1] (authors): key "nope" is not one of the columns',
      'datasets[2] (Books!): name must be lower-case letters, digits and dashes, starting with a letter',
      'datasets[3] (books): duplicate dataset name "books" (also [0]): the name is the key prefix, the API path and the table, so each must be unique',
      expect.stringMatching(
        /^datasets\[5\] \(reserved\): columns\[2\]: "_source_line" is reserved for provenance/,
      ),
    ]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'both dataset and datasets',
      { dataset, datasets: [authors] },
      'set datasets (a list of dataset schemas) or dataset (one schema), not both',
    ],
    ['an empty list', { datasets: [] }, 'datasets: must be a non-empty array'],
    ['a list that is not one', { datasets: { name: 'books' } }, 'datasets must be a list'],
    ['a string that is not JSON', { datasets: '[books' }, 'datasets must be a JSON array'],
    [
      'an external IdP scope shared by several datasets',
      {
        datasets: [dataset, authors],
        auth: { issuer: 'https://idp', audience: 'a', scope: 'read' },
      },
      'auth.scope must contain {dataset} with several datasets',
    ],
    [
      'schemas too large for a Lambda environment',
      {
        datasets: Array.from({ length: 40 }, (_, index) => ({
          ...dataset,
          name: `books-${index}`,
        })),
      },
      'bytes of JSON (descriptions left out) in every handler',
    ],
  ])('rejects %s', (_case, context, expected) => {
    expect(problemsOf(context)).toEqual(
      expect.arrayContaining([expect.stringContaining(expected)]),
    );
  });

  it('accepts one external scope per dataset through {dataset}', () => {
    const config = parseAppConfig({
      datasets: [dataset, authors],
      auth: { issuer: 'https://idp', audience: 'a', scope: 'api://ingest/{dataset}.read' },
    });

    expect(config.auth?.scope).toBe('api://ingest/{dataset}.read');
  });
});

describe('readCdkContext / loadAppConfig', () => {
  it('reads the project cdk.json, whose defaults validate', () => {
    const config = loadAppConfig();

    expect(config.dataset.name).toBe('books');
    expect(config.stage).toBe('dev');
  });

  it('lets overrides win over the file, like -c does', () => {
    expect(loadAppConfig(undefined, { stage: 'prod' }).stage).toBe('prod');
  });

  it('names the file when it is not JSON', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cdk-')), 'cdk.json');
    writeFileSync(path, '{ not json');

    expect(() => readCdkContext(path)).toThrow(new RegExp(`Invalid ${path}`));
  });
});

describe('environment builders', () => {
  const config: AppConfig = parseAppConfig({ dataset, logLevel: 'DEBUG' });
  const common = {
    DATASETS: JSON.stringify([dataset]),
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  };

  it('gives start-ingestion the state machine ARN', () => {
    expect(startIngestionEnvironment(config, { stateMachineArn: 'arn:sm' })).toEqual({
      ...common,
      POWERTOOLS_SERVICE_NAME: 'start-ingestion',
      STATE_MACHINE_ARN: 'arn:sm',
    });
  });

  it('gives plan-file its limits and its unreachable budget', () => {
    expect(planFileEnvironment(config)).toEqual({
      ...common,
      POWERTOOLS_SERVICE_NAME: 'plan-file',
      MAX_FILE_BYTES: String(DEFAULTS.maxFileBytes),
      CHUNK_TARGET_BYTES: String(DEFAULTS.chunkTargetBytes),
      MAX_CHUNKS: String(DEFAULTS.maxChunks),
      MAP_MAX_CONCURRENCY: String(DEFAULTS.mapMaxConcurrency),
      MAX_RECORD_BYTES: String(DEFAULTS.maxRecordBytes),
      UNREACHABLE_BUDGET_MS: String(DEFAULTS.unreachableBudgetSeconds * 1000),
    });
  });

  it('gives load-chunk the table, the control table, its write concurrency and its unreachable budget', () => {
    expect(
      loadChunkEnvironment(config, {
        tableNames: { books: 'books-table' },
        controlTableName: 'books-control',
      }),
    ).toEqual({
      ...common,
      POWERTOOLS_SERVICE_NAME: 'load-chunk',
      TABLE_NAMES: '{"books":"books-table"}',
      CONTROL_TABLE_NAME: 'books-control',
      WRITE_CONCURRENCY: String(DEFAULTS.writeConcurrency),
      MAX_RECORD_BYTES: String(DEFAULTS.maxRecordBytes),
      UNREACHABLE_BUDGET_MS: String(DEFAULTS.unreachableBudgetSeconds * 1000),
    });
  });

  it('gives the API the table and the resolved issuer, omitting an undiscovered JWKS URI', () => {
    const env = apiEnvironment(config, {
      tableNames: { books: 'books-table' },
      auth: { issuer: 'https://idp', audience: 'client', audienceClaim: 'client_id', scope: 'r' },
    });

    expect(env).toEqual({
      ...common,
      POWERTOOLS_SERVICE_NAME: 'api',
      TABLE_NAMES: '{"books":"books-table"}',
      AUTH_ISSUER: 'https://idp',
      AUTH_AUDIENCE: 'client',
      AUTH_AUDIENCE_CLAIM: 'client_id',
      AUTH_REQUIRED_SCOPE: 'r',
      AUTH_ALGORITHMS: 'RS256',
      AUTH_CLOCK_TOLERANCE_SECONDS: String(DEFAULTS.authClockToleranceSeconds),
    });
  });

  it('passes accepted token types to the API when the IdP needs them', () => {
    const env = apiEnvironment(config, {
      tableNames: { books: 'books-table' },
      auth: {
        issuer: 'https://idp',
        audience: 'api',
        audienceClaim: 'aud',
        scope: 'r',
        acceptedTokenTypes: ['at+jwt', 'jwt'],
      },
    });

    expect(env.AUTH_ACCEPTED_TOKEN_TYPES).toBe('at+jwt,jwt');
  });
});
