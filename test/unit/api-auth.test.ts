import { DynamoDBDocumentClient, GetCommand, NumberValue } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { generateKeyPair } from 'jose';
import { handleAlbEvent } from '../../handlers/api/routes.js';
import { apiDeps, apiEnv } from '../support/api-deps.js';
import { albEvent, body, header, multiValueAlbEvent } from '../support/api-events.js';
import { startTestIdp, type TestIdp, unsignedToken } from '../support/api-idp.js';

/** The fixed "now" of every token and of the verifier's clock, in epoch seconds. */
const NOW = 1_800_000_000;
const ddb = mockClient(DynamoDBDocumentClient);
let idp: TestIdp;

beforeAll(async () => {
  idp = await startTestIdp({ now: NOW });
});
afterAll(async () => {
  await idp.close();
});
beforeEach(() => {
  ddb.reset();
  ddb.on(GetCommand).resolves({ Item: { isbn: NumberValue.from('9780306406157'), title: 'Ok' } });
  idp.failWith = undefined;
});

const REALM = 'Bearer realm="books"';
const invalidToken = (description: string) =>
  `${REALM}, error="invalid_token", error_description="${description}"`;
const invalidRequest = (description: string) =>
  `${REALM}, error="invalid_request", error_description="${description}"`;

/** GET a record with the given Authorization header (undefined: none). */
async function getWith(authorization: string | undefined, env: Record<string, string> = {}) {
  const deps = apiDeps(apiEnv(idp.issuer, env), { nowSeconds: NOW });
  return handleAlbEvent(
    albEvent('/books/9780306406157', {
      headers: authorization === undefined ? {} : { Authorization: authorization },
    }),
    deps,
  );
}

type TokenFactory = (idp: TestIdp) => Promise<string | undefined>;

describe('authentication (RFC 6750 bearer tokens verified against the JWKS)', () => {
  const bearer = (sign: (idp: TestIdp) => Promise<string>): TokenFactory => {
    return async (current) => `Bearer ${await sign(current)}`;
  };

  it.each<[string, TokenFactory]>([
    ['a valid access token', bearer((i) => i.sign())],
    ['the scheme in lower case ("bearer")', async (i) => `bearer ${await i.sign()}`],
    ['the scheme in upper case ("BEARER")', async (i) => `BEARER ${await i.sign()}`],
    ['typ "application/at+jwt"', bearer((i) => i.sign({}, { typ: 'application/at+jwt' }))],
    [
      'no typ but Cognito token_use "access"',
      bearer((i) => i.sign({ token_use: 'access' }, { typ: undefined })),
    ],
    [
      'the scope in an scp array (Okta)',
      bearer((i) => i.sign({ scope: undefined, scp: ['books/read'] })),
    ],
    ['the scope among others', bearer((i) => i.sign({ scope: 'openid books/read books/write' }))],
    [
      'an audience array holding the audience',
      bearer((i) => i.sign({ aud: ['other', i.audience] })),
    ],
    ['expired 10 s ago, within the 30 s clock tolerance', bearer((i) => i.sign({ exp: NOW - 10 }))],
    [
      'issued 20 s ahead, within the 30 s clock tolerance',
      bearer((i) => i.sign({ iat: NOW + 20 })),
    ],
  ])('returns 200 for %s', async (_case, token) => {
    const result = await getWith(await token(idp));

    expect(result.statusCode).toBe(200);
    expect(header(result, 'WWW-Authenticate')).toBeUndefined();
    expect(body(result)).toEqual({ isbn: 9780306406157, title: 'Ok' });
  });

  it.each<[string, TokenFactory, number, string, string]>([
    ['no Authorization header', async () => undefined, 401, REALM, 'unauthorized'],
    ['an empty Authorization header', async () => '', 401, REALM, 'unauthorized'],
    ['another scheme (Basic)', async () => 'Basic dXNlcjpwYXNz', 401, REALM, 'unauthorized'],
    [
      '"Bearer" with no token',
      async () => 'Bearer',
      400,
      invalidRequest('The Bearer scheme has no token'),
      'invalid-authorization',
    ],
    [
      '"Bearer " with only spaces after it',
      async () => 'Bearer    ',
      400,
      invalidRequest('The Bearer scheme has no token'),
      'invalid-authorization',
    ],
    [
      'two credentials',
      async (i) => `Bearer ${await i.sign()} ${await i.sign()}`,
      400,
      invalidRequest('The Authorization header holds more than one credential'),
      'invalid-authorization',
    ],
    [
      'garbage',
      async () => 'Bearer not-a-jwt',
      401,
      invalidToken('The token is not a valid signed JWT'),
      'invalid-token',
    ],
    [
      'three segments of garbage',
      async () => 'Bearer aaa.bbb.ccc',
      401,
      invalidToken('The token is not a valid signed JWT'),
      'invalid-token',
    ],
    [
      'a bad signature (another key, the published kid)',
      bearer((i) => i.sign({}, {}, { key: i.otherKey })),
      401,
      invalidToken('The token signature is not valid'),
      'invalid-token',
    ],
    [
      'a tampered payload',
      async (i) => {
        const [head, , signature] = (await i.sign()).split('.');
        const forged = Buffer.from(
          JSON.stringify({
            iss: i.issuer,
            aud: i.audience,
            scope: 'books/read admin',
            exp: NOW + 600,
          }),
        ).toString('base64url');
        return `Bearer ${head}.${forged}.${signature}`;
      },
      401,
      invalidToken('The token signature is not valid'),
      'invalid-token',
    ],
    [
      'an expired token',
      bearer((i) => i.sign({ exp: NOW - 3600 })),
      401,
      invalidToken('The access token expired'),
      'invalid-token',
    ],
    [
      'a token not yet valid (nbf)',
      bearer((i) => i.sign({ nbf: NOW + 3600 })),
      401,
      invalidToken('The access token is not valid yet'),
      'invalid-token',
    ],
    [
      'a wrong issuer',
      bearer((i) => i.sign({ iss: 'https://evil.example.com' })),
      401,
      invalidToken('The token issuer is not accepted'),
      'invalid-token',
    ],
    [
      'a wrong audience',
      bearer((i) => i.sign({ aud: 'https://api.example.com/other' })),
      401,
      invalidToken('The token audience is not accepted'),
      'invalid-token',
    ],
    [
      'a missing audience',
      bearer((i) => i.sign({}, {}, { omit: ['aud'] })),
      401,
      invalidToken('The token audience is not accepted'),
      'invalid-token',
    ],
    [
      'a missing exp',
      bearer((i) => i.sign({}, {}, { omit: ['exp'] })),
      401,
      invalidToken('The token has no valid expiry (exp)'),
      'invalid-token',
    ],
    [
      'alg "none"',
      async (i) =>
        `Bearer ${unsignedToken({ iss: i.issuer, aud: i.audience, scope: 'books/read', exp: NOW + 600 })}`,
      401,
      invalidToken('The token algorithm is not allowed'),
      'invalid-token',
    ],
    [
      'HS256 signed with the public key',
      bearer((i) =>
        i.sign({}, { alg: 'HS256' }, { key: new TextEncoder().encode(i.publicKeyPem) }),
      ),
      401,
      invalidToken('The token algorithm is not allowed'),
      'invalid-token',
    ],
    [
      'an algorithm not on the allow-list (ES256)',
      async (i) => {
        const ec = await generateKeyPair('ES256');
        return `Bearer ${await i.sign({}, { alg: 'ES256' }, { key: ec.privateKey })}`;
      },
      401,
      invalidToken('The token algorithm is not allowed'),
      'invalid-token',
    ],
    [
      'an unknown kid',
      bearer((i) => i.sign({}, { kid: 'unknown-kid' }, { key: i.otherKey })),
      401,
      invalidToken('No signing key matches the token kid'),
      'invalid-token',
    ],
    [
      'an ID token (typ "JWT")',
      bearer((i) => i.sign({}, { typ: 'JWT' })),
      401,
      invalidToken('The token is not an access token (typ must be at+jwt)'),
      'invalid-token',
    ],
    ...[123, ['at+jwt'], null, { typ: 'at+jwt' }].map(
      (typ): [string, TokenFactory, number, string, string] => [
        `a typ header that is not a string (${JSON.stringify(typ)})`,
        bearer((i) => i.sign({}, { typ })),
        401,
        invalidToken('The token is not an access token (typ must be at+jwt)'),
        'invalid-token',
      ],
    ),
    [
      'a token issued ten years ahead (iat)',
      bearer((i) =>
        i.sign({ iat: NOW + 10 * 365 * 24 * 3600, exp: NOW + 10 * 365 * 24 * 3600 + 600 }),
      ),
      401,
      invalidToken('The token was issued in the future (iat)'),
      'invalid-token',
    ],
    [
      'a token issued 31 s ahead, beyond the 30 s clock tolerance',
      bearer((i) => i.sign({ iat: NOW + 31 })),
      401,
      invalidToken('The token was issued in the future (iat)'),
      'invalid-token',
    ],
    [
      'a Cognito ID token (token_use "id")',
      bearer((i) => i.sign({ token_use: 'id' }, { typ: undefined })),
      401,
      invalidToken('The token is not an access token (token_use must be access)'),
      'invalid-token',
    ],
    [
      'a valid token without the required scope',
      bearer((i) => i.sign({ scope: 'books/write openid' })),
      403,
      `${REALM}, error="insufficient_scope", error_description="The access token lacks the required scope", scope="books/read"`,
      'insufficient-scope',
    ],
    [
      'a valid token with no scope at all',
      bearer((i) => i.sign({ scope: undefined })),
      403,
      `${REALM}, error="insufficient_scope", error_description="The access token lacks the required scope", scope="books/read"`,
      'insufficient-scope',
    ],
  ])('rejects %s', async (_case, token, status, challenge, code) => {
    const result = await getWith(await token(idp));

    expect(result.statusCode).toBe(status);
    expect(header(result, 'WWW-Authenticate')).toBe(challenge);
    expect(header(result, 'Content-Type')).toBe('application/problem+json');
    expect(body(result)).toEqual({
      type: 'about:blank',
      title: status === 400 ? 'Bad Request' : status === 401 ? 'Unauthorized' : 'Forbidden',
      status,
      detail: expect.any(String),
      code,
    });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it.each([
    ['JWT', 200],
    ['application/jwt', 200],
    ['at+jwt', 200],
    ['id+jwt', 401],
  ])('with AUTH_ACCEPTED_TOKEN_TYPES "at+jwt,JWT" answers typ %s with %d', async (typ, status) => {
    const token = await idp.sign({}, { typ });

    const result = await getWith(`Bearer ${token}`, {
      AUTH_ACCEPTED_TOKEN_TYPES: 'at+jwt,JWT',
    });

    expect(result.statusCode).toBe(status);
    if (status === 401) {
      expect(header(result, 'WWW-Authenticate')).toBe(
        invalidToken('The token is not an access token (typ must be at+jwt or jwt)'),
      );
    }
  });

  it('still rejects a token for another audience when typ JWT is accepted (an ID token)', async () => {
    const token = await idp.sign({ aud: 'the-client-id' }, { typ: 'JWT' });

    const result = await getWith(`Bearer ${token}`, { AUTH_ACCEPTED_TOKEN_TYPES: 'at+jwt,JWT' });

    expect(result.statusCode).toBe(401);
    expect(header(result, 'WWW-Authenticate')).toBe(
      invalidToken('The token audience is not accepted'),
    );
  });

  it('names the realm from AUTH_REALM', async () => {
    const result = await getWith(undefined, { AUTH_REALM: 'catalogue' });

    expect(header(result, 'WWW-Authenticate')).toBe('Bearer realm="catalogue"');
  });

  it('rejects two Authorization headers (multi-value target group) with 400 invalid_request', async () => {
    const token = await idp.sign();
    const deps = apiDeps(apiEnv(idp.issuer), { nowSeconds: NOW });

    const result = await handleAlbEvent(
      multiValueAlbEvent('/books/9780306406157', {
        headers: { authorization: [`Bearer ${token}`, `Bearer ${token}`] },
      }),
      deps,
    );

    expect(result.statusCode).toBe(400);
    expect(result.multiValueHeaders?.['WWW-Authenticate']).toEqual([
      invalidRequest('Send exactly one Authorization header'),
    ]);
  });

  it('needs no token for GET /health', async () => {
    const result = await getWithPath('/health');

    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual({ status: 'ok' });
  });

  it('authenticates before routing, so an anonymous caller cannot probe paths', async () => {
    const result = await getWithPath('/no/such/path');

    expect(result.statusCode).toBe(401);
  });

  async function getWithPath(path: string) {
    return handleAlbEvent(albEvent(path), apiDeps(apiEnv(idp.issuer), { nowSeconds: NOW }));
  }
});

describe('authentication with Cognito settings (audience in client_id)', () => {
  const cognito = { AUTH_AUDIENCE_CLAIM: 'client_id', AUTH_AUDIENCE: 'client-1' };

  it('returns 200 for an access token without aud whose client_id is allowed', async () => {
    const token = await idp.sign(
      { token_use: 'access', client_id: 'client-1' },
      { typ: undefined },
      { omit: ['aud'] },
    );

    const result = await getWith(`Bearer ${token}`, cognito);

    expect(result.statusCode).toBe(200);
  });

  it.each([
    ['another client_id', { client_id: 'client-2' }, []],
    ['no client_id', {}, ['client_id']],
  ])('returns 401 invalid_token for %s', async (_case, claims, omit) => {
    const token = await idp.sign(
      { token_use: 'access', ...claims },
      { typ: undefined },
      {
        omit: ['aud', ...omit],
      },
    );

    const result = await getWith(`Bearer ${token}`, cognito);

    expect(result.statusCode).toBe(401);
    expect(header(result, 'WWW-Authenticate')).toBe(
      invalidToken('The token client_id claim is not accepted'),
    );
  });
});
