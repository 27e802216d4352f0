import { createServer, request, type Server } from 'node:http';
import { crc32 } from 'node:zlib';
import { listen, type PortSpec } from '../ports.js';

/**
 * Faults the proxy injects into BatchWriteItem calls, in this order: first
 * `throttle` calls fail whole with ProvisionedThroughputExceededException, then
 * `partial` calls write only the first half of their items and return the rest
 * as UnprocessedItems, exactly as a throttled DynamoDB table answers.
 */
export interface DynamoDbFaults {
  readonly throttle: number;
  readonly partial: number;
  /**
   * Awaited before each request is handled: a test holds a request (by operation
   * and body) until another has happened, to force one interleaving of two loads.
   */
  readonly gate?: (call: DynamoDbCall) => Promise<void>;
}

/** One request to DynamoDB, as the gate sees it. */
export interface DynamoDbCall {
  /** The operation, e.g. `BatchWriteItem`, `PutItem`, `Query`. */
  readonly operation: string;
  /** The request body as JSON (DynamoDB's wire format). */
  readonly body: Record<string, unknown>;
}

/** Counts of what the proxy did, for assertions. */
export interface FaultCounters {
  throttled: number;
  partial: number;
  forwarded: number;
}

/** A running fault proxy. */
export interface DynamoDbFaultProxy {
  readonly server: Server;
  readonly port: number;
  readonly counters: FaultCounters;
  /**
   * DynamoDB becomes unreachable: the proxy closes its port (new connections are
   * refused, ECONNREFUSED) and cuts the open ones, until `acceptConnections`.
   */
  refuseConnections(): Promise<void>;
  /** DynamoDB is reachable again, on the same port. */
  acceptConnections(): Promise<void>;
}

type WriteRequests = Record<string, unknown[]>;

/**
 * Starts an HTTP proxy in front of dynalite that injects DynamoDB's throttling
 * behaviour on BatchWriteItem, and on demand an outage (refused connections).
 * Handlers are unchanged: they talk to it through the same AWS_ENDPOINT_URL_DYNAMODB
 * they would use for dynalite.
 */
export async function startDynamoDbFaultProxy(
  target: number,
  faults: DynamoDbFaults,
  port: PortSpec,
): Promise<DynamoDbFaultProxy> {
  const counters: FaultCounters = { throttled: 0, partial: 0, forwarded: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      if (faults.gate) {
        await faults.gate({
          operation,
          body: JSON.parse(body.toString('utf8')) as Record<string, unknown>,
        });
      }
      const isBatchWrite = operation === 'BatchWriteItem';
      if (isBatchWrite && counters.throttled < faults.throttle) {
        counters.throttled += 1;
        sendJson(res, 400, {
          __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
          message:
            'The level of configured provisioned throughput for the table was exceeded. ' +
            'Consider increasing your provisioning level with the UpdateTable API.',
        });
        return;
      }
      if (isBatchWrite && counters.partial < faults.partial) {
        const split = splitWrites(body);
        if (split) {
          counters.partial += 1;
          forward(target, req.method ?? 'POST', req.headers, split.forwarded, (status, payload) => {
            if (status !== 200) {
              sendRaw(res, status, payload);
              return;
            }
            const answer = JSON.parse(payload.toString('utf8')) as {
              UnprocessedItems?: WriteRequests;
            };
            const unprocessed: WriteRequests = { ...(answer.UnprocessedItems ?? {}) };
            for (const [table, writes] of Object.entries(split.held)) {
              unprocessed[table] = [...(unprocessed[table] ?? []), ...writes];
            }
            sendJson(res, 200, { ...answer, UnprocessedItems: unprocessed });
          });
          return;
        }
      }
      counters.forwarded += 1;
      forward(target, req.method ?? 'POST', req.headers, body, (status, payload, headers) =>
        sendRaw(res, status, payload, headers),
      );
    });
  });
  const bound = await listen(server, port);
  return {
    server,
    port: bound,
    counters,
    refuseConnections: async () => {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
    acceptConnections: async () => {
      if (server.listening) return;
      await listen(server, { ...port, port: bound });
    },
  };
}

/** Keeps the first half of each table's writes in the request, holds back the rest. */
function splitWrites(body: Buffer): { forwarded: Buffer; held: WriteRequests } | undefined {
  const request = JSON.parse(body.toString('utf8')) as { RequestItems?: WriteRequests };
  const items = request.RequestItems ?? {};
  const kept: WriteRequests = {};
  const held: WriteRequests = {};
  let total = 0;
  for (const [table, writes] of Object.entries(items)) {
    total += writes.length;
    const half = Math.ceil(writes.length / 2);
    kept[table] = writes.slice(0, half);
    if (writes.length > half) held[table] = writes.slice(half);
  }
  if (total < 2) return undefined;
  return { forwarded: Buffer.from(JSON.stringify({ ...request, RequestItems: kept })), held };
}

function forward(
  port: number,
  method: string,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  done: (status: number, payload: Buffer, headers: Record<string, string>) => void,
): void {
  const upstream = request(
    {
      host: '127.0.0.1',
      port,
      method,
      path: '/',
      headers: { ...headers, 'content-length': String(body.length), host: `127.0.0.1:${port}` },
    },
    (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const contentType = res.headers['content-type'];
        done(res.statusCode ?? 500, Buffer.concat(chunks), {
          ...(contentType ? { 'content-type': contentType } : {}),
        });
      });
    },
  );
  // dynalite did not answer (down, restarting): status 0, the client's connection is cut.
  upstream.on('error', () => done(0, Buffer.alloc(0), {}));
  upstream.end(body);
}

function sendJson(res: import('node:http').ServerResponse, status: number, value: unknown): void {
  sendRaw(res, status, Buffer.from(JSON.stringify(value)), {
    'content-type': 'application/x-amz-json-1.0',
  });
}

function sendRaw(
  res: import('node:http').ServerResponse,
  status: number,
  payload: Buffer,
  headers: Record<string, string> = {},
): void {
  if (status === 0) {
    // What a client of dynalite itself sees when it is down: no answer at all.
    res.socket?.destroy();
    return;
  }
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    ...headers,
    'content-length': String(payload.length),
    // DynamoDB signs every response body with its CRC32; keep it right after rewriting.
    'x-amz-crc32': String(crc32(payload)),
  });
  res.end(payload);
}
