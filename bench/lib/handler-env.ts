import {
  type AppConfig,
  apiEnvironment,
  failureRecordEnvironment,
  type HandlerName,
  loadAppConfig,
  loadChunkEnvironment,
  planFileEnvironment,
  startIngestionEnvironment,
} from '../../infra/config.js';

/** Repository root (bench/lib → ../..). */
export const ROOT = new URL('../../', import.meta.url);

/** Nothing listens here: an accidental call during a measurement fails fast, never reaches AWS. */
const CLOSED = 'http://127.0.0.1:9';

/** The deployment configuration of cdk.json, exactly as the CDK app and local stack read it. */
export function appConfig(): AppConfig {
  return loadAppConfig();
}

/**
 * The environment the CDK app gives `handler` (from infra/config.ts's builders), with
 * resource names and endpoints that point nowhere, plus dummy credentials: every handler
 * module reads its configuration at import, so this is what an import needs.
 */
export function offlineHandlerEnv(
  handler: HandlerName,
  config = appConfig(),
): Record<string, string> {
  const tableName = `${config.dataset.name}-bench`;
  const byHandler: Record<HandlerName, () => Record<string, string>> = {
    'start-ingestion': () =>
      startIngestionEnvironment(config, {
        stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:bench',
      }),
    'plan-file': () => planFileEnvironment(config),
    'load-chunk': () =>
      loadChunkEnvironment(config, {
        tableNames: { [config.dataset.name]: tableName },
        controlTableName: `${tableName}-control`,
      }),
    'failure-record': () => failureRecordEnvironment(config),
    api: () =>
      apiEnvironment(config, {
        tableNames: { [config.dataset.name]: tableName },
        auth: {
          issuer: `${CLOSED}/issuer`,
          audience: 'bench',
          audienceClaim: 'aud',
          jwksUri: `${CLOSED}/jwks`,
          scope: `${config.dataset.name}-api/read`,
        },
      }),
  };
  return {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_ENDPOINT_URL_S3: CLOSED,
    AWS_ENDPOINT_URL_DYNAMODB: CLOSED,
    AWS_ENDPOINT_URL_SFN: CLOSED,
    AWS_ENDPOINT_URL_SQS: CLOSED,
    S3_FORCE_PATH_STYLE: 'true',
    ...byHandler[handler](),
  };
}

/** Whether `name` is one of the handlers the CDK app deploys. */
export function isHandlerName(name: string, handlers: readonly string[]): name is HandlerName {
  return handlers.includes(name);
}
