import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { crc32 } from 'node:zlib';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { BatchWriteInput, BatchWriteOutput, ItemWriter, PutInput } from './item-writer.js';
import { RequestSigner } from './sign-request.js';

/** Where and as whom the writer sends its calls. */
export interface HttpItemWriterOptions {
  /** DynamoDB's endpoint, e.g. `https://dynamodb.eu-west-1.amazonaws.com/`. */
  readonly endpoint: URL;
  readonly region: string;
  /** Called per request; a memoized SDK provider refreshes expiring credentials itself. */
  readonly credentials: () => Promise<AwsCredentialIdentity>;
  /** A call with no response for this long fails as ETIMEDOUT (and is repeated). @default 30000 */
  readonly requestTimeoutMs?: number;
  /** Connections kept open to the endpoint, at most. @default 50 (the SDK's) */
  readonly maxSockets?: number;
  /** The time a request is signed with. @default () => new Date() */
  readonly now?: () => Date;
}

/** DynamoDB's JSON protocol: `X-Amz-Target: DynamoDB_20120810.<Operation>`. */
const TARGET_PREFIX = 'DynamoDB_20120810.';
const CONTENT_TYPE = 'application/x-amz-json-1.0';
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_SOCKETS = 50;

/**
 * An ItemWriter that sends each call as one signed HTTP POST of its input's JSON
 * text, over kept-alive connections: the request the SDK would send (same body,
 * same SigV4 signature), without the SDK's per-call middleware, which cost the
 * loader about half of its CPU per row (docs/performance.md, "Loader CPU"). Nothing
 * is repeated here: batch-writer.ts and call-retry.ts repeat throttled, failed and
 * unanswered calls with backoff, as they do for the SDK's own errors.
 */
export function createHttpItemWriter(options: HttpItemWriterOptions): ItemWriter {
  const { endpoint } = options;
  if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:') {
    throw new TypeError(`DynamoDB endpoint ${endpoint.href}: only http: and https: are supported`);
  }
  if (endpoint.search !== '') {
    throw new TypeError(`DynamoDB endpoint ${endpoint.href}: a query string is not supported`);
  }
  const secure = endpoint.protocol === 'https:';
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? DEFAULT_MAX_SOCKETS };
  const agent = secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  const send = secure ? httpsRequest : httpRequest;
  const signer = new RequestSigner(options.region, 'dynamodb');
  const now = options.now ?? (() => new Date());
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const path = endpoint.pathname;

  const call = async (operation: string, input: object): Promise<unknown> => {
    const body = Buffer.from(JSON.stringify(input));
    const credentials = await options.credentials();
    const headers = signer.sign(
      {
        method: 'POST',
        host: endpoint.host,
        path,
        headers: { 'content-type': CONTENT_TYPE, 'x-amz-target': TARGET_PREFIX + operation },
        body,
      },
      credentials,
      now(),
    );
    headers['content-length'] = String(body.length);
    const response = await new Promise<Answer>((resolve, reject) => {
      const outgoing = send(
        {
          agent,
          protocol: endpoint.protocol,
          hostname: endpoint.hostname,
          port: endpoint.port,
          path,
          method: 'POST',
          headers,
        },
        (incoming) => {
          const parts: Buffer[] = [];
          incoming.on('data', (part: Buffer) => parts.push(part));
          incoming.on('error', (error) => reject(noAnswer(endpoint, operation, error)));
          incoming.on('end', () => {
            if (incoming.complete) {
              resolve({
                status: incoming.statusCode ?? 0,
                headers: incoming.headers,
                body: Buffer.concat(parts),
              });
            }
          });
          // Closed before the whole answer arrived. Every answer closes, so the error (and
          // its stack) is built only for one that did not end complete.
          incoming.on('close', () => {
            if (!(incoming.complete && incoming.readableEnded)) {
              reject(noAnswer(endpoint, operation, { code: 'ECONNRESET' }));
            }
          });
        },
      );
      outgoing.setTimeout(timeoutMs, () =>
        outgoing.destroy(
          Object.assign(new Error(`no response in ${timeoutMs} ms`), { code: 'ETIMEDOUT' }),
        ),
      );
      outgoing.on('error', (error) => reject(noAnswer(endpoint, operation, error)));
      outgoing.end(body);
    });
    return answerOf(operation, response);
  };

  return {
    batchWriteItem: async (input: BatchWriteInput) =>
      (await call('BatchWriteItem', input)) as BatchWriteOutput,
    putItem: async (input: PutInput) => {
      await call('PutItem', input);
    },
  };
}

/**
 * The HTTP writer for the endpoint, region and credentials an SDK client resolves:
 * an explicit `endpoint`, else AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL, else the
 * region's regional endpoint from the SDK's own rules (partitions, FIPS, dual-stack).
 * Resolved once, at the first call.
 */
export function httpItemWriterFor(
  client: DynamoDBClient,
  options: Pick<HttpItemWriterOptions, 'requestTimeoutMs' | 'maxSockets'> = {},
): ItemWriter {
  let writer: Promise<ItemWriter> | undefined;
  const resolved = () => {
    writer ??= resolveFromClient(client).then((where) =>
      createHttpItemWriter({ ...where, ...options }),
    );
    return writer;
  };
  return {
    batchWriteItem: async (input) => (await resolved()).batchWriteItem(input),
    putItem: async (input) => (await resolved()).putItem(input),
  };
}

/** The parts of an SDK client's resolved configuration the HTTP writer needs. */
interface ResolvedClientConfig {
  readonly region: () => Promise<string>;
  readonly useFipsEndpoint: () => Promise<boolean>;
  readonly useDualstackEndpoint: () => Promise<boolean>;
  readonly isCustomEndpoint?: boolean;
  readonly endpoint?: () => Promise<{
    protocol: string;
    hostname: string;
    port?: number;
    path: string;
  }>;
  readonly serviceConfiguredEndpoint?: () => Promise<string | undefined>;
  readonly endpointProvider: (params: Record<string, unknown>) => { readonly url: URL };
  readonly credentials: () => Promise<AwsCredentialIdentity>;
}

async function resolveFromClient(
  client: DynamoDBClient,
): Promise<Pick<HttpItemWriterOptions, 'endpoint' | 'region' | 'credentials'>> {
  const config = client.config as unknown as ResolvedClientConfig;
  const region = await config.region();
  let configured: string | undefined;
  if (config.isCustomEndpoint === true && config.endpoint !== undefined) {
    const { protocol, hostname, port, path } = await config.endpoint();
    configured = `${protocol}//${hostname}${port === undefined ? '' : `:${port}`}${path}`;
  } else {
    configured = await config.serviceConfiguredEndpoint?.();
  }
  const { url } = config.endpointProvider({
    Region: region,
    UseFIPS: await config.useFipsEndpoint(),
    UseDualStack: await config.useDualstackEndpoint(),
    // The regional endpoint: account-based endpoints need the account ID per call.
    AccountIdEndpointMode: 'disabled',
    ...(configured === undefined ? {} : { Endpoint: configured }),
  });
  return { endpoint: new URL(url), region, credentials: () => config.credentials() };
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A DynamoDB refusal, shaped as the SDK's service exceptions. */
export class DynamoDbServiceError extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { readonly httpStatusCode: number; readonly requestId?: string };

  constructor(name: string, message: string, status: number, requestId: string | undefined) {
    super(message);
    this.name = name;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status, ...(requestId === undefined ? {} : { requestId }) };
  }
}

/** A call that got no answer (refused, reset, timed out): its `code` says which. */
export class NoAnswerError extends Error {
  override readonly name = 'NoAnswerError';
  constructor(
    message: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

function noAnswer(endpoint: URL, operation: string, error: unknown): NoAnswerError {
  const code = (error as { code?: unknown } | null)?.code;
  const name = typeof code === 'string' ? code : 'ECONNRESET';
  const detail = error instanceof Error ? `: ${error.message}` : '';
  return new NoAnswerError(
    `${operation} to ${endpoint.origin} got no answer (${name}${detail})`,
    name,
    {
      cause: error,
    },
  );
}

/**
 * The parsed output of a 200 answer, or the error of any other; an answer whose body
 * does not match its x-amz-crc32 was damaged on the way and counts as a reset.
 */
function answerOf(operation: string, answer: Answer): unknown {
  const checksum = answer.headers['x-amz-crc32'];
  if (typeof checksum === 'string' && Number(checksum) !== crc32(answer.body)) {
    throw new NoAnswerError(
      `${operation}: the answer's body does not match its x-amz-crc32 checksum`,
      'ECONNRESET',
    );
  }
  const text = answer.body.toString('utf8');
  const parsed = parseJson(text);
  if (answer.status === 200) {
    if (parsed === undefined) {
      throw new DynamoDbServiceError(
        'InvalidResponse',
        `${operation}: DynamoDB answered 200 with a body that is not JSON: ${text.slice(0, 200)}`,
        502,
        requestIdOf(answer.headers),
      );
    }
    return parsed;
  }
  const { __type, message, Message } = (parsed ?? {}) as Record<string, unknown>;
  const header = answer.headers['x-amzn-errortype'];
  const code =
    (typeof header === 'string' && header !== '' ? header.split(':')[0] : undefined) ??
    (typeof __type === 'string' ? __type.slice(__type.lastIndexOf('#') + 1) : undefined) ??
    `HTTP${answer.status}`;
  const detail =
    typeof message === 'string'
      ? message
      : typeof Message === 'string'
        ? Message
        : text.slice(0, 200) || `HTTP ${answer.status}`;
  throw new DynamoDbServiceError(code, detail, answer.status, requestIdOf(answer.headers));
}

function parseJson(text: string): object | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

function requestIdOf(headers: IncomingHttpHeaders): string | undefined {
  const id = headers['x-amzn-requestid'];
  return typeof id === 'string' ? id : undefined;
}
