import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ALBEvent, ALBResult, Context } from 'aws-lambda';
import { logger } from '../shared/logger.js';
import { createKeySource, discoverJwksUri } from './auth.js';
import { readApiConfig } from './config.js';
import { createDocumentClient } from './records.js';
import { handleAlbEvent } from './routes.js';
import { VerifiedTokens } from './verified-tokens.js';

// Cold start: configuration, the DynamoDB client and the JWKS cache are created once
// per container and shared by every invocation it serves.
const config = readApiConfig(process.env);
// Bounded waits keep each IdP call and each read short; whatever still runs just before
// the function timeout is answered with a 503 (handleAlbEvent's deadline), never a timeout.
const client = createDocumentClient(
  new DynamoDBClient({ requestHandler: { connectionTimeout: 1000, requestTimeout: 3000 } }),
);
const IDP_TIMEOUT_MS = 3000;
const { jwksUri } = config.auth;
const getKey = createKeySource({
  resolveJwksUri: jwksUri
    ? async () => jwksUri
    : discoverJwksUri(config.auth.issuer, { timeoutMs: IDP_TIMEOUT_MS }),
  cooldownMs: config.auth.jwksCooldownSeconds * 1000,
  timeoutMs: IDP_TIMEOUT_MS,
});
const deps = {
  config,
  client,
  auth: { getKey, now: () => new Date(), verified: new VerifiedTokens() },
  logger,
};

/** ALB target-group entry point of the read API. */
export const handler = async (event: ALBEvent, context: Context): Promise<ALBResult> => {
  logger.addContext(context);
  return handleAlbEvent(event, deps, {
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  });
};
