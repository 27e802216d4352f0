import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import { listen, type PortSpec } from '../ports.js';

/** SQS operations the front answers itself (fauxqs does not have them). */
export type SqsOperation = (request: Record<string, unknown>) => Promise<unknown>;

/** An SQS API error to answer with: its `name` is the error code. */
export interface SqsErrorLike {
  readonly name: string;
  readonly message: string;
}

/** The front on the public S3 + SQS port. */
export interface AwsFront {
  readonly server: Server;
  readonly port: number;
}

/**
 * The public S3 + SQS endpoint: an HTTP front that answers the SQS operations in
 * `operations` itself (AWS JSON 1.0, `X-Amz-Target: AmazonSQS.<Operation>`) and
 * streams every other request to fauxqs unchanged. SQS answers that carry queue
 * URLs are rewritten to this port: fauxqs keeps the URL a queue was created with,
 * which names fauxqs's own port.
 */
export async function startAwsFront(
  fauxqsPort: number,
  operations: Readonly<Record<string, SqsOperation>>,
  isApiError: (error: unknown) => error is SqsErrorLike,
  port: PortSpec,
): Promise<AwsFront> {
  const agent = new Agent({ keepAlive: true });
  let publicPort = 0;
  const server = createServer((req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const sqsOperation = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
    const own = operations[sqsOperation];
    if (req.method === 'POST' && own) {
      void answer(req, res, own, isApiError);
      return;
    }
    forward(req, res, fauxqsPort, agent, NAMES_QUEUES.has(sqsOperation) ? publicPort : undefined);
  });
  publicPort = await listen(server, port);
  server.on('close', () => agent.destroy());
  return { server, port: publicPort };
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  operation: SqsOperation,
  isApiError: (error: unknown) => error is SqsErrorLike,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let body: Record<string, unknown>;
  try {
    const text = Buffer.concat(chunks).toString('utf8');
    body = text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    send(res, 400, {
      __type: 'com.amazonaws.sqs#InvalidParameterValue',
      message: 'The request body is not JSON.',
    });
    return;
  }
  try {
    send(res, 200, (await operation(body)) ?? {});
  } catch (error) {
    if (isApiError(error)) {
      send(
        res,
        400,
        { __type: `com.amazonaws.sqs#${error.name}`, message: error.message },
        {
          'x-amzn-query-error': `${error.name};Sender`,
        },
      );
    } else {
      send(res, 500, {
        __type: 'com.amazonaws.sqs#InternalError',
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }
}

function send(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': String(Buffer.byteLength(body)),
    'x-amzn-requestid': crypto.randomUUID(),
    ...headers,
  });
  res.end(body);
}

/** The SQS operations whose answers hold queue URLs (never a message body). */
const NAMES_QUEUES = new Set([
  'GetQueueUrl',
  'CreateQueue',
  'ListQueues',
  'ListDeadLetterSourceQueues',
]);

// A queue URL as fauxqs writes it: http://sqs.<region>.localhost:<port>/<account>/<name>
const QUEUE_URL_PORT = /(http:\/\/sqs\.[a-z0-9-]+\.localhost):\d+\//g;

/**
 * Streams a request to fauxqs and its answer back. An SQS answer (small JSON) is
 * read whole when `rewritePort` is set, its queue URLs moved to that port.
 */
function forward(
  req: IncomingMessage,
  res: ServerResponse,
  fauxqsPort: number,
  agent: Agent,
  rewritePort: number | undefined,
): void {
  const upstream = request(
    {
      host: '127.0.0.1',
      port: fauxqsPort,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent,
    },
    (answer) => {
      if (rewritePort === undefined) {
        res.writeHead(answer.statusCode ?? 502, answer.headers as IncomingHttpHeaders);
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const text = Buffer.concat(chunks)
          .toString('utf8')
          .replace(QUEUE_URL_PORT, `$1:${rewritePort}/`);
        const headers = { ...answer.headers, 'content-length': String(Buffer.byteLength(text)) };
        res.writeHead(answer.statusCode ?? 502, headers);
        res.end(text);
      });
    },
  );
  upstream.on('error', (error) => {
    if (res.headersSent) {
      res.destroy(error);
      return;
    }
    send(res, 502, { __type: 'InternalError', message: `fauxqs did not answer: ${error.message}` });
  });
  req.pipe(upstream);
}
