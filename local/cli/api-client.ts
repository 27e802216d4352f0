import { readFile } from 'node:fs/promises';
import { Agent, request } from 'undici';
import type { Endpoints } from '../endpoints.js';

/** A token response from the issuer. */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly scope?: string;
}

/** The issuer refused the token request. */
export class TokenRequestError extends Error {
  constructor(status: number, body: string) {
    super(`The token endpoint answered ${status}: ${body}`);
    this.name = 'TokenRequestError';
  }
}

/** Fetches an access token with the client-credentials grant (HTTP Basic client authentication). */
export async function fetchToken(
  endpoints: Pick<Endpoints, 'tokenUrl' | 'clientId' | 'clientSecret' | 'scope'>,
  credentials: { readonly clientId: string; readonly clientSecret: string } = endpoints,
): Promise<TokenResponse> {
  const basic = Buffer.from(
    `${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`,
  ).toString('base64');
  const response = await fetch(endpoints.tokenUrl, {
    method: 'POST',
    headers: {
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: endpoints.scope }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) throw new TokenRequestError(response.status, text);
  return JSON.parse(text) as TokenResponse;
}

/** An HTTPS response from the API. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** Calls the local HTTPS API, trusting exactly its self-signed certificate. */
export class ApiClient {
  private constructor(
    private readonly base: string,
    private readonly agent: Agent,
  ) {}

  /** A client for the stack's API, with its CA certificate. */
  static async create(endpoints: Pick<Endpoints, 'api' | 'caCertFile'>): Promise<ApiClient> {
    const ca = await readFile(endpoints.caCertFile, 'utf8');
    return new ApiClient(endpoints.api, new Agent({ connect: { ca } }));
  }

  /**
   * Sends one request; `token` goes in the Authorization header when given. A header
   * given as an array is sent once per value.
   */
  async send(
    method: 'GET' | 'POST',
    path: string,
    options: {
      token?: string;
      body?: string | Uint8Array;
      headers?: Record<string, string | string[]>;
    } = {},
  ): Promise<ApiResponse> {
    const response = await request(new URL(path, this.base), {
      method,
      dispatcher: this.agent,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: options.body }),
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    });
    return {
      status: response.statusCode,
      headers: response.headers,
      body: await response.body.text(),
    };
  }

  /** Closes the connection pool. */
  close(): Promise<void> {
    return this.agent.close();
  }
}

/**
 * The batch-get body for keys typed on a command line: numeric keys stay JSON
 * numbers written exactly as typed (no float rounding), others are strings.
 */
export function batchGetBody(keys: readonly string[], keyIsNumber: boolean): string {
  const items = keys.map((key) =>
    keyIsNumber && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(key) ? key : JSON.stringify(key),
  );
  return `{"keys":[${items.join(',')}]}`;
}
