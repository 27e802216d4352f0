import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
} from '@aws-sdk/client-dynamodb';
import { classifyWriteFault } from '../../handlers/load-chunk/batch-writer.js';
import { isConditionFailure } from '../../handlers/load-chunk/call-retry.js';
import {
  createHttpItemWriter,
  httpItemWriterFor,
} from '../../handlers/load-chunk/http-item-writer.js';
import { httpStatusOf, unreachableCode } from '../../handlers/shared/errors.js';
import { type DynamoDbEmulator, startDynamoDbProcess } from '../../local/emulators/dynamodb.js';

// The loader's HTTP item writer against dynalite (the real wire protocol) and against
// a hand-written server for the answers dynalite never gives (throttling, 500s,
// damaged or missing answers): each must reach batch-writer.ts's classification as
// the SDK's own errors do.

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const region = 'us-east-1';
let dynalite: DynamoDbEmulator;
let endpoint: URL;

beforeAll(async () => {
  dynalite = await startDynamoDbProcess({
    port: { service: 'test DynamoDB (dynalite)', port: 0, flag: '(test)' },
  });
  endpoint = new URL(`http://127.0.0.1:${dynalite.port}/`);
  await sdk().send(
    new CreateTableCommand({
      TableName: 'books',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'isbn', AttributeType: 'N' }],
      KeySchema: [{ AttributeName: 'isbn', KeyType: 'HASH' }],
    }),
  );
}, 60_000);

afterAll(async () => {
  await dynalite?.stop();
});

function sdk(): DynamoDBClient {
  return new DynamoDBClient({ endpoint: endpoint.href, region, credentials });
}

function writer(at: URL = endpoint, requestTimeoutMs?: number) {
  return createHttpItemWriter({
    endpoint: at,
    region,
    credentials: async () => credentials,
    ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
  });
}

const item = (isbn: string, title: string) => ({
  isbn: { N: isbn },
  title: { S: title },
  in_print: { BOOL: true },
  tags: { L: [{ S: 'a' }, { NULL: true }] },
  meta: { M: { pages: { N: '320.25' } } },
});

async function stored(isbn: string) {
  const { Item } = await sdk().send(
    new GetItemCommand({ TableName: 'books', Key: { isbn: { N: isbn } }, ConsistentRead: true }),
  );
  return Item;
}

describe('the HTTP item writer against dynalite', () => {
  it('writes a batch that DynamoDB stores as sent, exact numbers and nested values included', async () => {
    const output = await writer().batchWriteItem({
      RequestItems: {
        books: [
          { PutRequest: { Item: item('9780000000001', 'Émile — «quoted» 💡') } },
          { PutRequest: { Item: item('12345678901234567890123456789012345678', 'Long key') } },
        ],
      },
    });
    expect(output.UnprocessedItems).toEqual({});
    expect(await stored('9780000000001')).toEqual(item('9780000000001', 'Émile — «quoted» 💡'));
    expect(await stored('12345678901234567890123456789012345678')).toEqual(
      item('12345678901234567890123456789012345678', 'Long key'),
    );
  });

  it('puts conditionally, and a failed condition is the SDK-shaped ConditionalCheckFailedException', async () => {
    const put = {
      TableName: 'books',
      Item: item('9780000000002', 'First'),
      ConditionExpression: 'attribute_not_exists(isbn)',
    };
    await writer().putItem(put);
    const refusal = await writer()
      .putItem({ ...put, Item: item('9780000000002', 'Second') })
      .catch((error: unknown) => error);
    expect(isConditionFailure(refusal)).toBe(true);
    expect(httpStatusOf(refusal)).toBe(400);
    expect(classifyWriteFault(refusal)).toBe('refused');
    expect((await stored('9780000000002'))?.title).toEqual({ S: 'First' });
  });

  it('names a request DynamoDB refuses with its error code and message', async () => {
    const refusal = await writer()
      .batchWriteItem({
        RequestItems: { 'no-such-table': [{ PutRequest: { Item: item('1', 'x') } }] },
      })
      .catch((error: unknown) => error);
    expect(refusal).toMatchObject({
      name: 'ResourceNotFoundException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    expect((refusal as Error).message).toMatch(/not found/i);
    expect(classifyWriteFault(refusal)).toBe('refused');
  });

  it('resolves where to write from an SDK client: its endpoint, region and credentials', async () => {
    await httpItemWriterFor(sdk()).batchWriteItem({
      RequestItems: { books: [{ PutRequest: { Item: item('9780000000003', 'Via client') } }] },
    });
    expect((await stored('9780000000003'))?.title).toEqual({ S: 'Via client' });
  });

  it('sends the body, target and content type the SDK sends for the same input', async () => {
    const seen = await recording();
    try {
      const input = {
        RequestItems: {
          books: [{ PutRequest: { Item: item('9780000000004', 'Same "bytes" \\ é') } }],
        },
      };
      await new DynamoDBClient({ endpoint: seen.url.href, region, credentials }).send(
        new BatchWriteItemCommand(input),
      );
      await writer(seen.url).batchWriteItem(input);
      const [bySdk, byWriter] = seen.requests;
      expect(byWriter?.body).toBe(bySdk?.body);
      for (const header of ['content-type', 'x-amz-target', 'host']) {
        expect(byWriter?.headers[header]).toBe(bySdk?.headers[header]);
      }
      expect(Number(byWriter?.headers['content-length'])).toBe(
        Buffer.byteLength(byWriter?.body ?? ''),
      );
      expect(byWriter?.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/us-east-1\/dynamodb\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=[0-9a-f]{64}$/,
      );
    } finally {
      await seen.close();
    }
  });
});

describe('the HTTP item writer when DynamoDB does not answer well', () => {
  it('reports throttling as throttling', async () => {
    const server = await answering((_request, response) =>
      reply(response, 400, {
        __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
        message: 'The level of configured provisioned throughput for the table was exceeded.',
      }),
    );
    try {
      const refusal = await writer(server.url)
        .batchWriteItem(oneItem())
        .catch((e: unknown) => e);
      expect(refusal).toMatchObject({ name: 'ProvisionedThroughputExceededException' });
      expect(classifyWriteFault(refusal)).toBe('throttled');
    } finally {
      await server.close();
    }
  });

  it('reports a 500 as a server fault, its code taken from x-amzn-ErrorType', async () => {
    const server = await answering((_request, response) => {
      response.setHeader(
        'x-amzn-ErrorType',
        'InternalServerError:http://internal.amazon.com/coral/',
      );
      response.setHeader('x-amzn-RequestId', 'REQ-1');
      reply(response, 500, { message: 'Internal server error' });
    });
    try {
      const refusal = await writer(server.url)
        .batchWriteItem(oneItem())
        .catch((e: unknown) => e);
      expect(refusal).toMatchObject({
        name: 'InternalServerError',
        message: 'Internal server error',
        $fault: 'server',
        $metadata: { httpStatusCode: 500, requestId: 'REQ-1' },
      });
      expect(classifyWriteFault(refusal)).toBe('server');
    } finally {
      await server.close();
    }
  });

  it('treats an answer that fails its x-amz-crc32 check as no answer (the call is repeated)', async () => {
    const server = await answering((_request, response) => {
      const body = Buffer.from('{"UnprocessedItems":{}}');
      response.writeHead(200, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-crc32': String((crc32(body) + 1) >>> 0),
      });
      response.end(body);
    });
    try {
      const failure = await writer(server.url)
        .batchWriteItem(oneItem())
        .catch((e: unknown) => e);
      expect(unreachableCode(failure)).toBe('ECONNRESET');
      expect(classifyWriteFault(failure)).toBe('unreachable');
    } finally {
      await server.close();
    }
  });

  it('names a refused connection by its code', async () => {
    const server = await answering(() => undefined);
    await server.close();
    const failure = await writer(server.url)
      .batchWriteItem(oneItem())
      .catch((e: unknown) => e);
    expect(unreachableCode(failure)).toBe('ECONNREFUSED');
    expect(classifyWriteFault(failure)).toBe('unreachable');
    expect((failure as Error).message).toMatch(
      /BatchWriteItem to http:\/\/127\.0\.0\.1:\d+ got no answer \(ECONNREFUSED/,
    );
  });

  it('gives up on a call with no response after its timeout, as ETIMEDOUT', async () => {
    const held: ServerResponse[] = [];
    const server = await answering((_request, response) => {
      held.push(response);
    });
    try {
      const failure = await writer(server.url, 200)
        .batchWriteItem(oneItem())
        .catch((e: unknown) => e);
      expect(unreachableCode(failure)).toBe('ETIMEDOUT');
      expect(classifyWriteFault(failure)).toBe('unreachable');
    } finally {
      for (const response of held) response.destroy();
      await server.close();
    }
  });

  it('treats a connection cut in the middle of the answer as no answer', async () => {
    const server = await answering((_request, response) => {
      response.writeHead(200, {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': '100',
      });
      response.write('{"Unprocessed');
      response.socket?.destroy();
    });
    try {
      const failure = await writer(server.url)
        .batchWriteItem(oneItem())
        .catch((e: unknown) => e);
      expect(unreachableCode(failure)).toBe('ECONNRESET');
    } finally {
      await server.close();
    }
  });
});

function oneItem() {
  return { RequestItems: { books: [{ PutRequest: { Item: item('1', 'x') } }] } };
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body));
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-crc32': String(crc32(payload)),
  });
  response.end(payload);
}

interface TestServer {
  readonly url: URL;
  close(): Promise<void>;
}

/** A server on a free port answering every request with `handle`, after reading its body. */
async function answering(
  handle: (request: IncomingMessage & { body: string }, response: ServerResponse) => void,
): Promise<TestServer> {
  const server: Server = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () =>
      handle(Object.assign(request, { body: Buffer.concat(parts).toString('utf8') }), response),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/`),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A server that records each request's headers and body and answers as DynamoDB would. */
async function recording() {
  const requests: { headers: IncomingMessage['headers']; body: string }[] = [];
  const server = await answering((request, response) => {
    requests.push({ headers: request.headers, body: request.body });
    reply(response, 200, { UnprocessedItems: {} });
  });
  return { ...server, requests };
}
