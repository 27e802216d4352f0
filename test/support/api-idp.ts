import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';

/**
 * A test identity provider on 127.0.0.1 and a free port: a real RS256 key
 * pair made with jose, its JWKS and an OIDC discovery document, with counters
 * of every fetch and a switch that makes it fail.
 */
export interface TestIdp {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUri: string;
  readonly kid: string;
  /** The public key as SPKI PEM (for the HS256-with-public-key attack). */
  readonly publicKeyPem: string;
  /** Fetches served so far, by path, and every request received (failed ones included). */
  readonly fetches: { jwks: number; discovery: number; requests: number };
  /** When set, every request is answered with this status (or the socket is destroyed). */
  failWith: number | 'reset' | undefined;
  /** Signs a token with the IdP's key; claims and header merge over valid defaults. */
  sign(
    claims?: JWTPayload,
    header?: Record<string, unknown>,
    options?: { key?: CryptoKey | Uint8Array; omit?: readonly string[] },
  ): Promise<string>;
  /** A second key pair the IdP does not publish (for bad-signature and unknown-kid tokens). */
  readonly otherKey: CryptoKey;
  close(): Promise<void>;
}

/** Starts the IdP; `now` is the epoch seconds the default `iat`/`exp` are relative to. */
export async function startTestIdp(
  options: { now?: number; scope?: string } = {},
): Promise<TestIdp> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const other = await generateKeyPair('RS256', { extractable: true });
  const kid = 'test-key-1';
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const fetches = { jwks: 0, discovery: 0, requests: 0 };

  let base = '';
  const server: Server = createServer((request, response) => {
    fetches.requests += 1;
    if (idp.failWith === 'reset') {
      request.socket.destroy();
      return;
    }
    if (idp.failWith !== undefined) {
      response.writeHead(idp.failWith).end();
      return;
    }
    if (request.url === '/jwks.json') {
      fetches.jwks += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [jwk] }));
    } else if (request.url?.endsWith('/.well-known/openid-configuration')) {
      fetches.discovery += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks.json` }));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const now = options.now ?? Math.floor(Date.now() / 1000);

  const idp: TestIdp = {
    issuer: base,
    audience: 'https://api.example.com/books',
    jwksUri: `${base}/jwks.json`,
    kid,
    publicKeyPem: await exportSPKI(publicKey),
    fetches,
    failWith: undefined,
    otherKey: other.privateKey,
    async sign(claims = {}, header = {}, signOptions = {}) {
      const payload: JWTPayload = {
        iss: base,
        aud: 'https://api.example.com/books',
        sub: 'client-1',
        client_id: 'client-1',
        scope: options.scope ?? 'books/read',
        iat: now,
        exp: now + 600,
        ...claims,
      };
      for (const name of signOptions.omit ?? []) delete payload[name];
      const protectedHeader = { alg: 'RS256', typ: 'at+jwt', kid, ...header };
      return new SignJWT(payload)
        .setProtectedHeader(protectedHeader as { alg: string })
        .sign(signOptions.key ?? privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return idp;
}

/** An unsecured (`alg: none`) JWT with the given claims. */
export function unsignedToken(claims: JWTPayload): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'at+jwt' })}.${encode(claims)}.`;
}
