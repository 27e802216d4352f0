import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  DATASET_PLACEHOLDER,
  isTokenType,
  normalizeTokenType,
  SUPPORTED_ALGORITHMS,
} from '../handlers/api/config.js';
import { type DatasetSchema, parseDataset, parseDatasets } from '../handlers/shared/dataset.js';
import { ConfigurationError } from '../handlers/shared/errors.js';

/**
 * The deployment configuration: every setting a user can change, read from the
 * `cdk.json` context (or `cdk deploy -c name=value`), validated at synth time
 * with one message that lists every problem. Pure: no aws-cdk-lib import, so the
 * local stack reads exactly the same settings with the same defaults.
 */

/** An external OpenID Connect issuer (Auth0, Okta, Entra ID, ...) that replaces Cognito. */
export interface ExternalAuthConfig {
  /** The `iss` of access tokens, an https URL. */
  readonly issuer: string;
  /** The expected audience value (the API identifier at the IdP). */
  readonly audience: string;
  /** The claim that carries the audience. @default 'aud' */
  readonly audienceClaim: string;
  /** The JWKS URL. @default OIDC discovery from the issuer (required for `albJwtVerification`) */
  readonly jwksUri?: string;
  /**
   * The scope a read requires; `{dataset}` in it stands for the dataset read, so that
   * each dataset has its own scope (required with several datasets), e.g.
   * `api://ingest/{dataset}.read`.
   */
  readonly scope: string;
  /**
   * JOSE `typ` values accepted on access tokens (a token without `typ` always is).
   * Add `JWT` for IdPs that stamp it on access tokens (Auth0 without the RFC 9068
   * profile, Entra ID). @default ['at+jwt']
   */
  readonly acceptedTokenTypes?: readonly string[];
}

/** A validated deployment configuration. */
export interface AppConfig {
  /** Deployment stage; only `dev` destroys data on stack deletion. @default 'dev' */
  readonly stage: string;
  /**
   * Every dataset, in configured order (`datasets`, or `dataset` as a list of one):
   * each has its key prefix, table, API path and scope.
   */
  readonly datasets: readonly DatasetSchema[];
  /**
   * The first dataset: it names the shared resources (Cognito domain and resource
   * server, dashboard, local resource names) and is the default of the tools that
   * work on one dataset (the generator, the benches).
   */
  readonly dataset: DatasetSchema;
  /** The dataset definitions as configured, without descriptions: the handlers' `DATASETS`. */
  readonly datasetsJson: string;
  /**
   * The on-demand write ceiling of each dataset's table, by dataset name: the
   * dataset's own `maxWriteThroughput`, else the top-level one; absent: unbounded.
   */
  readonly datasetMaxWriteThroughput: Readonly<Record<string, number>>;
  /** ACM certificate ARN for the HTTPS listener. @default a `CertificateArn` stack parameter */
  readonly certificateArn?: string;
  /** External IdP. @default undefined: the stack creates a Cognito user pool */
  readonly auth?: ExternalAuthConfig;
  /** JWT algorithms the API accepts. @default ['RS256'] */
  readonly authAlgorithms: readonly string[];
  /** Clock skew the API tolerates on `exp`/`nbf`, in seconds. @default 30 */
  readonly authClockToleranceSeconds: number;
  /**
   * Cognito scope name suffix: each dataset's scope is `<resource server>/<dataset>.<name>`
   * (the resource server is `<first dataset>-api`). @default 'read'
   */
  readonly cognitoScopeName: string;
  /**
   * Cognito hosted domain prefix (unique per region).
   * @default '<dataset>-<stage>-<8 hex digits of the stack id>' (never the account id)
   */
  readonly cognitoDomainPrefix?: string;
  /** Cognito access token lifetime, in minutes. @default 60 */
  readonly accessTokenValidityMinutes: number;
  /** Source CIDR allowed to reach the load balancer. @default '0.0.0.0/0' */
  readonly allowedCidr: string;
  /** Also verify JWTs on the ALB (defence in depth; the Lambda always verifies). @default false */
  readonly albJwtVerification: boolean;
  /** Run the API Lambda inside the VPC (adds a NAT gateway for JWKS and a DynamoDB endpoint). @default false */
  readonly apiInVpc: boolean;
  /** Maximum concurrent start-ingestion invocations from the queue. @default 5 */
  readonly starterMaxConcurrency: number;
  /** SQS messages per start-ingestion invocation. @default 10 */
  readonly starterBatchSize: number;
  /** Chunks loaded in parallel per file (the Map's MaxConcurrency). @default 10 */
  readonly mapMaxConcurrency: number;
  /** BatchWriteItem calls in flight per load-chunk invocation. @default 4 */
  readonly writeConcurrency: number;
  /** Target chunk size in bytes. @default 4194304 (4 MiB) */
  readonly chunkTargetBytes: number;
  /** Hard cap on chunks per file; the planner grows chunks beyond it. @default 1000 */
  readonly maxChunks: number;
  /** Largest file accepted, in bytes. @default 5368709120 (5 GiB) */
  readonly maxFileBytes: number;
  /** Largest CSV record accepted, in bytes (DynamoDB items are at most 400 KB). @default 409600 */
  readonly maxRecordBytes: number;
  /** Deliveries of a file event before it moves to the DLQ (throttled deliveries count too). @default 15 */
  readonly maxReceiveCount: number;
  /**
   * The Lambda concurrent-executions quota of the target account and region, as
   * `aws lambda get-account-settings` reports it; synth checks the settings against it.
   * @default 1000
   */
  readonly accountConcurrencyLimit: number;
  /** Concurrency reserved for the API Lambda (a guarantee and a cap; 0: none). @default 20 */
  readonly apiReservedConcurrency: number;
  /** Concurrency reserved for load-chunk: the cap on loads across all files (0: none). @default 40 */
  readonly loaderReservedConcurrency: number;
  /**
   * How long a chunk keeps retrying while DynamoDB does not answer at all (connection
   * refused, DNS, timeout) before it fails with ServiceUnreachableError, in seconds.
   * @default 120
   */
  readonly unreachableBudgetSeconds: number;
  /** E-mail address subscribed to the alarm topic. @default none */
  readonly alarmEmail?: string;
  /**
   * DynamoDB on-demand maximum write request units per second of every table whose
   * dataset sets no `maxWriteThroughput` of its own. @default none (unbounded)
   */
  readonly maxWriteThroughput?: number;
  /** CloudWatch Logs retention of every log group, in days. @default 30 */
  readonly logRetentionDays: number;
  /** Powertools log level of the handlers. @default 'INFO' */
  readonly logLevel: LogLevel;
  /** Step Functions log level (ERROR or ALL: the lost-failure-record alarm reads ERROR events). @default 'ALL' in dev, 'ERROR' in any other stage */
  readonly workflowLogLevel: WorkflowLogLevel;
  /** Include execution data (inputs/outputs: file names, counts) in workflow logs. @default false */
  readonly workflowIncludeExecutionData: boolean;
  /** Noncurrent object versions are deleted after this many days. @default 30 */
  readonly noncurrentVersionExpirationDays: number;
}

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
// FATAL and OFF do not log what the FailureRecordLost alarm's metric filter reads.
export const WORKFLOW_LOG_LEVELS = ['ALL', 'ERROR'] as const;
export type WorkflowLogLevel = (typeof WORKFLOW_LOG_LEVELS)[number];

/** Retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

/** The defaults of every optional setting (also written into cdk.json for discoverability). */
export const DEFAULTS = {
  stage: 'dev',
  authAlgorithms: ['RS256'],
  authClockToleranceSeconds: 30,
  cognitoScopeName: 'read',
  accessTokenValidityMinutes: 60,
  allowedCidr: '0.0.0.0/0',
  albJwtVerification: false,
  apiInVpc: false,
  starterMaxConcurrency: 5,
  starterBatchSize: 10,
  mapMaxConcurrency: 10,
  writeConcurrency: 4,
  chunkTargetBytes: 4 * 1024 * 1024,
  maxChunks: 1000,
  maxFileBytes: 5 * 1024 * 1024 * 1024,
  maxRecordBytes: 400 * 1024,
  maxReceiveCount: 15,
  accountConcurrencyLimit: 1000,
  apiReservedConcurrency: 20,
  loaderReservedConcurrency: 40,
  unreachableBudgetSeconds: 120,
  logRetentionDays: 30,
  logLevel: 'INFO',
  workflowIncludeExecutionData: false,
  noncurrentVersionExpirationDays: 30,
} as const satisfies Partial<Record<keyof AppConfig, unknown>>;

/** Every context key this app reads; anything else that looks like ours is a typo. */
export const CONTEXT_KEYS = [
  'stage',
  'dataset',
  'datasets',
  'certificateArn',
  'auth',
  'authAlgorithms',
  'authClockToleranceSeconds',
  'cognitoScopeName',
  'cognitoDomainPrefix',
  'accessTokenValidityMinutes',
  'allowedCidr',
  'albJwtVerification',
  'apiInVpc',
  'starterMaxConcurrency',
  'starterBatchSize',
  'mapMaxConcurrency',
  'writeConcurrency',
  'chunkTargetBytes',
  'maxChunks',
  'maxFileBytes',
  'maxRecordBytes',
  'maxReceiveCount',
  'accountConcurrencyLimit',
  'apiReservedConcurrency',
  'loaderReservedConcurrency',
  'unreachableBudgetSeconds',
  'alarmEmail',
  'maxWriteThroughput',
  'logRetentionDays',
  'logLevel',
  'workflowLogLevel',
  'workflowIncludeExecutionData',
  'noncurrentVersionExpirationDays',
] as const;

// Context keys the CDK toolkit itself sets (feature flags, asset/bundling switches).
const TOOLKIT_KEY = /^@|:|^acknowledged-issue-numbers$|^cli-telemetry$/;
/** Path segments the API answers itself; no dataset may be named so. */
const RESERVED_DATASET_NAMES = ['health'];
/**
 * Room for `DATASETS` in a Lambda environment: AWS allows 4 KB for all variables, and
 * the API's other variables (issuer, audience, JWKS URL, table names) take about 1 KB.
 */
export const MAX_DATASETS_JSON_BYTES = 2560;
const AUTH_KEYS = ['issuer', 'audience', 'audienceClaim', 'jwksUri', 'scope', 'acceptedTokenTypes'];
const STAGE_PATTERN = /^[a-z][a-z0-9-]{0,15}$/;
const CERTIFICATE_ARN_PATTERN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const CLAIM_PATTERN = /^[A-Za-z_][A-Za-z0-9_:.-]*$/;
// RFC 6749 scope-token: printable ASCII except space, quote and backslash.
const SCOPE_PATTERN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
// The API's own list: what one accepts, the other can verify.
const ALGORITHMS: readonly string[] = SUPPORTED_ALGORITHMS;
// Cognito hosted domain prefixes: 1-63 lower-case letters, digits and inner dashes.
const DOMAIN_PREFIX_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DOMAIN_PREFIX_RESERVED = /aws|amazon|cognito/;
/** Hex digits of the stack id that end the default Cognito domain prefix. */
export const DOMAIN_PREFIX_SUFFIX_LENGTH = 8;
/** The only signature algorithm an ALB `jwt-validation` action verifies. */
export const ALB_JWT_ALGORITHM = 'RS256';

/**
 * Validates the app's context (as `cdk.json` holds it, or as `-c name=value`
 * strings) and returns the typed configuration with defaults applied.
 * Throws one ConfigurationError listing every problem.
 */
export function parseAppConfig(context: Readonly<Record<string, unknown>>): AppConfig {
  const problems: string[] = [];
  const read = new ContextReader(context, problems);

  for (const key of Object.keys(context)) {
    if (!TOOLKIT_KEY.test(key) && !(CONTEXT_KEYS as readonly string[]).includes(key)) {
      problems.push(`unknown setting "${key}" (known: ${CONTEXT_KEYS.join(', ')})`);
    }
  }

  const stage = read.string('stage', DEFAULTS.stage);
  const stageValid = STAGE_PATTERN.test(stage);
  if (!stageValid) {
    problems.push(
      `stage must be 1-16 lower-case letters, digits or dashes starting with a letter, got "${stage}"`,
    );
  }

  const maxWriteThroughput = read.optionalInteger('maxWriteThroughput', 1, 40_000_000);
  const { datasets, datasetsJson, datasetMaxWriteThroughput } = readDatasets(
    read,
    problems,
    maxWriteThroughput,
  );
  const dataset = datasets[0];

  const certificateArn = read.optionalString('certificateArn');
  if (certificateArn !== undefined && !CERTIFICATE_ARN_PATTERN.test(certificateArn)) {
    problems.push(
      `certificateArn must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>), got "${certificateArn}"`,
    );
  }

  const auth = parseAuth(read.object('auth'), problems);
  if (auth !== undefined && datasets.length > 1 && !auth.scope.includes(DATASET_PLACEHOLDER)) {
    problems.push(
      `auth.scope must contain ${DATASET_PLACEHOLDER} with several datasets, so that each dataset has its own scope (for example "api://ingest/${DATASET_PLACEHOLDER}.read"), got "${auth.scope}"`,
    );
  }

  const authAlgorithms = read.stringList('authAlgorithms', DEFAULTS.authAlgorithms);
  for (const algorithm of authAlgorithms) {
    if (!ALGORITHMS.includes(algorithm)) {
      problems.push(
        `authAlgorithms: "${algorithm}" is not an asymmetric JWS algorithm (${ALGORITHMS.join(', ')})`,
      );
    }
  }
  if (authAlgorithms.length === 0) problems.push('authAlgorithms must name at least one algorithm');

  const cognitoScopeName = read.string('cognitoScopeName', DEFAULTS.cognitoScopeName);
  if (!/^[A-Za-z0-9_.-]{1,256}$/.test(cognitoScopeName)) {
    problems.push(
      `cognitoScopeName must be letters, digits, _ . - (1-256), got "${cognitoScopeName}"`,
    );
  }

  const cognitoDomainPrefix = read.optionalString('cognitoDomainPrefix');
  if (
    cognitoDomainPrefix !== undefined &&
    (!DOMAIN_PREFIX_PATTERN.test(cognitoDomainPrefix) ||
      DOMAIN_PREFIX_RESERVED.test(cognitoDomainPrefix))
  ) {
    problems.push(
      `cognitoDomainPrefix must be 1-63 lower-case letters, digits and inner dashes without "aws", "amazon" or "cognito", got "${cognitoDomainPrefix}"`,
    );
  }
  if (
    auth === undefined &&
    cognitoDomainPrefix === undefined &&
    dataset !== undefined &&
    stageValid
  ) {
    // The default "<dataset>-<stage>-<stack id>" is only known whole at deploy time;
    // Cognito would reject it there, so check its shape now with a sample suffix.
    const sample = `${dataset.name}-${stage}-${'0'.repeat(DOMAIN_PREFIX_SUFFIX_LENGTH)}`;
    if (!DOMAIN_PREFIX_PATTERN.test(sample) || DOMAIN_PREFIX_RESERVED.test(sample)) {
      problems.push(
        `the default Cognito domain prefix "${dataset.name}-${stage}-<${DOMAIN_PREFIX_SUFFIX_LENGTH} hex digits>" (${sample.length} characters) is not valid: Cognito allows at most 63 and no "aws", "amazon" or "cognito"; set cognitoDomainPrefix`,
      );
    }
  }

  const allowedCidr = read.string('allowedCidr', DEFAULTS.allowedCidr);
  // The load balancer is IPv4-only, so an IPv6 block would admit nobody.
  if (!isIpv4Cidr(allowedCidr)) {
    problems.push(
      `allowedCidr must be an IPv4 CIDR block such as 203.0.113.0/24, got "${allowedCidr}"`,
    );
  }

  const albJwtVerification = read.boolean('albJwtVerification', DEFAULTS.albJwtVerification);
  if (albJwtVerification && auth !== undefined && auth.jwksUri === undefined) {
    problems.push(
      'albJwtVerification with an external auth needs auth.jwksUri (the ALB does no discovery)',
    );
  }
  const notAlbAlgorithms = authAlgorithms.filter((algorithm) => algorithm !== ALB_JWT_ALGORITHM);
  if (albJwtVerification && notAlbAlgorithms.length > 0) {
    problems.push(
      `albJwtVerification needs authAlgorithms ["${ALB_JWT_ALGORITHM}"]: the load balancer verifies ${ALB_JWT_ALGORITHM} signatures only and would refuse every token signed with ${notAlbAlgorithms.join(', ')}; turn albJwtVerification off or accept ${ALB_JWT_ALGORITHM} only`,
    );
  }

  const alarmEmail = read.optionalString('alarmEmail');
  if (alarmEmail !== undefined && !EMAIL_PATTERN.test(alarmEmail)) {
    problems.push(`alarmEmail must be an e-mail address, got "${alarmEmail}"`);
  }

  const logRetentionDays = read.integer('logRetentionDays', DEFAULTS.logRetentionDays, 1, 3653);
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    problems.push(
      `logRetentionDays must be one of ${LOG_RETENTION_DAYS.join(', ')}, got ${logRetentionDays}`,
    );
  }

  const chunkTargetBytes = read.integer(
    'chunkTargetBytes',
    DEFAULTS.chunkTargetBytes,
    64 * 1024,
    1024 * 1024 * 1024,
  );
  const maxRecordBytes = read.integer(
    'maxRecordBytes',
    DEFAULTS.maxRecordBytes,
    1024,
    4 * 1024 * 1024,
  );
  if (maxRecordBytes > chunkTargetBytes) {
    problems.push(
      `maxRecordBytes (${maxRecordBytes}) must not exceed chunkTargetBytes (${chunkTargetBytes})`,
    );
  }

  const config: AppConfig = {
    stage,
    datasets,
    dataset: dataset as DatasetSchema,
    datasetsJson,
    datasetMaxWriteThroughput,
    ...(certificateArn === undefined ? {} : { certificateArn }),
    ...(auth === undefined ? {} : { auth }),
    authAlgorithms,
    authClockToleranceSeconds: read.integer(
      'authClockToleranceSeconds',
      DEFAULTS.authClockToleranceSeconds,
      0,
      60,
    ),
    cognitoScopeName,
    ...(cognitoDomainPrefix === undefined ? {} : { cognitoDomainPrefix }),
    accessTokenValidityMinutes: read.integer(
      'accessTokenValidityMinutes',
      DEFAULTS.accessTokenValidityMinutes,
      5,
      1440,
    ),
    allowedCidr,
    albJwtVerification,
    apiInVpc: read.boolean('apiInVpc', DEFAULTS.apiInVpc),
    // The SQS event source accepts a maximum concurrency from 2 to 1000.
    starterMaxConcurrency: read.integer(
      'starterMaxConcurrency',
      DEFAULTS.starterMaxConcurrency,
      2,
      1000,
    ),
    starterBatchSize: read.integer('starterBatchSize', DEFAULTS.starterBatchSize, 1, 10),
    // An inline Map runs at most 40 iterations at once.
    mapMaxConcurrency: read.integer('mapMaxConcurrency', DEFAULTS.mapMaxConcurrency, 1, 40),
    writeConcurrency: read.integer('writeConcurrency', DEFAULTS.writeConcurrency, 1, 64),
    chunkTargetBytes,
    // Each Map iteration adds about seven history events and each chunk retry about three:
    // 1,000 chunks (7,000 events) leave room for thousands of retries below 25,000.
    maxChunks: read.integer('maxChunks', DEFAULTS.maxChunks, 1, 1000),
    maxFileBytes: read.integer('maxFileBytes', DEFAULTS.maxFileBytes, 1, 5 * 1024 ** 4),
    maxRecordBytes,
    // SQS redrive policies accept 1 to 1000 receives.
    maxReceiveCount: read.integer('maxReceiveCount', DEFAULTS.maxReceiveCount, 1, 1000),
    accountConcurrencyLimit: read.integer(
      'accountConcurrencyLimit',
      DEFAULTS.accountConcurrencyLimit,
      1,
      1_000_000,
    ),
    apiReservedConcurrency: read.integer(
      'apiReservedConcurrency',
      DEFAULTS.apiReservedConcurrency,
      0,
      1_000_000,
    ),
    loaderReservedConcurrency: read.integer(
      'loaderReservedConcurrency',
      DEFAULTS.loaderReservedConcurrency,
      0,
      1_000_000,
    ),
    // The loader must give up while its Lambda still has time to report it (timeout
    // minus the safety margin and the last backoff).
    unreachableBudgetSeconds: read.integer(
      'unreachableBudgetSeconds',
      DEFAULTS.unreachableBudgetSeconds,
      1,
      HANDLER_SIZING['load-chunk'].timeoutSeconds - 30,
    ),
    ...(alarmEmail === undefined ? {} : { alarmEmail }),
    ...(maxWriteThroughput === undefined ? {} : { maxWriteThroughput }),
    logRetentionDays,
    logLevel: read.oneOf('logLevel', LOG_LEVELS, DEFAULTS.logLevel),
    workflowLogLevel: readWorkflowLogLevel(read, stage, problems),
    workflowIncludeExecutionData: read.boolean(
      'workflowIncludeExecutionData',
      DEFAULTS.workflowIncludeExecutionData,
    ),
    noncurrentVersionExpirationDays: read.integer(
      'noncurrentVersionExpirationDays',
      DEFAULTS.noncurrentVersionExpirationDays,
      1,
      3650,
    ),
  };

  if (problems.length > 0) throw new ConfigurationError('cdk.json context', problems);
  return config;
}

/**
 * Reads `datasets` (a list of dataset schemas, each optionally with its own
 * `maxWriteThroughput`) or `dataset` (one schema: a list of one), recording every
 * problem of every dataset.
 */
function readDatasets(
  read: ContextReader,
  problems: string[],
  defaultMaxWriteThroughput: number | undefined,
): Pick<AppConfig, 'datasets' | 'datasetsJson' | 'datasetMaxWriteThroughput'> {
  const single = read.object('dataset');
  const list = read.list('datasets');
  const none = { datasets: [], datasetsJson: '[]', datasetMaxWriteThroughput: {} };
  if (single !== undefined && list !== undefined) {
    problems.push(
      'set datasets (a list of dataset schemas) or dataset (one schema), not both: move dataset into datasets',
    );
    return none;
  }
  if (single === undefined && list === undefined) {
    if (!read.has('dataset') && !read.has('datasets')) {
      problems.push(
        'datasets is required (a list of dataset schemas, or dataset for one; see docs/deploy.md)',
      );
    }
    return none;
  }
  const source = list === undefined ? 'dataset' : 'datasets';
  const definitions: unknown[] = list ?? [single];
  // Deployment settings come off each entry; the schema goes to the handlers, without descriptions.
  const caps: Record<string, number> = {};
  const schemas = definitions.map((definition, index) => {
    if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) {
      return definition;
    }
    const { maxWriteThroughput, ...schema } = definition as Record<string, unknown>;
    const name = typeof schema.name === 'string' ? schema.name : undefined;
    const where = list === undefined ? 'dataset' : `datasets[${index}]${name ? ` (${name})` : ''}`;
    if (maxWriteThroughput !== undefined) {
      if (
        typeof maxWriteThroughput !== 'number' ||
        !Number.isSafeInteger(maxWriteThroughput) ||
        maxWriteThroughput < 1 ||
        maxWriteThroughput > 40_000_000
      ) {
        problems.push(
          `${where}: maxWriteThroughput must be an integer from 1 to 40000000, got ${describe(maxWriteThroughput)}`,
        );
      } else if (name !== undefined) {
        caps[name] = maxWriteThroughput;
      }
    }
    if (name !== undefined && RESERVED_DATASET_NAMES.includes(name)) {
      problems.push(`${where}: the name "${name}" is reserved (the API answers /${name} itself)`);
    }
    return withoutDescriptions(schema);
  });
  let datasets: DatasetSchema[] = [];
  try {
    datasets =
      list === undefined
        ? [parseDataset(schemas[0], 'dataset')]
        : parseDatasets(schemas, 'datasets');
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    problems.push(
      ...error.problems.map((problem) =>
        list !== undefined && problem.startsWith('[')
          ? `datasets${problem}`
          : `${source}: ${problem}`,
      ),
    );
    return none;
  }
  const datasetsJson = JSON.stringify(schemas);
  const bytes = Buffer.byteLength(datasetsJson);
  if (bytes > MAX_DATASETS_JSON_BYTES) {
    problems.push(
      `${source}: the schemas take ${bytes} bytes of JSON (descriptions left out) in every handler's environment, which holds 4 KB in all; at most ${MAX_DATASETS_JSON_BYTES} fit: drop columns or datasets, or deploy a second stack`,
    );
  }
  const datasetMaxWriteThroughput: Record<string, number> = {};
  for (const { name } of datasets) {
    const cap = caps[name] ?? defaultMaxWriteThroughput;
    if (cap !== undefined) datasetMaxWriteThroughput[name] = cap;
  }
  return { datasets, datasetsJson, datasetMaxWriteThroughput };
}

/** A dataset definition without its and its columns' `description`s (the handlers never read them). */
function withoutDescriptions(schema: Record<string, unknown>): Record<string, unknown> {
  const { description: _description, ...rest } = schema;
  if (!Array.isArray(rest.columns)) return rest;
  return {
    ...rest,
    columns: rest.columns.map((column: unknown) => {
      if (typeof column !== 'object' || column === null || Array.isArray(column)) return column;
      const { description: _columnDescription, ...kept } = column as Record<string, unknown>;
      return kept;
    }),
  };
}

/** The workflow log level when none is set: every event in dev, errors only in other stages. */
export function defaultWorkflowLogLevel(stage: string): WorkflowLogLevel {
  return stage === 'dev' ? 'ALL' : 'ERROR';
}

function readWorkflowLogLevel(
  read: ContextReader,
  stage: string,
  problems: string[],
): WorkflowLogLevel {
  const fallback = defaultWorkflowLogLevel(stage);
  const value = read.string('workflowLogLevel', fallback);
  if ((WORKFLOW_LOG_LEVELS as readonly string[]).includes(value)) return value as WorkflowLogLevel;
  problems.push(
    value === 'FATAL' || value === 'OFF'
      ? `workflowLogLevel must be ${WORKFLOW_LOG_LEVELS.join(' or ')}, got "${value}": the FailureRecordLost alarm counts the ExecutionFailed events those levels log, so ${value} would hide a failure whose record never reached the DLQ`
      : `workflowLogLevel must be one of ${WORKFLOW_LOG_LEVELS.join(', ')}, got "${value}"`,
  );
  return fallback;
}

function parseAuth(
  raw: Record<string, unknown> | undefined,
  problems: string[],
): ExternalAuthConfig | undefined {
  if (raw === undefined) return undefined;
  for (const key of Object.keys(raw)) {
    if (!AUTH_KEYS.includes(key)) {
      problems.push(`auth: unknown field "${key}" (known: ${AUTH_KEYS.join(', ')})`);
    }
  }
  const text = (field: string): string | undefined => {
    const value = raw[field];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.trim() === '') {
      problems.push(`auth.${field} must be a non-empty string`);
      return undefined;
    }
    return value.trim();
  };
  const issuer = text('issuer');
  const audience = text('audience');
  const audienceClaim = text('audienceClaim') ?? 'aud';
  const jwksUri = text('jwksUri');
  const scope = text('scope');
  if (issuer === undefined)
    problems.push('auth.issuer is required (the https URL tokens name in "iss")');
  else if (!isHttpsUrl(issuer)) problems.push(`auth.issuer must be an https URL, got "${issuer}"`);
  if (audience === undefined)
    problems.push('auth.audience is required (the API identifier at the IdP)');
  if (!CLAIM_PATTERN.test(audienceClaim)) {
    problems.push(`auth.audienceClaim must be a claim name, got "${audienceClaim}"`);
  }
  if (jwksUri !== undefined && !isHttpsUrl(jwksUri)) {
    problems.push(`auth.jwksUri must be an https URL, got "${jwksUri}"`);
  }
  if (scope === undefined) problems.push('auth.scope is required (the scope every read needs)');
  else if (!SCOPE_PATTERN.test(scope)) {
    problems.push(`auth.scope must be one scope token without spaces or quotes, got "${scope}"`);
  }
  const acceptedTokenTypes = parseTokenTypes(raw.acceptedTokenTypes, problems);
  return {
    issuer: issuer ?? '',
    audience: audience ?? '',
    audienceClaim,
    ...(jwksUri === undefined ? {} : { jwksUri }),
    scope: scope ?? '',
    ...(acceptedTokenTypes === undefined ? {} : { acceptedTokenTypes }),
  };
}

function parseTokenTypes(value: unknown, problems: string[]): string[] | undefined {
  if (value === undefined) return undefined;
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((item) => typeof item === 'string' && isTokenType(item))
  ) {
    problems.push(
      `auth.acceptedTokenTypes must be a non-empty list of media types such as ["at+jwt", "JWT"], got ${describe(value)}`,
    );
    return undefined;
  }
  return [...new Set((value as string[]).map(normalizeTokenType))];
}

/**
 * Reads typed values from the context, accepting both JSON values (cdk.json)
 * and strings (`-c name=value` on the command line), recording every problem.
 */
class ContextReader {
  constructor(
    private readonly context: Readonly<Record<string, unknown>>,
    private readonly problems: string[],
  ) {}

  optionalString(name: string): string | undefined {
    const value = this.context[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      this.problems.push(`${name} must be a string, got ${describe(value)}`);
      return undefined;
    }
    return value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.optionalString(name) ?? fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.string(name, fallback);
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${name} must be one of ${allowed.join(', ')}, got "${value}"`);
    return fallback;
  }

  optionalInteger(name: string, min: number, max: number): number | undefined {
    const value = this.context[name];
    if (value === undefined || value === null || value === '') return undefined;
    const number =
      typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    if (
      typeof number !== 'number' ||
      !Number.isSafeInteger(number) ||
      number < min ||
      number > max
    ) {
      this.problems.push(
        `${name} must be an integer from ${min} to ${max}, got ${describe(value)}`,
      );
      return undefined;
    }
    return number;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    return this.optionalInteger(name, min, max) ?? fallback;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.context[name];
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    this.problems.push(`${name} must be true or false, got ${describe(value)}`);
    return fallback;
  }

  stringList(name: string, fallback: readonly string[]): string[] {
    const value = this.context[name];
    if (value === undefined || value === null) return [...fallback];
    const items = typeof value === 'string' ? value.split(',').map((item) => item.trim()) : value;
    if (!Array.isArray(items) || !items.every((item) => typeof item === 'string' && item !== '')) {
      this.problems.push(`${name} must be a list of strings, got ${describe(value)}`);
      return [...fallback];
    }
    return items as string[];
  }

  /** Whether the setting is present at all (even with a bad value). */
  has(name: string): boolean {
    return this.context[name] !== undefined && this.context[name] !== null;
  }

  /** A JSON array (cdk.json), or a string holding one (`-c name=[...]`). */
  list(name: string): unknown[] | undefined {
    const value = this.parsed(name, 'a JSON array');
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) {
      this.problems.push(`${name} must be a list, got ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  /** The value as cdk.json holds it, or a `-c` string parsed as JSON (undefined, and a problem, if it is not JSON). */
  private parsed(name: string, what: string): unknown {
    const value = this.context[name];
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value);
    } catch {
      this.problems.push(`${name} must be ${what}, got a string that is not JSON`);
      return undefined;
    }
  }

  object(name: string): Record<string, unknown> | undefined {
    const value = this.parsed(name, 'a JSON object');
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.problems.push(`${name} must be an object, got ${describe(value)}`);
      return undefined;
    }
    return value as Record<string, unknown>;
  }
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : (JSON.stringify(value) ?? String(value));
}

function isHttpsUrl(text: string): boolean {
  try {
    return new URL(text).protocol === 'https:';
  } catch {
    return false;
  }
}

function isIpv4Cidr(text: string): boolean {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!match) return false;
  const [, a, b, c, d, bits] = match.map(Number);
  return [a, b, c, d].every((octet) => octet !== undefined && octet <= 255) && (bits ?? 99) <= 32;
}

/** The path of the project's cdk.json. */
export const CDK_JSON_PATH = fileURLToPath(new URL('../cdk.json', import.meta.url));

/**
 * Reads the `context` object of cdk.json, for callers outside the CDK app (the
 * local stack). `overrides` win, as `-c name=value` does for `cdk deploy`.
 */
export function readCdkContext(
  path: string = CDK_JSON_PATH,
  overrides: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigurationError(path, [
      `cannot read it as JSON: ${error instanceof Error ? error.message : String(error)}`,
    ]);
  }
  const context =
    typeof parsed === 'object' && parsed !== null && 'context' in parsed ? parsed.context : {};
  if (typeof context !== 'object' || context === null || Array.isArray(context)) {
    throw new ConfigurationError(path, ['"context" must be an object']);
  }
  return { ...(context as Record<string, unknown>), ...overrides };
}

/** Reads and validates cdk.json's context in one step (see readCdkContext). */
export function loadAppConfig(
  path: string = CDK_JSON_PATH,
  overrides: Readonly<Record<string, unknown>> = {},
): AppConfig {
  return parseAppConfig(readCdkContext(path, overrides));
}

/**
 * The issuer, audience and scope the API verifies, once resolved (Cognito, external
 * or the local stack's issuer): the same fields an external IdP is configured with.
 */
export type ResolvedAuth = ExternalAuthConfig;

/** Logical handler names: the folder under handlers/ and the Powertools service name. */
export const HANDLERS = [
  'start-ingestion',
  'plan-file',
  'load-chunk',
  'failure-record',
  'api',
] as const;
export type HandlerName = (typeof HANDLERS)[number];

/** Memory and timeout of each handler Lambda (the local stack applies the same timeouts). */
export const HANDLER_SIZING: Readonly<
  Record<HandlerName, { readonly memoryMb: number; readonly timeoutSeconds: number }>
> = {
  'start-ingestion': { memoryMb: 256, timeoutSeconds: 30 },
  // One CPU-bound streaming pass over the file: 1,769 MB buys a full vCPU; 15 minutes bounds the size.
  'plan-file': { memoryMb: 1769, timeoutSeconds: 900 },
  'load-chunk': { memoryMb: 1024, timeoutSeconds: 300 },
  // Pure: rewrites one record of at most a few hundred KB.
  'failure-record': { memoryMb: 256, timeoutSeconds: 10 },
  api: { memoryMb: 512, timeoutSeconds: 15 },
};

/** Visibility timeout of the file-events queue: six times the starter's timeout, as AWS advises. */
export const FILE_EVENTS_VISIBILITY_TIMEOUT_SECONDS =
  6 * HANDLER_SIZING['start-ingestion'].timeoutSeconds;

/**
 * How long the starter's event source gathers file events into one batch. Zero, as
 * Lambda's default: starting an execution is cheap, and a user waiting for a file to
 * load should not wait for a batch to fill.
 */
export const STARTER_MAX_BATCHING_WINDOW_SECONDS = 0;

/** Environment every handler gets: the datasets and the Powertools settings. */
export function commonEnvironment(config: AppConfig, handler: HandlerName): Record<string, string> {
  return {
    DATASETS: config.datasetsJson,
    POWERTOOLS_SERVICE_NAME: handler,
    POWERTOOLS_LOG_LEVEL: config.logLevel,
  };
}

/** Environment of start-ingestion; the caller supplies the state machine ARN. */
export function startIngestionEnvironment(
  config: AppConfig,
  resources: { readonly stateMachineArn: string },
): Record<string, string> {
  return {
    ...commonEnvironment(config, 'start-ingestion'),
    STATE_MACHINE_ARN: resources.stateMachineArn,
  };
}

/** Environment of plan-file (no resource names: it reads the object the workflow names). */
export function planFileEnvironment(config: AppConfig): Record<string, string> {
  return {
    ...commonEnvironment(config, 'plan-file'),
    MAX_FILE_BYTES: String(config.maxFileBytes),
    CHUNK_TARGET_BYTES: String(config.chunkTargetBytes),
    MAX_CHUNKS: String(config.maxChunks),
    MAP_MAX_CONCURRENCY: String(config.mapMaxConcurrency),
    MAX_RECORD_BYTES: String(config.maxRecordBytes),
    UNREACHABLE_BUDGET_MS: String(config.unreachableBudgetSeconds * 1000),
  };
}

/** The table of each dataset, by dataset name (the `TABLE_NAMES` of load-chunk and the API). */
export type TableNames = Readonly<Record<string, string>>;

/** Environment of load-chunk; the caller supplies the table names. */
export function loadChunkEnvironment(
  config: AppConfig,
  resources: { readonly tableNames: TableNames; readonly controlTableName: string },
): Record<string, string> {
  return {
    ...commonEnvironment(config, 'load-chunk'),
    TABLE_NAMES: JSON.stringify(resources.tableNames),
    CONTROL_TABLE_NAME: resources.controlTableName,
    WRITE_CONCURRENCY: String(config.writeConcurrency),
    MAX_RECORD_BYTES: String(config.maxRecordBytes),
    UNREACHABLE_BUDGET_MS: String(config.unreachableBudgetSeconds * 1000),
  };
}

/** Environment of failure-record: nothing beyond the common settings (it calls no AWS API). */
export function failureRecordEnvironment(config: AppConfig): Record<string, string> {
  return commonEnvironment(config, 'failure-record');
}

/**
 * Environment of the API; the caller supplies the table names and the resolved issuer
 * (whose scope may hold `{dataset}`, see datasetScope).
 */
export function apiEnvironment(
  config: AppConfig,
  resources: { readonly tableNames: TableNames; readonly auth: ResolvedAuth },
): Record<string, string> {
  const { auth } = resources;
  return {
    ...commonEnvironment(config, 'api'),
    TABLE_NAMES: JSON.stringify(resources.tableNames),
    AUTH_ISSUER: auth.issuer,
    AUTH_AUDIENCE: auth.audience,
    AUTH_AUDIENCE_CLAIM: auth.audienceClaim,
    ...(auth.jwksUri === undefined ? {} : { AUTH_JWKS_URI: auth.jwksUri }),
    AUTH_REQUIRED_SCOPE: auth.scope,
    AUTH_ALGORITHMS: config.authAlgorithms.join(','),
    AUTH_CLOCK_TOLERANCE_SECONDS: String(config.authClockToleranceSeconds),
    ...(auth.acceptedTokenTypes === undefined
      ? {}
      : { AUTH_ACCEPTED_TOKEN_TYPES: auth.acceptedTokenTypes.join(',') }),
  };
}
