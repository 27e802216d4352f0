import type { DatasetSchema } from '../shared/dataset.js';
import { type EnvReader, readConfig } from '../shared/env.js';
import { readDatasetTables } from '../shared/settings.js';

/** Asymmetric JWS algorithms the API can verify against a JWKS. HS* and `none` never qualify. */
export const SUPPORTED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/** How the API verifies access tokens. */
export interface AuthConfig {
  /** Expected `iss`, exactly as the IdP writes it. */
  readonly issuer: string;
  /** Accepted audience values; one must appear in `audienceClaim`. */
  readonly audiences: readonly string[];
  /** Claim holding the audience: `aud` (RFC 9068) or, for Cognito access tokens, `client_id`. @default 'aud' */
  readonly audienceClaim: string;
  /** JWKS location; when undefined it comes from the issuer's OIDC discovery document. */
  readonly jwksUri: URL | undefined;
  /** Allowed JWS algorithms. @default ['RS256'] */
  readonly algorithms: readonly string[];
  /** Leeway for `exp`/`nbf`/`iat`, in seconds. @default 30 */
  readonly clockToleranceSeconds: number;
  /** `realm` of the WWW-Authenticate challenge. @default the first dataset's name */
  readonly realm: string;
  /** Minimum time between two JWKS fetches triggered by unknown `kid`s, in seconds. @default 30 */
  readonly jwksCooldownSeconds: number;
  /**
   * JOSE `typ` header values accepted on access tokens, lower-case and without an
   * `application/` prefix (RFC 7515 §4.1.9); a token without `typ` is always
   * accepted. @default ['at+jwt'] (RFC 9068)
   */
  readonly acceptedTokenTypes: readonly string[];
}

/** One dataset the API serves, at `/{name}`. */
export interface ApiDataset {
  readonly schema: DatasetSchema;
  readonly tableName: string;
  /** Scopes a token must carry, all of them, to read this dataset. */
  readonly requiredScopes: readonly string[];
}

/** Everything the API handler needs, read once at cold start. */
export interface ApiConfig {
  /** The datasets, in configured order. */
  readonly datasets: readonly ApiDataset[];
  readonly auth: AuthConfig;
}

/** Stands for the dataset's name in a required scope (`AUTH_REQUIRED_SCOPE`, `auth.scope`). */
export const DATASET_PLACEHOLDER = '{dataset}';

/** The scope(s) of one dataset: `template` with every `{dataset}` replaced by its name. */
export function datasetScope(template: string, dataset: string): string {
  return template.replaceAll(DATASET_PLACEHOLDER, dataset);
}

/** The `typ` of RFC 9068 access tokens, the only one accepted by default. */
export const DEFAULT_TOKEN_TYPES = ['at+jwt'] as const;

// RFC 6838 media type (the `typ` header): type "/" subtype, or a subtype alone.
const MEDIA_TYPE = /^(?:[A-Za-z0-9][\w!#$&^.+-]{0,126}\/)?[A-Za-z0-9][\w!#$&^.+-]{0,126}$/;

/** Whether `text` can be a JOSE `typ` value: a media type, safe inside a quoted header value. */
export function isTokenType(text: string): boolean {
  return MEDIA_TYPE.test(text);
}

/** A `typ` value as compared: lower-case, `application/` dropped (RFC 7515 §4.1.9). */
export function normalizeTokenType(typ: string): string {
  return typ.toLowerCase().replace(/^application\//, '');
}

// RFC 6749 §3.3 scope-token: printable ASCII without space, `"` and `\`, so it is safe in a header.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
// A realm is a quoted-string in WWW-Authenticate; keep it to characters that never need escaping.
const REALM = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,200}$/;

/** Reads and validates the API's configuration; throws one ConfigurationError listing every problem. */
export function readApiConfig(env: Readonly<Record<string, string | undefined>>): ApiConfig {
  return readConfig(env, (reader) => {
    const { datasets, tables } = readDatasetTables(reader);
    const issuer = reader.string('AUTH_ISSUER');
    if (issuer !== '') checkUrl(reader, 'AUTH_ISSUER', issuer);
    const jwksText = reader.optionalString('AUTH_JWKS_URI');
    const jwksUri =
      jwksText === undefined ? undefined : checkUrl(reader, 'AUTH_JWKS_URI', jwksText);

    const algorithms = reader.list('AUTH_ALGORITHMS', { default: ['RS256'] });
    for (const algorithm of algorithms) {
      if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(algorithm)) {
        reader.problem(
          `AUTH_ALGORITHMS: "${algorithm}" is not allowed; use ${SUPPORTED_ALGORITHMS.join(', ')}`,
        );
      }
    }
    if (algorithms.length === 0) reader.problem('AUTH_ALGORITHMS must name at least one algorithm');

    // A template: `{dataset}` stands for each dataset's name, so each has its own scope.
    const scopeTemplates = reader
      .string('AUTH_REQUIRED_SCOPE')
      .split(' ')
      .filter((scope) => scope !== '');
    for (const scope of scopeTemplates) {
      if (!SCOPE_TOKEN.test(scope)) {
        reader.problem(`AUTH_REQUIRED_SCOPE: "${scope}" is not a valid scope token (RFC 6749)`);
      }
    }
    if (
      datasets.length > 1 &&
      !scopeTemplates.some((scope) => scope.includes(DATASET_PLACEHOLDER))
    ) {
      reader.problem(
        `AUTH_REQUIRED_SCOPE must contain ${DATASET_PLACEHOLDER} with several datasets, so that each dataset has its own scope`,
      );
    }

    const audiences = reader.list('AUTH_AUDIENCE');
    // "," alone passes the required check but would reject every token.
    if (reader.optionalString('AUTH_AUDIENCE') !== undefined && audiences.length === 0) {
      reader.problem('AUTH_AUDIENCE must name at least one audience');
    }
    const tokenTypes = reader.list('AUTH_ACCEPTED_TOKEN_TYPES', { default: DEFAULT_TOKEN_TYPES });
    for (const typ of tokenTypes) {
      if (!isTokenType(typ)) {
        reader.problem(`AUTH_ACCEPTED_TOKEN_TYPES: "${typ}" is not a media type such as at+jwt`);
      }
    }
    if (tokenTypes.length === 0) {
      reader.problem('AUTH_ACCEPTED_TOKEN_TYPES must name at least one type');
    }
    const realm = reader.optionalString('AUTH_REALM') ?? datasets[0]?.name ?? '';
    if (realm !== '' && !REALM.test(realm)) {
      reader.problem('AUTH_REALM must be printable ASCII without quotes or backslashes');
    }
    return {
      datasets: datasets.map((schema) => ({
        schema,
        tableName: tables[schema.name] ?? '',
        requiredScopes: scopeTemplates.map((scope) => datasetScope(scope, schema.name)),
      })),
      auth: {
        issuer,
        audiences,
        audienceClaim: reader.string('AUTH_AUDIENCE_CLAIM', { default: 'aud' }),
        jwksUri,
        algorithms,
        clockToleranceSeconds: reader.integer('AUTH_CLOCK_TOLERANCE_SECONDS', {
          default: 30,
          min: 0,
          max: 60,
        }),
        realm,
        jwksCooldownSeconds: reader.integer('AUTH_JWKS_COOLDOWN_SECONDS', {
          default: 30,
          min: 1,
          max: 3600,
        }),
        acceptedTokenTypes: [...new Set(tokenTypes.map(normalizeTokenType))],
      },
    };
  });
}

/**
 * Whether a URL may be used to fetch keys: HTTPS, or plain HTTP to a loopback
 * address (the local stack's mock IdP). Anything else would let a network
 * attacker substitute the signing keys.
 */
export function isTrustedKeyUrl(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

function checkUrl(reader: EnvReader, name: string, text: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    reader.problem(`${name} must be an absolute URL, got "${text}"`);
    return undefined;
  }
  if (!isTrustedKeyUrl(url)) {
    reader.problem(`${name} must use https (http only for localhost), got "${text}"`);
    return undefined;
  }
  return url;
}
