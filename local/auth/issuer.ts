import { generateKeyPairSync, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Events, OAuth2Server } from 'oauth2-mock-server';
import { bindError, type PortSpec } from '../ports.js';

/** The machine client the local issuer knows, and the token it issues to it. */
export interface LocalClient {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Audience (`aud`) of every access token; the API checks it. */
  readonly audience: string;
  /** Scopes the client may request; granted all when it asks for none. */
  readonly scopes: readonly string[];
  /** Access token lifetime in seconds. */
  readonly tokenTtlSeconds: number;
}

/** A running issuer. */
export interface LocalIssuer {
  readonly server: OAuth2Server;
  /** `iss` of every token (no trailing slash). */
  readonly issuer: string;
  readonly tokenUrl: string;
  readonly jwksUri: string;
  stop(): Promise<void>;
}

/**
 * Starts an OAuth 2.0 authorization server for the client-credentials grant,
 * like a Cognito app client: it authenticates the client (HTTP Basic or form
 * fields), refuses unknown clients with `invalid_client` and other grants with
 * `unsupported_grant_type`, and signs RFC 9068 access tokens (`typ: at+jwt`)
 * whose `iss`, `aud`, `scope`, `sub` and `client_id` are what the API verifies
 * through the JWKS. The signing key is kept in `keyFile` so tokens survive a restart.
 */
export async function startIssuer(
  client: LocalClient,
  port: PortSpec,
  keyFile?: string,
): Promise<LocalIssuer> {
  const server = new OAuth2Server(undefined, undefined, {
    shouldIssuerUrlBeSuffixedWithATralingSlash: false,
  });
  await loadOrCreateKey(server, keyFile);

  // Each token request is authenticated once; the outcome travels with the request.
  const outcomes = new WeakMap<object, { error?: string; description?: string; scope?: string }>();
  const authenticate = (req: TokenRequestLike) => {
    let outcome = outcomes.get(req);
    if (!outcome) {
      outcome = checkTokenRequest(client, req);
      outcomes.set(req, outcome);
    }
    return outcome;
  };

  server.service.on(Events.BeforeTokenSigning, (token, req) => {
    const outcome = authenticate(req as TokenRequestLike);
    token.header.typ = 'at+jwt';
    Object.assign(token.payload, {
      sub: client.clientId,
      client_id: client.clientId,
      aud: client.audience,
      scope: outcome.scope ?? client.scopes.join(' '),
      jti: randomUUID(),
      token_use: 'access',
    });
    token.payload.exp = token.payload.iat + client.tokenTtlSeconds;
  });
  server.service.on(Events.BeforeResponse, (response, req) => {
    const outcome = authenticate(req as TokenRequestLike);
    if (outcome.error) {
      response.statusCode = outcome.error === 'invalid_client' ? 401 : 400;
      response.body = { error: outcome.error, error_description: outcome.description ?? '' };
      return;
    }
    if (typeof response.body === 'object') {
      response.body.expires_in = client.tokenTtlSeconds;
      response.body.scope = outcome.scope ?? client.scopes.join(' ');
      delete response.body.refresh_token;
      delete response.body.id_token;
    }
  });

  await server.start(port.port, '127.0.0.1').catch((error: unknown) => {
    throw bindError(port, error);
  });
  const bound = server.address().port;
  const issuer = `http://127.0.0.1:${bound}`;
  server.issuer.url = issuer;
  return {
    server,
    issuer,
    tokenUrl: `${issuer}/token`,
    jwksUri: `${issuer}/jwks`,
    stop: () => server.stop(),
  };
}

interface TokenRequestLike {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Record<string, unknown>;
}

/** Decides whether a token request is allowed, and which scopes it gets (RFC 6749 §4.4, §5.2). */
export function checkTokenRequest(
  client: LocalClient,
  req: TokenRequestLike,
): { error?: string; description?: string; scope?: string } {
  const credentials = basicCredentials(req.headers.authorization) ?? {
    id: typeof req.body.client_id === 'string' ? req.body.client_id : '',
    secret: typeof req.body.client_secret === 'string' ? req.body.client_secret : '',
  };
  if (!(same(credentials.id, client.clientId) && same(credentials.secret, client.clientSecret))) {
    return { error: 'invalid_client', description: 'Client authentication failed' };
  }
  if (req.body.grant_type !== 'client_credentials') {
    return {
      error: 'unsupported_grant_type',
      description: 'Only the client_credentials grant is supported',
    };
  }
  const requested =
    typeof req.body.scope === 'string' && req.body.scope.trim() !== ''
      ? req.body.scope.trim().split(/\s+/)
      : [...client.scopes];
  const unknown = requested.filter((scope) => !client.scopes.includes(scope));
  if (unknown.length > 0) {
    return { error: 'invalid_scope', description: `Unknown scope: ${unknown.join(' ')}` };
  }
  return { scope: requested.join(' ') };
}

function basicCredentials(
  header: string | string[] | undefined,
): { id: string; secret: string } | undefined {
  if (typeof header !== 'string' || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
  const decode = (part: string) => decodeURIComponent(part.replaceAll('+', ' '));
  try {
    return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
  } catch {
    // A malformed escape authenticates no one: invalid_client, not a server error.
    return { id: '', secret: '' };
  }
}

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

async function loadOrCreateKey(server: OAuth2Server, keyFile: string | undefined): Promise<void> {
  if (keyFile) {
    try {
      const saved = JSON.parse(await readFile(keyFile, 'utf8')) as Record<string, unknown>;
      await server.issuer.keys.add(saved);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  // Generated with node:crypto and copied into a plain object: the store checks for a
  // plain object, which a JWK exported by WebCrypto is not under a VM-sandboxed runner.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = {
    ...privateKey.export({ format: 'jwk' }),
    kid: randomUUID(),
    alg: 'RS256',
    use: 'sig',
  };
  await server.issuer.keys.add(jwk);
  if (keyFile) {
    await mkdir(dirname(keyFile), { recursive: true });
    await writeFile(keyFile, JSON.stringify(jwk), { mode: 0o600 });
  }
}
