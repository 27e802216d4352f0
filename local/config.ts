import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppConfig } from '../infra/config.js';
import type { PortSpec } from './ports.js';

/** The project root (local/ is one level below it). */
export const PROJECT_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Account and partition of every local ARN (fauxqs uses the same account). */
export const LOCAL_ACCOUNT = '000000000000';

/** The servers of the local stack, with their default ports and the option and variable that override each. */
export const PORTS = {
  aws: { service: 'S3 + SQS (fauxqs)', port: 4566, option: 'aws-port', env: 'LOCAL_AWS_PORT' },
  dynamodb: {
    service: 'DynamoDB (dynalite)',
    port: 4567,
    option: 'dynamodb-port',
    env: 'LOCAL_DYNAMODB_PORT',
  },
  stepfunctions: {
    service: 'Step Functions',
    port: 8083,
    option: 'stepfunctions-port',
    env: 'LOCAL_STEPFUNCTIONS_PORT',
  },
  auth: { service: 'OAuth 2.0 issuer', port: 9400, option: 'auth-port', env: 'LOCAL_AUTH_PORT' },
  api: { service: 'HTTPS API (ALB)', port: 8443, option: 'api-port', env: 'LOCAL_API_PORT' },
  console: {
    service: 'Console (browser)',
    port: 8084,
    option: 'console-port',
    env: 'LOCAL_CONSOLE_PORT',
  },
} as const;

export type PortName = keyof typeof PORTS;

/** Where a server listens (`port`, else its default) and how a user changes it, for error messages. */
export function portSpec(name: PortName, port?: number): PortSpec {
  const { service, option, env } = PORTS[name];
  return { service, port: port ?? PORTS[name].port, flag: `--${option} / ${env}` };
}

/** Names of the local resources: fixed, so tools and docs can rely on them. */
export interface ResourceNames {
  readonly bucket: string;
  /** The first dataset's table. */
  readonly table: string;
  /** Every dataset's table, by dataset name, in configured order. */
  readonly tables: Readonly<Record<string, string>>;
  /** Write leases and the newest upload per table (handlers/load-chunk/write-lease.ts). */
  readonly controlTable: string;
  readonly queue: string;
  readonly dlq: string;
  readonly stateMachine: string;
  readonly functions: Readonly<
    Record<'start-ingestion' | 'plan-file' | 'load-chunk' | 'failure-record' | 'api', string>
  >;
}

/**
 * Resource names derived from the datasets and stage: the shared resources are named
 * after the first dataset, each table after its own.
 */
export function resourceNames(config: AppConfig): ResourceNames {
  const base = `${config.dataset.name}-${config.stage}`;
  const tableOf = (dataset: string) => `${dataset}-${config.stage}-items`;
  return {
    bucket: `${base}-uploads`,
    table: tableOf(config.dataset.name),
    tables: Object.fromEntries(config.datasets.map(({ name }) => [name, tableOf(name)])),
    controlTable: `${base}-ingestion-control`,
    queue: `${base}-file-events`,
    dlq: `${base}-file-events-dlq`,
    stateMachine: `${base}-ingest-file`,
    functions: {
      'start-ingestion': `${base}-start-ingestion`,
      'plan-file': `${base}-plan-file`,
      'load-chunk': `${base}-load-chunk`,
      'failure-record': `${base}-failure-record`,
      api: `${base}-api`,
    },
  };
}

/** Credentials for the local endpoints: any value works, but the SDK signs every request. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

/** The client the local issuer knows (document it: it is for local use only). */
export const LOCAL_CLIENT = {
  clientId: 'local-client',
  clientSecret: 'local-secret',
} as const;

/** The `.local/` layout. */
export function dataPaths(dataDir: string) {
  return {
    root: dataDir,
    endpoints: join(dataDir, 'endpoints.json'),
    dynamodb: join(dataDir, 'dynamodb'),
    fauxqs: join(dataDir, 'fauxqs'),
    executions: join(dataDir, 'stepfunctions', 'executions'),
    tls: join(dataDir, 'tls'),
    issuerKey: join(dataDir, 'issuer-key.json'),
  };
}

/** The default data directory. */
export const DEFAULT_DATA_DIR = join(PROJECT_ROOT, '.local');
