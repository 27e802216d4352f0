import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  type RemoteJWKSet,
} from 'jose';
import { NamedError } from '../shared/errors.js';
import { isRecord } from '../shared/guards.js';
import { type AuthConfig, isTrustedKeyUrl, normalizeTokenType } from './config.js';
import { HttpProblemError, unavailable } from './problems.js';
import type { VerifiedTokens } from './verified-tokens.js';

/** Who called: the verified token's subject, client and scopes. */
export interface Principal {
  readonly subject: string | undefined;
  readonly clientId: string | undefined;
  readonly scopes: readonly string[];
}

/** What `authenticate` needs besides configuration: the signing keys and the clock. */
export interface AuthDeps {
  /** Resolves the verification key for a token header (a remote JWKS in production). */
  readonly getKey: JWTVerifyGetKey;
  /** The current time, for `exp`/`nbf`/`iat`. */
  readonly now: () => Date;
  /** Tokens verified before, skipped until they expire (see verified-tokens.ts). @default none */
  readonly verified?: VerifiedTokens;
}

/** The issuer's keys could not be fetched; whether the token is valid is unknown. */
export class JwksUnavailableError extends NamedError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Authenticates a request from its Authorization header values (RFC 6750).
 * Resolves to the principal, or throws an HttpProblemError: 401 (no or invalid
 * token), 400 (malformed header) or 503 (keys unreachable), each with the matching
 * WWW-Authenticate challenge. Scopes are checked per dataset: see requireScopes.
 */
export async function authenticate(
  authorization: readonly string[],
  config: AuthConfig,
  deps: AuthDeps,
): Promise<Principal> {
  const token = bearerToken(authorization, config.realm);
  const now = deps.now();
  // As jose compares: a token is expired once `exp` <= now - tolerance (whole seconds).
  const earliestExp = Math.floor(now.getTime() / 1000) - config.clockToleranceSeconds;
  const known = deps.verified?.principalOf(token, earliestExp);
  if (known !== undefined) return known;
  let payload: JWTPayload;
  // Whatever JSON the header held: jose types `typ` as a string but does not check it.
  let typ: unknown;
  try {
    const result = await jwtVerify(token, deps.getKey, {
      issuer: config.issuer,
      ...(config.audienceClaim === 'aud' ? { audience: [...config.audiences] } : {}),
      algorithms: [...config.algorithms],
      clockTolerance: config.clockToleranceSeconds,
      requiredClaims: ['exp'],
      currentDate: now,
    });
    payload = result.payload;
    typ = result.protectedHeader.typ;
  } catch (error) {
    if (error instanceof JwksUnavailableError) {
      throw unavailable(
        'auth-unavailable',
        'The signing keys of the token issuer cannot be fetched right now, so the token could not be checked. Retry later.',
        error.retryAfterSeconds,
        error,
      );
    }
    const reason = describeJoseError(error);
    if (reason === undefined) throw error;
    throw invalidToken(config.realm, reason);
  }

  // jose checks `iat` only against a maximum age; a token issued in the future is forged or
  // comes from an issuer whose clock is wrong, and would stay valid until its far `exp`.
  if (
    typeof payload.iat === 'number' &&
    payload.iat > now.getTime() / 1000 + config.clockToleranceSeconds
  ) {
    throw invalidToken(config.realm, 'The token was issued in the future (iat)');
  }
  // An ID token of the same issuer verifies too; it proves who a user is, not what a client may do.
  if (
    typ !== undefined &&
    (typeof typ !== 'string' || !config.acceptedTokenTypes.includes(normalizeTokenType(typ)))
  ) {
    throw invalidToken(
      config.realm,
      `The token is not an access token (typ must be ${config.acceptedTokenTypes.join(' or ')})`,
    );
  }
  if (payload.token_use !== undefined && payload.token_use !== 'access') {
    throw invalidToken(config.realm, 'The token is not an access token (token_use must be access)');
  }
  if (config.audienceClaim !== 'aud' && !hasAudience(payload[config.audienceClaim], config)) {
    throw invalidToken(config.realm, `The token ${config.audienceClaim} claim is not accepted`);
  }

  const principal: Principal = {
    subject: typeof payload.sub === 'string' ? payload.sub : undefined,
    clientId: typeof payload.client_id === 'string' ? payload.client_id : undefined,
    scopes: scopesOf(payload),
  };
  // `exp` is a required claim: jose refused the token above unless it is a number.
  if (typeof payload.exp === 'number') deps.verified?.remember(token, principal, payload.exp);
  return principal;
}

/**
 * Throws 403 `insufficient-scope` (RFC 6750 §3.1), naming the missing scope, when the
 * principal lacks one of `required` (the scopes of the dataset it reads).
 */
export function requireScopes(
  principal: Principal,
  required: readonly string[],
  realm: string,
): void {
  const missing = required.filter((scope) => !principal.scopes.includes(scope));
  if (missing.length === 0) return;
  const scope = required.join(' ');
  throw new HttpProblemError(
    403,
    'insufficient-scope',
    `The access token lacks the scope ${missing.join(' ')}, which reading this dataset requires.`,
    {
      headers: {
        'WWW-Authenticate': challenge(realm, {
          error: 'insufficient_scope',
          error_description: 'The access token lacks the required scope',
          scope,
        }),
      },
    },
  );
}

/** Extracts the token from exactly one `Authorization: Bearer <token>` header. */
function bearerToken(authorization: readonly string[], realm: string): string {
  const values = authorization.filter((value) => value.trim() !== '');
  if (values.length === 0) {
    // RFC 6750 §3.1: a request without credentials gets a bare challenge, no error code.
    throw new HttpProblemError(
      401,
      'unauthorized',
      'This API needs an access token: send "Authorization: Bearer <token>".',
      { headers: { 'WWW-Authenticate': challenge(realm, {}) } },
    );
  }
  if (values.length > 1) {
    throw invalidRequest(realm, 'Send exactly one Authorization header');
  }
  const parts = (values[0] ?? '').trim().split(/[ \t]+/);
  if (parts[0]?.toLowerCase() !== 'bearer') {
    // Another scheme (Basic, ...) means no bearer credentials at all: same bare challenge.
    throw new HttpProblemError(
      401,
      'unauthorized',
      'This API accepts only Bearer access tokens: send "Authorization: Bearer <token>".',
      { headers: { 'WWW-Authenticate': challenge(realm, {}) } },
    );
  }
  if (parts.length === 1) throw invalidRequest(realm, 'The Bearer scheme has no token');
  if (parts.length > 2) {
    throw invalidRequest(realm, 'The Authorization header holds more than one credential');
  }
  return parts[1] ?? '';
}

function invalidRequest(realm: string, reason: string): HttpProblemError {
  return new HttpProblemError(400, 'invalid-authorization', `${reason}.`, {
    headers: {
      'WWW-Authenticate': challenge(realm, {
        error: 'invalid_request',
        error_description: reason,
      }),
    },
  });
}

function invalidToken(realm: string, reason: string): HttpProblemError {
  return new HttpProblemError(401, 'invalid-token', `${reason}.`, {
    headers: {
      'WWW-Authenticate': challenge(realm, { error: 'invalid_token', error_description: reason }),
    },
  });
}

/** A Bearer challenge. Values are our own constants and configuration, never client input. */
export function challenge(realm: string, params: Readonly<Record<string, string>>): string {
  const rest = Object.entries(params).map(([name, value]) => `, ${name}="${value}"`);
  return `Bearer realm="${realm}"${rest.join('')}`;
}

/** A client-safe reason for a jose verification error; undefined for anything else. */
function describeJoseError(error: unknown): string | undefined {
  if (error instanceof errors.JWTExpired) return 'The access token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'nbf':
        return 'The access token is not valid yet';
      case 'iss':
        return 'The token issuer is not accepted';
      case 'aud':
        return 'The token audience is not accepted';
      case 'exp':
        return 'The token has no valid expiry (exp)';
      default:
        return `The token ${error.claim.replace(/[^\w.-]/g, '')} claim is not valid`;
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'The token algorithm is not allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return 'The token signature is not valid';
  }
  if (error instanceof errors.JWKSNoMatchingKey) return 'No signing key matches the token kid';
  if (error instanceof errors.JWKSMultipleMatchingKeys) {
    return 'The token does not identify one signing key';
  }
  if (error instanceof errors.JOSENotSupported) return 'The token algorithm is not supported';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return 'The token is not a valid signed JWT';
  }
  if (error instanceof errors.JOSEError) return 'The access token is not valid';
  return undefined;
}

function hasAudience(value: unknown, config: AuthConfig): boolean {
  const values = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  return values.some((item) => typeof item === 'string' && config.audiences.includes(item));
}

/** Scopes from a space-separated `scope` (RFC 8693/9068) and/or an `scp` array (Okta, Entra). */
export function scopesOf(payload: JWTPayload): string[] {
  const scopes = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === 'string') {
      for (const scope of value.split(' ')) if (scope !== '') scopes.add(scope);
    } else if (Array.isArray(value)) {
      for (const item of value) if (typeof item === 'string' && item !== '') scopes.add(item);
    }
  };
  add(payload.scope);
  add(payload.scp);
  return [...scopes];
}

/** Options of the remote key source. */
export interface KeySourceOptions {
  /** Where the JWKS is; called until it succeeds (OIDC discovery, or the configured URI). */
  readonly resolveJwksUri: () => Promise<URL>;
  /** Minimum time between fetches caused by unknown kids, and after a failed fetch, in ms. */
  readonly cooldownMs: number;
  /** Timeout of one HTTP request to the IdP, in ms. @default 5000 */
  readonly timeoutMs?: number;
  /** The clock for the failure cooldown, in epoch ms. @default Date.now */
  readonly now?: () => number;
}

/**
 * The signing keys of the issuer, fetched lazily and kept for the container's
 * life: one jose remote JWKS whose `cooldownDuration` caps refetches caused by
 * unknown kids. When the IdP cannot be reached, keys already known keep
 * working, and for one cooldown no request calls the IdP again; a kid that is
 * not known then fails with JwksUnavailableError (503, the token may be fine).
 */
export function createKeySource(options: KeySourceOptions): JWTVerifyGetKey {
  const now = options.now ?? Date.now;
  let remote: RemoteJWKSet | undefined;
  let creating: Promise<RemoteJWKSet> | undefined;
  let failedAt = Number.NEGATIVE_INFINITY;
  let fallback: { jwks: JSONWebKeySet; getKey: JWTVerifyGetKey } | undefined;

  // Keys already fetched, used without calling the IdP while it is failing.
  const fromCache = async (...[header, token]: Parameters<JWTVerifyGetKey>) => {
    const jwks = remote?.jwks();
    if (!jwks?.keys.some((key) => header.kid === undefined || key.kid === header.kid)) {
      return undefined;
    }
    if (fallback?.jwks !== jwks) fallback = { jwks, getKey: createLocalJWKSet(jwks) };
    return fallback.getKey(header, token);
  };
  const unavailableError = (cause?: unknown) =>
    new JwksUnavailableError(
      'the JWKS cannot be fetched',
      Math.max(1, (failedAt + options.cooldownMs - now()) / 1000),
      cause === undefined ? undefined : { cause },
    );

  return async (header, token) => {
    if (now() - failedAt < options.cooldownMs) {
      const key = await fromCache(header, token);
      if (key) return key;
      throw unavailableError();
    }
    try {
      // Concurrent cold requests share one discovery and one key set.
      creating ??= options.resolveJwksUri().then(
        (uri) =>
          createRemoteJWKSet(uri, {
            cooldownDuration: options.cooldownMs,
            timeoutDuration: options.timeoutMs ?? 5000,
          }),
        (error: unknown) => {
          creating = undefined;
          throw error;
        },
      );
      remote = await creating;
      return await remote(header, token);
    } catch (error) {
      if (isTokenKeyError(error)) throw error;
      failedAt = now();
      const key = await fromCache(header, token);
      if (key) return key;
      throw unavailableError(error);
    }
  };
}

// Errors that describe the token (its kid or alg), as opposed to the fetch of the key set.
function isTokenKeyError(error: unknown): boolean {
  return (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSENotSupported
  );
}

/**
 * Resolves the JWKS URI from the issuer's OIDC discovery document
 * (`<issuer>/.well-known/openid-configuration`). The document must name the
 * same issuer (OIDC Discovery §4.3) and a trusted `jwks_uri`. The result is
 * kept; a failure is not, so the next call (after the key source's cooldown)
 * tries again.
 */
export function discoverJwksUri(
  issuer: string,
  options: { readonly timeoutMs?: number; readonly fetch?: typeof fetch } = {},
): () => Promise<URL> {
  let resolving: Promise<URL> | undefined;
  const fetchImpl = options.fetch ?? fetch;
  const resolve = async (): Promise<URL> => {
    const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const response = await fetchImpl(url, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
    if (response.status !== 200) {
      throw new Error(`OIDC discovery ${url} answered ${response.status}`);
    }
    const document: unknown = await response.json();
    if (!isRecord(document)) throw new Error(`OIDC discovery ${url} is not a JSON object`);
    if (document.issuer !== issuer) {
      throw new Error(`OIDC discovery ${url} names issuer ${String(document.issuer)}`);
    }
    if (typeof document.jwks_uri !== 'string' || !URL.canParse(document.jwks_uri)) {
      throw new Error(`OIDC discovery ${url} has no valid jwks_uri`);
    }
    const jwksUri = new URL(document.jwks_uri);
    if (!isTrustedKeyUrl(jwksUri)) throw new Error(`jwks_uri ${jwksUri.href} is not https`);
    return jwksUri;
  };
  // One discovery in flight at a time; a success is kept, a failure is forgotten.
  return () => {
    resolving ??= resolve().catch((error: unknown) => {
      resolving = undefined;
      throw error;
    });
    return resolving;
  };
}
