import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { jest } from '@jest/globals';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JWTPayload,
  type JWTVerifyGetKey,
  SignJWT,
} from 'jose';
import { createKeySource, discoverJwksUri } from '../../handlers/api/auth.js';
import { readApiConfig } from '../../handlers/api/config.js';
import { createDocumentClient, type RetryPolicy } from '../../handlers/api/records.js';
import type { ApiDeps, ApiLogger } from '../../handlers/api/routes.js';
import { BOOKS_DATASET } from './api-events.js';

/** The environment the infra sets, pointed at a test IdP. */
export function apiEnv(
  issuer: string,
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    DATASET: JSON.stringify(BOOKS_DATASET),
    TABLE_NAME: 'books-table',
    AUTH_ISSUER: issuer,
    AUTH_AUDIENCE: 'https://api.example.com/books',
    AUTH_REQUIRED_SCOPE: 'books/read',
    ...overrides,
  };
}

/** A logger whose calls the test can inspect. */
export function testLogger(): ApiLogger & {
  info: jest.Mock<ApiLogger['info']>;
  warn: jest.Mock<ApiLogger['warn']>;
  error: jest.Mock<ApiLogger['error']>;
} {
  return { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
}

/** Retries that never wait, so throttling tests run instantly. */
export const NO_WAIT_RETRY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 50,
  maxDelayMs: 2000,
  sleep: async () => {},
  random: () => 0.5,
};

/**
 * Dependencies as index.ts wires them, from an environment: a DocumentClient
 * (mock it with aws-sdk-client-mock) and, unless `getKey` is given, the real
 * remote key source with OIDC discovery.
 */
export function apiDeps(
  env: Record<string, string | undefined>,
  options: { getKey?: JWTVerifyGetKey; nowSeconds: number; cooldownMs?: number },
): ApiDeps & { logger: ReturnType<typeof testLogger> } {
  const config = readApiConfig(env);
  const { jwksUri } = config.auth;
  const getKey =
    options.getKey ??
    createKeySource({
      resolveJwksUri: jwksUri
        ? async () => jwksUri
        : discoverJwksUri(config.auth.issuer, { timeoutMs: 2000 }),
      cooldownMs: options.cooldownMs ?? config.auth.jwksCooldownSeconds * 1000,
      timeoutMs: 2000,
    });
  const client = createDocumentClient(
    new DynamoDBClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  );
  return {
    config,
    client,
    auth: { getKey, now: () => new Date(options.nowSeconds * 1000) },
    logger: testLogger(),
    retry: NO_WAIT_RETRY,
    newCorrelationId: () => 'corr-1',
  };
}

/**
 * In-memory signing keys for tests that are not about the JWKS fetch: a real
 * RS256 pair and a local JWKS (no network), and a signer of valid tokens.
 */
export async function localAuth(
  nowSeconds: number,
): Promise<{ getKey: JWTVerifyGetKey; token: (claims?: JWTPayload) => Promise<string> }> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'local-1', alg: 'RS256' };
  return {
    getKey: createLocalJWKSet({ keys: [jwk] }),
    token: (claims = {}) =>
      new SignJWT({
        iss: LOCAL_ISSUER,
        aud: 'https://api.example.com/books',
        scope: 'books/read',
        client_id: 'client-1',
        iat: nowSeconds,
        exp: nowSeconds + 600,
        ...claims,
      })
        .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'local-1' })
        .sign(privateKey),
  };
}

/** The issuer `localAuth` tokens carry. */
export const LOCAL_ISSUER = 'https://idp.example.com';
