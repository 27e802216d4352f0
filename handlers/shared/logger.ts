import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one structured logger of every handler. Service name and level come from
 * the Powertools environment variables (`POWERTOOLS_SERVICE_NAME`,
 * `POWERTOOLS_LOG_LEVEL`) that the CDK constructs and the local stack set.
 */
export const logger = new Logger();
