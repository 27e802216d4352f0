import { randomUUID } from 'node:crypto';
import type { ALBEvent, ALBResult } from 'aws-lambda';
import { firstInvalidUtf8 } from '../shared/csv.js';
import type { DatasetSchema } from '../shared/dataset.js';
import { isRecord } from '../shared/guards.js';
import { splitProvenance } from '../shared/provenance.js';
import { type AuthDeps, authenticate, requireScopes } from './auth.js';
import type { ApiConfig, ApiDataset } from './config.js';
import { encodeCursor } from './cursor.js';
import {
  type ApiRequest,
  type ApiResponse,
  exactNumber,
  headerValues,
  isMultiValue,
  jsonResponse,
  jsonTextResponse,
  parseAlbEvent,
  toAlbResult,
  toJson,
} from './http.js';
import { jsonNestingBeyond, jsonSyntaxErrorPosition } from './json-syntax.js';
import { type ParsedKey, parseKey, quote } from './keys.js';
import {
  badRequest,
  HttpProblemError,
  type InvalidParam,
  internalError,
  methodNotAllowed,
  notFound,
  type ProblemCode,
  unavailable,
} from './problems.js';
import {
  batchGetRecords,
  getRecord,
  type Item,
  listRecords,
  ReadThrottledError,
  type RetryPolicy,
  type Table,
} from './records.js';
import { batchGetBody, itemBody, pageBody } from './response-size.js';

/** Largest request body accepted, in bytes (after base64 decoding). */
export const MAX_BODY_BYTES = 64 * 1024;
/** Most keys in one batch-get (DynamoDB's BatchGetItem limit). */
export const MAX_BATCH_KEYS = 100;
/** Page size of a listing when `limit` is not given. */
export const DEFAULT_PAGE_SIZE = 25;
/** Largest page size a listing accepts. */
export const MAX_PAGE_SIZE = 100;
/** Deepest nesting of arrays and objects a request body may have. */
export const MAX_JSON_DEPTH = 32;
/** How many field-level errors a 400 lists at most. */
const MAX_LISTED_ERRORS = 20;
/**
 * A request still running this close to the Lambda timeout gets a 503 instead:
 * a timed-out invocation reaches the client as a bare ALB 502, with no problem
 * body, no correlation id and no log line.
 */
export const DEADLINE_MARGIN_MS = 500;

/** The slice of the Powertools logger the API uses. */
export interface ApiLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

/** Everything a request needs; built once per container by index.ts, or by a test. */
export interface ApiDeps {
  readonly config: ApiConfig;
  /** Reads every dataset's table. */
  readonly client: Table['client'];
  readonly auth: AuthDeps;
  readonly logger: ApiLogger;
  /** BatchGetItem retry policy. @default DEFAULT_RETRY */
  readonly retry?: RetryPolicy;
  /** Correlation id generator. @default crypto.randomUUID */
  readonly newCorrelationId?: () => string;
}

/** The invocation's own limits. */
export interface InvocationLimits {
  /** Milliseconds the invocation has left (the Lambda context's `getRemainingTimeInMillis`). */
  readonly remainingTimeMs: () => number;
}

/** What the request log line says beyond method, path and status. */
interface RequestLog {
  /** `client_id` (else `sub`) of the verified token. */
  clientId?: string | undefined;
  /** The problem code of an error response. */
  problem?: ProblemCode;
  /** Found records a batch-get left for a retry because the response was full. */
  unprocessed?: number;
}

type RouteName = 'get' | 'batch-get' | 'list';
interface RouteMatch {
  readonly method: 'GET' | 'POST';
  readonly name: RouteName;
}

/**
 * Handles one ALB target-group event end to end: normalise, authenticate,
 * route, and answer in the event's header shape (single- or multi-value).
 */
export async function handleAlbEvent(
  event: ALBEvent,
  deps: ApiDeps,
  limits?: InvocationLimits,
): Promise<ALBResult> {
  const correlationId = (deps.newCorrelationId ?? randomUUID)();
  const started = performance.now();
  const log: RequestLog = {};
  let response: ApiResponse;
  try {
    const work = handleRequest(parseAlbEvent(event), deps, log);
    response = await (limits
      ? beforeDeadline(work, limits.remainingTimeMs() - DEADLINE_MARGIN_MS)
      : work);
  } catch (error) {
    if (error instanceof HttpProblemError) log.problem = error.code;
    response = errorResponse(error, correlationId, deps.logger);
  }
  // One line per request: who, what, the outcome. Never the token.
  deps.logger.info('request', {
    correlationId,
    method: event.httpMethod,
    path: event.path,
    status: response.status,
    durationMs: Math.round(performance.now() - started),
    ...log,
  });
  return toAlbResult(
    { ...response, headers: { ...response.headers, 'X-Correlation-Id': correlationId } },
    isMultiValue(event),
  );
}

/** `work`, or a 503 `timeout` when it has not settled within `ms`. */
async function beforeDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          unavailable(
            'timeout',
            'The request could not be completed in time (the table or the token issuer is slow); retry it.',
            1,
          ),
        ),
      Math.max(0, ms),
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function handleRequest(
  request: ApiRequest,
  deps: ApiDeps,
  log: RequestLog,
): Promise<ApiResponse> {
  // The ALB health check carries no token; everything else is authenticated before routing,
  // so an anonymous caller learns nothing about which paths exist.
  if (request.path === '/health') {
    if (request.method !== 'GET') throw methodNotAllowed(request.method, ['GET']);
    return jsonResponse(200, { status: 'ok' });
  }
  const principal = await authenticate(
    headerValues(request, 'authorization'),
    deps.config.auth,
    deps.auth,
  );
  log.clientId = principal.clientId ?? principal.subject;

  const segments = pathSegments(request.path);
  const matches = segments ? routesFor(segments) : [];
  if (!segments || matches.length === 0) throw notFound(`No resource at ${quote(request.path)}.`);
  const dataset = datasetAt(deps.config, segments[0] ?? '');
  requireScopes(principal, dataset.requiredScopes, deps.config.auth.realm);
  const { schema } = dataset;
  const table: Table = { client: deps.client, tableName: dataset.tableName, schema };
  const route = matches.find((candidate) => candidate.method === request.method);
  if (!route) {
    throw methodNotAllowed(request.method, [...new Set(matches.map((match) => match.method))]);
  }

  // Bodies that grow with the data are cut to what the ALB can carry (see response-size.ts).
  const present = presenter(includeSource(request));
  switch (route.name) {
    case 'get': {
      const key = pathKey(schema, segments[1] ?? '');
      const item = await getRecord(table, key);
      if (!item) {
        throw notFound(`No ${schema.name} record has ${schema.key} ${quote(segments[1] ?? '')}.`);
      }
      return jsonTextResponse(200, itemBody(present(item), toJson(echoKey(key))));
    }
    case 'batch-get': {
      const keys = parseBatchRequest(request, schema);
      const result = await batchGetRecords(table, keys, deps.retry);
      const { body, unprocessed } = batchGetBody(
        result.found.map(({ key, item }) => ({ echo: echoKey(key), item: present(item) })),
        result.missing.map((key) => echoKey(key)),
      );
      if (unprocessed > 0) log.unprocessed = unprocessed;
      return jsonTextResponse(200, body);
    }
    case 'list': {
      const { limit, cursor } = parseListQuery(request);
      const page = await listRecords(table, limit, cursor);
      // The cursor continues after a stored item's key; `present` may have wrapped the record.
      const shown = page.items.map(present);
      const keyOf = new Map(shown.map((record, at) => [record, page.items[at]?.[schema.key]]));
      const cursorAfter = (record: Item) =>
        encodeCursor(schema, { [schema.key]: keyOf.get(record) });
      return jsonTextResponse(200, pageBody(shown, page.cursor, cursorAfter));
    }
  }
}

/** The dataset the path's first segment names, or 404 naming the datasets there are. */
function datasetAt(config: ApiConfig, name: string): ApiDataset {
  const found = config.datasets.find((dataset) => dataset.schema.name === name);
  if (found !== undefined) return found;
  const known = config.datasets.map((dataset) => `"${dataset.schema.name}"`).join(', ');
  throw notFound(`There is no dataset ${quote(name)}; this API serves ${known}.`);
}

/**
 * `?include=source`: each record comes as `{"record": {...}, "source": {...}}`, the
 * source saying which file version and line wrote it (null for an item loaded
 * before provenance existed). Without it, records are their bodies alone: the
 * reserved provenance attributes never leak into them.
 */
function includeSource(request: ApiRequest): boolean {
  const values = request.query.get('include');
  if (values === undefined) return false;
  if (values.length !== 1 || values[0] !== 'source') {
    throw badRequest(
      'invalid-query',
      'The query is not valid: include must be given once, as include=source.',
      [{ parameter: 'include', detail: 'must be given once, as include=source' }],
    );
  }
  return true;
}

/** Turns stored items into what a response shows (see includeSource); one call per item. */
function presenter(withSource: boolean): (item: Item) => Item {
  return (item) => {
    const { record, source } = splitProvenance(item);
    return withSource ? { record, source: source ?? null } : record;
  };
}

/** Percent-decoded path segments, or undefined for a path with empty segments. */
function pathSegments(path: string): string[] | undefined {
  if (!path.startsWith('/')) return undefined;
  const raw = path.slice(1).split('/');
  if (raw.some((segment) => segment === '')) return undefined;
  return raw.map((segment, index) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw badRequest('invalid-path', `Path segment ${index + 1} is not valid percent-encoding.`);
    }
  });
}

function routesFor(segments: readonly string[]): RouteMatch[] {
  if (segments.length === 1) return [{ method: 'GET', name: 'list' }];
  if (segments.length === 2 && segments[1] === 'batch-get') {
    // "batch-get" is also a valid string key, readable with GET.
    return [
      { method: 'POST', name: 'batch-get' },
      { method: 'GET', name: 'get' },
    ];
  }
  if (segments.length === 2) return [{ method: 'GET', name: 'get' }];
  return [];
}

function pathKey(schema: DatasetSchema, text: string): ParsedKey {
  const parsed = parseKey(schema, text);
  if (!parsed.ok) {
    const { key } = schema;
    throw badRequest('invalid-key', `The ${key} ${quote(text)} is not valid: ${parsed.reason}.`, [
      { parameter: key, detail: parsed.reason },
    ]);
  }
  return parsed.key;
}

function echoKey(key: ParsedKey): unknown {
  return typeof key.asGiven === 'string' ? key.asGiven : exactNumber(key.asGiven.number);
}

function parseListQuery(request: ApiRequest): { limit: number; cursor: string | undefined } {
  const errors: InvalidParam[] = [];
  for (const [name, values] of request.query) {
    if (name !== 'limit' && name !== 'cursor' && name !== 'include') {
      errors.push({ parameter: name, detail: 'unknown parameter; use limit, cursor and include' });
    } else if (values.length > 1) {
      errors.push({ parameter: name, detail: 'given more than once' });
    }
  }
  const limitText = request.query.get('limit')?.[0];
  let limit = DEFAULT_PAGE_SIZE;
  if (limitText !== undefined) {
    limit = /^\d{1,4}$/.test(limitText) ? Number(limitText) : Number.NaN;
    if (!(limit >= 1 && limit <= MAX_PAGE_SIZE)) {
      errors.push({ parameter: 'limit', detail: `must be an integer from 1 to ${MAX_PAGE_SIZE}` });
    }
  }
  const cursor = request.query.get('cursor')?.[0];
  if (cursor === '') errors.push({ parameter: 'cursor', detail: 'must not be empty' });
  if (errors.length > 0) {
    throw badRequest(
      'invalid-query',
      `The query is not valid: ${errors.map((error) => `${error.parameter} ${error.detail}`).join('; ')}.`,
      errors,
    );
  }
  return { limit, cursor };
}

/** A JSON number kept as its source text, so no key loses digits to a float. */
class JsonNumber {
  constructor(readonly text: string) {}
}

function parseBatchRequest(request: ApiRequest, schema: DatasetSchema): ParsedKey[] {
  const contentTypes = headerValues(request, 'content-type');
  if (contentTypes.length !== 1 || !isJsonMediaType(contentTypes[0] ?? '')) {
    throw new HttpProblemError(
      415,
      'unsupported-media-type',
      'Send the request body as JSON with "Content-Type: application/json".',
      { headers: { 'Accept-Post': 'application/json' } },
    );
  }
  if (request.body.length > MAX_BODY_BYTES) {
    throw new HttpProblemError(
      413,
      'body-too-large',
      `The request body is ${request.body.length} bytes; the limit is ${MAX_BODY_BYTES} bytes.`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(request.body);
  } catch {
    const at = firstInvalidUtf8(request.body);
    const byte = (request.body[at] ?? 0).toString(16).toUpperCase().padStart(2, '0');
    const where = at === -1 ? '' : ` (byte 0x${byte} at byte offset ${at})`;
    throw badRequest('invalid-body', `The request body is not valid UTF-8${where}.`);
  }
  // The reviver below recurses once per level: bound the depth before parsing, so a deep
  // but valid body gets a message about its depth, the same at every stack size.
  const tooDeep = jsonNestingBeyond(text, MAX_JSON_DEPTH);
  if (tooDeep) {
    throw badRequest(
      'invalid-body',
      `The request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep ` +
        `(line ${tooDeep.line}, column ${tooDeep.column}); a batch-get body needs 2: {"keys": [...]}.`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
      typeof value === 'number' ? new JsonNumber(context?.source ?? String(value)) : value,
    );
  } catch {
    throw badRequest(
      'invalid-body',
      `The request body is not valid JSON${jsonErrorLocation(text)}.`,
    );
  }

  const shape = 'The request body must be {"keys": [...]} with 1 to 100 keys';
  if (!isRecord(body) || body instanceof JsonNumber) {
    throw badRequest('invalid-body', `${shape}.`, [{ pointer: '', detail: 'must be an object' }]);
  }
  const members = Object.keys(body).filter((name) => name !== 'keys');
  if (members.length > 0) {
    throw badRequest('invalid-body', `${shape}; unknown member ${quote(members[0] ?? '')}.`, [
      { pointer: `/${escapePointer(members[0] ?? '')}`, detail: 'unknown member' },
    ]);
  }
  const keys = body.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw badRequest('invalid-body', `${shape}.`, [
      { pointer: '/keys', detail: 'must be a non-empty array' },
    ]);
  }
  if (keys.length > MAX_BATCH_KEYS) {
    throw badRequest(
      'too-many-keys',
      `The request has ${keys.length} keys; send at most ${MAX_BATCH_KEYS} per request.`,
      [{ pointer: '/keys', detail: `more than ${MAX_BATCH_KEYS} keys` }],
    );
  }

  const errors: InvalidParam[] = [];
  const unique = new Map<string, ParsedKey>();
  keys.forEach((raw: unknown, index) => {
    const pointer = `/keys/${index}`;
    if (typeof raw !== 'string' && !(raw instanceof JsonNumber)) {
      errors.push({ pointer, detail: 'must be a string or a number' });
      return;
    }
    const parsed = parseKey(schema, raw instanceof JsonNumber ? { number: raw.text } : raw);
    if (!parsed.ok) {
      errors.push({ pointer, detail: parsed.reason });
      return;
    }
    // The first spelling of a key wins; later duplicates ("7.0" after "7") collapse into it.
    if (!unique.has(parsed.key.canonical)) unique.set(parsed.key.canonical, parsed.key);
  });
  if (errors.length > 0) {
    const first = errors[0];
    throw badRequest(
      'invalid-key',
      `${errors.length} key(s) do not fit ${schema.key}; the first, at ${first?.pointer}, ${first?.detail}.`,
      errors.slice(0, MAX_LISTED_ERRORS),
    );
  }
  return [...unique.values()];
}

function isJsonMediaType(value: string): boolean {
  const [type = '', ...params] = value.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((param) => {
    const [name, paramValue = ''] = param.split('=').map((part) => part.trim());
    return name !== 'charset' || paramValue.replaceAll('"', '') === 'utf-8';
  });
}

/** " (line L, column C)" of the first syntax error, or why there is no position. */
function jsonErrorLocation(text: string): string {
  if (text.trim() === '') return ' (the body is empty)';
  const position = jsonSyntaxErrorPosition(text);
  return position ? ` (line ${position.line}, column ${position.column})` : '';
}

function escapePointer(name: string): string {
  return name.replaceAll('~', '~0').replaceAll('/', '~1');
}

const THROTTLING_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

/** Maps any failure to a response; unexpected ones are logged with the correlation id. */
function errorResponse(error: unknown, correlationId: string, logger: ApiLogger): ApiResponse {
  let problem: HttpProblemError | undefined;
  if (error instanceof HttpProblemError) {
    problem = error;
  } else if (
    error instanceof ReadThrottledError ||
    (error instanceof Error && THROTTLING_ERRORS.has(error.name))
  ) {
    problem = unavailable(
      'throttled',
      'The table is busy right now; retry the request after a short wait.',
      1,
      error,
    );
  }
  if (problem) {
    if (problem.status >= 500) {
      logger.warn('request failed', { correlationId, code: problem.code, cause: problem.cause });
    }
    return {
      status: problem.status,
      headers: { 'Content-Type': 'application/problem+json', ...problem.options.headers },
      body: toJson(problem.body()),
    };
  }
  logger.error('unexpected error', { correlationId, error });
  return {
    status: 500,
    headers: { 'Content-Type': 'application/problem+json' },
    body: toJson(internalError(correlationId)),
  };
}
