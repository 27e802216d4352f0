import { DynamoDBDocumentClient, GetCommand, NumberValue } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { JWTVerifyGetKey } from 'jose';
import { createKeySource, discoverJwksUri } from '../../handlers/api/auth.js';
import { handleAlbEvent } from '../../handlers/api/routes.js';
import { apiDeps, apiEnv } from '../support/api-deps.js';
import { albEvent, body, header } from '../support/api-events.js';
import { startTestIdp, type TestIdp } from '../support/api-idp.js';

const NOW = 1_800_000_000;
const ddb = mockClient(DynamoDBDocumentClient);
let idp: TestIdp;

beforeEach(async () => {
  idp = await startTestIdp({ now: NOW });
  ddb.reset();
  ddb.on(GetCommand).resolves({ Item: { isbn: NumberValue.from('9780306406157') } });
});
afterEach(async () => {
  await idp.close();
});

/** A key source as index.ts builds it (JWKS URI from discovery unless given). */
function keySource(cooldownMs: number, jwksUri?: string): JWTVerifyGetKey {
  return createKeySource({
    resolveJwksUri: jwksUri
      ? async () => new URL(jwksUri)
      : discoverJwksUri(idp.issuer, { timeoutMs: 2000 }),
    cooldownMs,
    timeoutMs: 2000,
  });
}

/** GET a record with a token, through the given key source. */
async function request(getKey: JWTVerifyGetKey, token: string) {
  return handleAlbEvent(
    albEvent('/books/9780306406157', { headers: { authorization: `Bearer ${token}` } }),
    apiDeps(apiEnv(idp.issuer), { nowSeconds: NOW, getKey }),
  );
}

const unknownKidTokens = (count: number) =>
  Promise.all(
    Array.from({ length: count }, (_, index) =>
      idp.sign({}, { kid: `attacker-${index}` }, { key: idp.otherKey }),
    ),
  );
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('remote JWKS key source', () => {
  it('discovers the JWKS URI and fetches the key set once for many requests', async () => {
    const getKey = keySource(30_000);
    const token = await idp.sign();

    const results = await Promise.all(Array.from({ length: 10 }, () => request(getKey, token)));

    expect(results.map((result) => result.statusCode)).toEqual(Array(10).fill(200));
    expect(idp.fetches).toMatchObject({ discovery: 1, jwks: 1 });
  });

  it('fetches the key set at most once per cooldown for a flood of unknown kids', async () => {
    const getKey = keySource(30_000, idp.jwksUri);
    expect((await request(getKey, await idp.sign())).statusCode).toBe(200);

    const flood = await Promise.all((await unknownKidTokens(50)).map((t) => request(getKey, t)));

    expect(new Set(flood.map((result) => result.statusCode))).toEqual(new Set([401]));
    expect(idp.fetches.jwks).toBe(1);
  });

  it('refetches once when the cooldown has elapsed, then cools down again', async () => {
    const getKey = keySource(200, idp.jwksUri);
    expect((await request(getKey, await idp.sign())).statusCode).toBe(200);
    await sleep(250);

    const tokens = await unknownKidTokens(30);
    await Promise.all(tokens.map((token) => request(getKey, token)));
    await Promise.all(tokens.map((token) => request(getKey, token)));

    expect(idp.fetches.jwks).toBe(2);
  });

  it.each<[string, number | 'reset']>([
    ['answers 503', 503],
    ['answers 404', 404],
    ['drops the connection', 'reset'],
  ])(
    'returns 503 with Retry-After when the IdP %s and the kid is not cached',
    async (_case, failure) => {
      const getKey = keySource(30_000, idp.jwksUri);
      idp.failWith = failure;

      const result = await request(getKey, await idp.sign());

      expect(result.statusCode).toBe(503);
      expect(header(result, 'Retry-After')).toBe('30');
      expect(header(result, 'WWW-Authenticate')).toBeUndefined();
      expect(body(result)).toEqual({
        type: 'about:blank',
        title: 'Service Unavailable',
        status: 503,
        detail: expect.stringContaining('could not be checked'),
        code: 'auth-unavailable',
      });
      expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    },
  );

  it('returns 503 when OIDC discovery fails, without calling the IdP again within the cooldown', async () => {
    const getKey = keySource(30_000);
    idp.failWith = 500;
    const token = await idp.sign();

    const results = await Promise.all(Array.from({ length: 20 }, () => request(getKey, token)));

    expect(new Set(results.map((result) => result.statusCode))).toEqual(new Set([503]));
    expect(idp.fetches.requests).toBe(1);
  });

  it('recovers once the IdP answers again after the cooldown', async () => {
    const getKey = keySource(200);
    idp.failWith = 503;
    const token = await idp.sign();
    expect((await request(getKey, token)).statusCode).toBe(503);

    idp.failWith = undefined;
    await sleep(250);

    expect((await request(getKey, token)).statusCode).toBe(200);
  });

  it('keeps accepting tokens of cached keys while the IdP is down', async () => {
    const getKey = keySource(200, idp.jwksUri);
    const token = await idp.sign();
    expect((await request(getKey, token)).statusCode).toBe(200);
    idp.failWith = 'reset';
    await sleep(250);

    // An unknown kid forces a refetch, which fails: that request cannot be judged...
    const [unknown = ''] = await unknownKidTokens(1);
    const failed = await request(getKey, unknown);
    // ...but tokens signed with the cached key still verify, without calling the IdP again.
    const requestsBefore = idp.fetches.requests;
    const known = await request(getKey, token);

    expect(failed.statusCode).toBe(503);
    expect(known.statusCode).toBe(200);
    expect(idp.fetches.requests).toBe(requestsBefore);
  });

  it('rejects a discovery document that names another issuer', async () => {
    const discover = discoverJwksUri(`${idp.issuer}/other`, { timeoutMs: 2000 });

    await expect(discover()).rejects.toThrow(/names issuer/);
  });

  it.each(['null', '[]', '"text"'])(
    'rejects a discovery document that is %s, not an object',
    async (body) => {
      const fetch = async () =>
        new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
      const discover = discoverJwksUri(idp.issuer, { timeoutMs: 2000, fetch });

      await expect(discover()).rejects.toThrow(/is not a JSON object/);
    },
  );
});
