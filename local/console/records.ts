import { type ApiClient, fetchToken } from '../cli/api-client.js';
import { apiCurl, tokenCurl } from '../cli/report.js';
import type { Endpoints } from '../endpoints.js';
import type { HttpStep, RecordsResult } from './model.js';

/** What the records view needs of the stack: the issuer and the API. */
export type RecordsEndpoints = Pick<
  Endpoints,
  'api' | 'caCertFile' | 'tokenUrl' | 'clientId' | 'clientSecret'
>;

/** The dataset to read: its name (the API path) and the scope its reads need. */
export type RecordsDataset = Pick<Endpoints['datasets'][number], 'name' | 'scope'>;

/** What to read: one record by key, or a page of the table. */
export type RecordsQuery =
  | { readonly key: string }
  | { readonly limit?: number; readonly cursor?: string };

/** The API path of a query, exactly as a client would send it. */
export function recordsPath(dataset: string, query: RecordsQuery): string {
  if ('key' in query) return `/${dataset}/${encodeURIComponent(query.key)}`;
  const params = new URLSearchParams();
  if (query.limit !== undefined) params.set('limit', String(query.limit));
  if (query.cursor) params.set('cursor', query.cursor);
  const text = params.toString();
  return `/${dataset}${text ? `?${text}` : ''}`;
}

/**
 * Reads records of one dataset the way a machine client does: a client-credentials
 * token from the issuer with that dataset's scope (exactly what a client allowed to
 * read it asks for), then the HTTPS API with it. Returns both exchanges with the
 * curl commands that repeat them, so the page teaches the flow.
 */
export async function readRecords(
  stack: RecordsEndpoints,
  api: ApiClient,
  dataset: RecordsDataset,
  query: RecordsQuery,
): Promise<RecordsResult> {
  const endpoints = { ...stack, scope: dataset.scope };
  const tokenStarted = Date.now();
  let token: string;
  let tokenStep: HttpStep;
  const tokenBase = {
    title: 'Get an access token (OAuth 2.0 client credentials)',
    curl: tokenCurl(endpoints),
    method: 'POST',
    url: endpoints.tokenUrl,
  };
  try {
    const response = await fetchToken(endpoints);
    token = response.access_token;
    tokenStep = {
      ...tokenBase,
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...response, access_token: shorten(token) }, null, 2),
      durationMs: Date.now() - tokenStarted,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const status = Number(/answered (\d{3})/.exec(message)?.[1] ?? 0);
    return {
      steps: [
        { ...tokenBase, status, headers: {}, body: message, durationMs: Date.now() - tokenStarted },
      ],
      status,
      body: message,
    };
  }
  const path = recordsPath(dataset.name, query);
  const started = Date.now();
  const response = await api.send('GET', path, { token });
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'cache-control', 'x-correlation-id', 'www-authenticate']) {
    const value = response.headers[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    steps: [
      tokenStep,
      {
        title: 'Call the API with the token',
        curl: apiCurl(endpoints, path),
        method: 'GET',
        url: `${endpoints.api}${path}`,
        status: response.status,
        headers,
        body: response.body,
        durationMs: Date.now() - started,
      },
    ],
    status: response.status,
    body: response.body,
    ...claimsOf(token),
  };
}

/** The token with its middle cut, to show its shape without filling the screen. */
function shorten(token: string): string {
  return token.length <= 40 ? token : `${token.slice(0, 24)}…${token.slice(-12)}`;
}

/** The claims of a JWT (decoded only: the API verifies it). */
function claimsOf(token: string): { claims?: Record<string, unknown> } {
  const payload = token.split('.')[1];
  if (!payload) return {};
  try {
    return { claims: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) };
  } catch {
    return {};
  }
}
