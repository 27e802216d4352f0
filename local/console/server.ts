import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { S3Client } from '@aws-sdk/client-s3';
import { DescribeStateMachineCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ApiClient } from '../cli/api-client.js';
import type { LiveRowsReader } from '../cli/live-rows.js';
import type { Endpoints } from '../endpoints.js';
import { close, listen, type PortSpec } from '../ports.js';
import type { Execution, ExecutionService } from '../stepfunctions/executions.js';
import { bundleUi, type UiBundle } from './bundle.js';
import { listDlq, redriveDlq } from './dlq.js';
import {
  type ConsoleConfig,
  type ConsoleDataset,
  type ConsoleEvent,
  type ExecutionSummary,
  TOKEN_HEADER,
} from './model.js';
import {
  ConsoleRequestError,
  checkKey,
  type LinesRequest,
  listObjects,
  PART_SIZE,
  readLines,
  uploadObject,
} from './objects.js';
import { type RecordsQuery, readRecords } from './records.js';
import { detail, summarize } from './views.js';

/** What the console reads and drives: the stack's executions, clients and endpoints. */
export interface ConsoleContext {
  /** Only list, get and the event listener: the console never changes an execution. */
  readonly executions: Pick<ExecutionService, 'list' | 'get' | 'onEvent'>;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly sfn: SFNClient;
  readonly endpoints: Omit<Endpoints, 'console'>;
  /** Each dataset's column names in schema order (the records table's columns), by dataset name. */
  readonly columns: Readonly<Record<string, readonly string[]>>;
  /**
   * Reads the rows a running execution's loading chunks have reported (the control
   * table's progress item). Without it, rows move only when a chunk ends.
   */
  readonly liveRows?: LiveRowsReader;
}

/** A running console. */
export interface ConsoleServer {
  /** The URL to open: it carries this start's token, which uploads and redrives need. */
  readonly url: string;
  readonly token: string;
  readonly port: number;
  readonly server: Server;
  stop(): Promise<void>;
}

/** How often an open event stream gets a comment, so proxies and browsers keep it. */
const HEARTBEAT_MS = 15_000;
/** Execution updates are sent at most this often (a Map of 1,000 chunks makes many events). */
const UPDATE_EVERY_MS = 150;
/**
 * How often the rows reported by running executions' loading chunks are read (one
 * GetItem per running execution); the loaders report at most once a second.
 */
const LIVE_ROWS_EVERY_MS = 1_000;
const MAX_JSON_BODY = 64 * 1024;

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
} as const;

const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Serves the console on 127.0.0.1: the page (bundled at start), a small JSON API
 * over the stack, and a server-sent event stream of execution updates. Reads are
 * open to the local machine; uploads and redrives need this start's token in the
 * `x-console-token` header, which a page of another origin cannot send (a custom
 * header needs a CORS preflight, and the console answers none), so they are safe
 * from cross-site requests. Requests whose Host is not this server's address
 * (DNS rebinding) are refused.
 */
export async function startConsole(
  context: ConsoleContext,
  spec: PortSpec,
  options: {
    /** @default a random one per start */
    readonly token?: string;
    /** The page, when its bundling was started earlier (it then overlaps the stack's boot). */
    readonly bundle?: Promise<UiBundle>;
  } = {},
): Promise<ConsoleServer> {
  const token = options.token ?? randomBytes(18).toString('base64url');
  const [bundle, definition, api] = await Promise.all([
    options.bundle ?? bundleUi(),
    context.sfn
      .send(new DescribeStateMachineCommand({ stateMachineArn: context.endpoints.stateMachineArn }))
      .then((described) => described.definition ?? '{}'),
    ApiClient.create(context.endpoints),
  ]);
  const parsedDefinition = JSON.parse(definition) as Record<string, unknown>;
  const streams = new Set<ServerResponse>();
  const summaries = new SummaryCache();

  let port = 0;
  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const allowedOrigins = () => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);

  const broadcast = (event: ConsoleEvent) => {
    const frame = `event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
    for (const stream of streams) stream.write(frame);
  };
  const dirty = new Set<string>();
  let flushTimer: NodeJS.Timeout | undefined;
  const flush = () => {
    flushTimer = undefined;
    for (const arn of dirty) {
      try {
        broadcast({ type: 'execution', data: summaryOf(context.executions.get(arn)) });
      } catch {
        // gone (it cannot be, executions are kept): nothing to send
      }
    }
    dirty.clear();
  };
  const touch = (execution: Execution) => {
    dirty.add(execution.executionArn);
    flushTimer ??= setTimeout(flush, UPDATE_EVERY_MS);
  };
  const unsubscribe = context.executions.onEvent((execution, event) => {
    touch(execution);
    if (event.type === 'ExecutionStarted') {
      broadcast({ type: 'objects', data: { key: summaryOf(execution).file } });
    }
    if (event.type.startsWith('Execution') && event.type !== 'ExecutionStarted') {
      // The status is set once the execution has closed, after its last event.
      void execution.done.then(() => {
        touch(execution);
        if (execution.status === 'FAILED') broadcast({ type: 'dlq', data: { reason: 'failed' } });
      });
    }
  });
  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(': keep-alive\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();

  // Rows reported by the loading chunks of running executions, by execution ARN: a round
  // of reads (one per running execution, side by side) every LIVE_ROWS_EVERY_MS after the
  // previous round ended, so rounds never overlap; a change is sent as an execution
  // update. A closed execution's own count replaces them.
  const liveRows = new Map<string, ReadonlyMap<number, number>>();
  let liveTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  const readLiveRows = async (read: LiveRowsReader) => {
    const running = context.executions.list().filter(({ status }) => status === 'RUNNING');
    const runningArns = new Set(running.map(({ executionArn }) => executionArn));
    for (const arn of liveRows.keys()) if (!runningArns.has(arn)) liveRows.delete(arn);
    await Promise.all(
      running.map(async (execution) => {
        const rows = await read(execution.input);
        if (stopping || sameRows(liveRows.get(execution.executionArn), rows)) return;
        liveRows.set(execution.executionArn, rows);
        touch(execution);
      }),
    );
  };
  const scheduleLiveRows = () => {
    const read = context.liveRows;
    if (read === undefined || stopping) return;
    liveTimer = setTimeout(() => {
      void readLiveRows(read)
        .catch(() => undefined) // a failed read shows the rows of the chunks that ended
        .finally(scheduleLiveRows);
    }, LIVE_ROWS_EVERY_MS);
    liveTimer.unref();
  };
  scheduleLiveRows();
  const summaryOf = (execution: Execution) =>
    summaries.of(execution, liveRows.get(execution.executionArn));

  // DLQ listing and redrive both move messages' visibility: one at a time.
  let dlqQueue: Promise<unknown> = Promise.resolve();
  const serialDlq = <T>(work: () => Promise<T>): Promise<T> => {
    const run = dlqQueue.then(work, work);
    dlqQueue = run.catch(() => undefined);
    return run;
  };

  const e = context.endpoints;
  const datasets: ConsoleDataset[] = e.datasets.map(({ name, key, keyType, table }) => ({
    name,
    key,
    keyType,
    table,
    columns: context.columns[name] ?? [],
  }));
  const hasToken = (req: IncomingMessage) => {
    const given = req.headers[TOKEN_HEADER];
    if (typeof given !== 'string') return false;
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };

  const routes: Route[] = [
    route('GET', /^\/$|^\/index\.html$/, (_req, res) => sendPage(res, bundle)),
    route('GET', /^\/assets\/app\.js$/, (_req, res) =>
      sendAsset(res, 'text/javascript; charset=utf-8', bundle.js),
    ),
    route('GET', /^\/assets\/app\.css$/, (_req, res) =>
      sendAsset(res, 'text/css; charset=utf-8', bundle.css),
    ),
    route('GET', /^\/api\/config$/, (req, res) => {
      const config: ConsoleConfig = {
        dataset: datasetOf(datasets, e.dataset.name),
        datasets,
        bucket: e.bucket,
        table: e.table,
        queueUrl: e.queueUrl,
        dlqUrl: e.dlqUrl,
        stateMachineArn: e.stateMachineArn,
        definition,
        canChange: hasToken(req),
        partSize: PART_SIZE,
      };
      sendJson(res, 200, config);
    }),
    route('GET', /^\/api\/events$/, (req, res) => {
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'text/event-stream; charset=utf-8',
        connection: 'keep-alive',
      });
      res.write('retry: 2000\n\n');
      streams.add(res);
      req.on('close', () => streams.delete(res));
    }),
    route('GET', /^\/api\/executions$/, (_req, res) =>
      sendJson(
        res,
        200,
        context.executions.list().map((execution) => summaryOf(execution)),
      ),
    ),
    route('GET', /^\/api\/executions\/([^/]+)$/, (_req, res, match) => {
      const name = decodeURIComponent(match[1] ?? '');
      const arn = `${e.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
      let execution: Execution;
      try {
        execution = context.executions.get(arn);
      } catch {
        throw new ConsoleRequestError(404, 'not-found', `No execution is named "${name}"`);
      }
      sendJson(
        res,
        200,
        detail(execution, parsedDefinition, Date.now(), liveRows.get(execution.executionArn)),
      );
    }),
    route('GET', /^\/api\/objects$/, async (_req, res, _match, url) =>
      sendJson(
        res,
        200,
        await listObjects(context.s3, e.bucket, url.searchParams.get('after') ?? undefined),
      ),
    ),
    route(
      'PUT',
      /^\/api\/objects$/,
      async (req, res, _match, url) => {
        const key = checkKey(url.searchParams.get('key'));
        const result = await uploadObject(context.s3, e.bucket, key, req);
        broadcast({ type: 'objects', data: { key } });
        sendJson(res, 200, result);
      },
      true,
    ),
    route('GET', /^\/api\/lines$/, async (_req, res, _match, url) => {
      const params = url.searchParams;
      const request: LinesRequest = {
        key: checkKey(params.get('key')),
        ...optional('eTag', params.get('eTag') ?? undefined),
        ...optional('start', count(params, 'start')),
        ...optional('end', count(params, 'end')),
        ...optional('firstLine', count(params, 'firstLine', 1)),
        ...optional('line', count(params, 'line', 1)),
      };
      sendJson(res, 200, await readLines(context.s3, e.bucket, request));
    }),
    route('GET', /^\/api\/dlq$/, async (_req, res) =>
      sendJson(res, 200, await serialDlq(() => listDlq(context.sqs, e.dlqUrl, e.queueUrl))),
    ),
    route(
      'POST',
      /^\/api\/dlq\/redrive$/,
      async (req, res) => {
        const body = (await readJson(req)) as { messageIds?: unknown };
        const ids = body.messageIds;
        if (
          ids !== undefined &&
          (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string') || ids.length === 0)
        ) {
          throw new ConsoleRequestError(
            400,
            'invalid-body',
            'messageIds must be a non-empty array of message ids (or absent, to redrive every message)',
          );
        }
        const result = await serialDlq(() =>
          redriveDlq(context.sqs, e.dlqUrl, e.queueUrl, ids as string[] | undefined),
        );
        broadcast({ type: 'dlq', data: { reason: 'redrive' } });
        sendJson(res, 200, result);
      },
      true,
    ),
    route('GET', /^\/api\/records$/, async (_req, res, _match, url) => {
      const params = url.searchParams;
      const dataset = datasetOf(e.datasets, params.get('dataset'));
      const key = params.get('key');
      const limit = count(params, 'limit', 1);
      const cursor = params.get('cursor');
      const query: RecordsQuery =
        key !== null
          ? { key }
          : { ...optional('limit', limit), ...optional('cursor', cursor ?? undefined) };
      sendJson(res, 200, await readRecords(e, api, dataset, query));
    }),
  ];

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof ConsoleRequestError) {
        sendJson(res, error.status, { error: error.code, message: error.message });
      } else {
        sendJson(res, 500, {
          error: 'internal',
          message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
      }
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!allowedHosts().has(req.headers.host ?? '')) {
      throw new ConsoleRequestError(
        403,
        'forbidden-host',
        `The console answers only to http://127.0.0.1:${port} (this request's Host is "${req.headers.host ?? ''}")`,
      );
    }
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const matching = routes.filter((candidate) => candidate.path.test(url.pathname));
    const found = matching.find((candidate) => candidate.method === req.method);
    if (!found) {
      if (matching.length > 0) {
        res.setHeader('allow', matching.map((candidate) => candidate.method).join(', '));
        throw new ConsoleRequestError(
          405,
          'method-not-allowed',
          `${req.method} is not supported here`,
        );
      }
      throw new ConsoleRequestError(404, 'not-found', `Nothing at ${url.pathname}`);
    }
    if (found.changes) {
      const origin = req.headers.origin;
      if (origin !== undefined && !allowedOrigins().has(origin)) {
        throw new ConsoleRequestError(
          403,
          'forbidden-origin',
          `Requests from ${origin} may not change anything`,
        );
      }
      if (!hasToken(req)) {
        throw new ConsoleRequestError(
          403,
          'token-required',
          `Uploads and redrives need the console's token in the ${TOKEN_HEADER} header: open the URL npm start printed (it ends with ?token=…)`,
        );
      }
    }
    await found.run(req, res, found.path.exec(url.pathname) ?? [], url);
  }

  port = await listen(server, spec);
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    token,
    port,
    server,
    stop: async () => {
      stopping = true;
      if (liveTimer) clearTimeout(liveTimer);
      unsubscribe();
      clearInterval(heartbeat);
      if (flushTimer) clearTimeout(flushTimer);
      for (const stream of streams) stream.end();
      streams.clear();
      await close(server);
      await api.close();
    },
  };
}

interface Route {
  readonly method: string;
  readonly path: RegExp;
  /** Whether it changes something (then it needs the token). */
  readonly changes: boolean;
  run(
    req: IncomingMessage,
    res: ServerResponse,
    match: RegExpExecArray | never[],
    url: URL,
  ): Promise<void> | void;
}

function route(method: string, path: RegExp, run: Route['run'], changes = false): Route {
  return { method, path, run, changes };
}

/** Summaries, recomputed only when an execution has new events or a new status. */
class SummaryCache {
  private readonly cache = new Map<
    string,
    { events: number; status: string; summary: ExecutionSummary }
  >();

  of(execution: Execution, liveRows?: ReadonlyMap<number, number>): ExecutionSummary {
    const cached = this.cache.get(execution.executionArn);
    if (
      cached &&
      cached.events === execution.events.length &&
      cached.status === execution.status &&
      execution.status !== 'RUNNING'
    ) {
      return cached.summary;
    }
    const summary = summarize(execution, Date.now(), liveRows);
    this.cache.set(execution.executionArn, {
      events: execution.events.length,
      status: execution.status,
      summary,
    });
    return summary;
  }
}

/** Whether two reports of rows by chunk hold the same counts. */
function sameRows(
  a: ReadonlyMap<number, number> | undefined,
  b: ReadonlyMap<number, number>,
): boolean {
  if (a === undefined) return b.size === 0;
  if (a.size !== b.size) return false;
  for (const [chunk, rows] of b) if (a.get(chunk) !== rows) return false;
  return true;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

function sendAsset(res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function sendPage(res: ServerResponse, bundle: UiBundle): void {
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': PAGE_POLICY,
    'content-length': String(Buffer.byteLength(bundle.html)),
  });
  res.end(bundle.html);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BODY) {
      throw new ConsoleRequestError(
        413,
        'too-large',
        `The request body is over ${MAX_JSON_BODY} bytes`,
      );
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new ConsoleRequestError(400, 'invalid-body', 'The request body must be a JSON object');
}

/** A whole-number query parameter (at least `min`), or undefined when absent. */
function count(params: URLSearchParams, name: string, min = 0): number | undefined {
  const text = params.get(name);
  if (text === null || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConsoleRequestError(
      400,
      'invalid-query',
      `${name} must be a whole number of at least ${min} (got "${text}")`,
    );
  }
  return value;
}

function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}

/**
 * The dataset a records request names (`dataset=<name>`), the first when it names none;
 * a name the stack does not serve is refused with the names it does.
 */
export function datasetOf<D extends { readonly name: string }>(
  datasets: readonly D[],
  name: string | null,
): D {
  const found = name === null || name === '' ? datasets[0] : datasets.find((d) => d.name === name);
  if (found) return found;
  throw new ConsoleRequestError(
    400,
    'unknown-dataset',
    `dataset "${name}" is not one of this stack's datasets: ${datasets.map((d) => d.name).join(', ')}`,
  );
}
