import { request as httpRequest } from 'node:http';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type {
  ConsoleConfig,
  ExecutionDetail,
  ExecutionSummary,
  LinesView,
  RecordsResult,
  UploadResult,
} from '../../local/console/model.js';
import type { LocalStack } from '../../local/stack.js';
import { executionsSince, sample, startTestStack, uploadAndWait, waitFor } from './helpers.js';

// The console's server over HTTP, without a browser: what it refuses, and what its
// small API answers, against the real local stack.

let stack: LocalStack;
let stop: () => Promise<void>;
let base: string;
let token: string;

beforeAll(async () => {
  ({ stack, stop } = await startTestStack());
  const url = new URL(stack.endpoints.console);
  base = url.origin;
  token = url.searchParams.get('token') ?? '';
}, 60_000);

afterAll(async () => {
  await stop?.();
}, 30_000);

/** A request with exactly the headers given (fetch cannot set Host). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: url.port, method, path: url.pathname + url.search, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const json = <T>(text: string) => JSON.parse(text) as T;

describe('console server: where it listens and what it refuses', () => {
  it("listens on 127.0.0.1 only, and its URL in the endpoints carries this start's token", () => {
    expect(new URL(stack.endpoints.console).hostname).toBe('127.0.0.1');
    expect(token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  });

  it('refuses a request for another Host (DNS rebinding)', async () => {
    const answer = await raw('GET', '/api/config', { host: 'attacker.example:80' });
    expect(answer.status).toBe(403);
    expect(json<{ error: string }>(answer.body).error).toBe('forbidden-host');
  });

  it('serves the page with a strict Content-Security-Policy', async () => {
    const answer = await raw('GET', '/', { host: new URL(base).host });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-security-policy']).toContain("script-src 'self'");
    expect(answer.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(answer.body).toContain('/assets/app.js');
    const script = await raw('GET', '/assets/app.js', { host: new URL(base).host });
    expect(script.status).toBe(200);
    expect(script.body.length).toBeGreaterThan(10_000);
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { 'x-console-token': 'not-the-token' }],
    ['the token only as a cookie', { cookie: `x-console-token=${token}; token=${token}` }],
  ])('refuses an upload with %s and stores nothing', async (_what, headers) => {
    const answer = await raw(
      'PUT',
      '/api/objects?key=refused/books.csv',
      { host: new URL(base).host, ...headers },
      await sample('books.csv'),
    );
    expect(answer.status).toBe(403);
    expect(json<{ error: string }>(answer.body).error).toBe('token-required');
    await expect(
      stack.clients.s3.send(
        new HeadObjectCommand({ Bucket: stack.names.bucket, Key: 'refused/books.csv' }),
      ),
    ).rejects.toThrow();
  });

  it('refuses a redrive from another origin even with the token', async () => {
    const answer = await raw('POST', '/api/dlq/redrive', {
      host: new URL(base).host,
      origin: 'https://attacker.example',
      'x-console-token': token,
      'content-type': 'application/json',
    });
    expect(answer.status).toBe(403);
    expect(json<{ error: string }>(answer.body).error).toBe('forbidden-origin');
  });

  it('refuses a redrive without the token', async () => {
    const answer = await raw('POST', '/api/dlq/redrive', { host: new URL(base).host });
    expect(answer.status).toBe(403);
  });

  it.each([
    ['not JSON', 'nope', 'must be a JSON object'],
    ['an empty list', '{"messageIds":[]}', 'non-empty array'],
    ['ids that are not strings', '{"messageIds":[1]}', 'non-empty array'],
  ])('answers 400 to a redrive body that is %s', async (_what, body, message) => {
    const answer = await raw(
      'POST',
      '/api/dlq/redrive',
      { host: new URL(base).host, 'x-console-token': token, 'content-type': 'application/json' },
      body,
    );
    expect(answer.status).toBe(400);
    expect(json<{ message: string }>(answer.body).message).toContain(message);
  });

  it('tells the page whether its token is right', async () => {
    const withToken = await fetch(`${base}/api/config`, { headers: { 'x-console-token': token } });
    const without = await fetch(`${base}/api/config`);
    expect((await withToken.json()) as ConsoleConfig).toMatchObject({ canChange: true });
    const config = (await without.json()) as ConsoleConfig;
    expect(config.canChange).toBe(false);
    // The definition is the one the Step Functions endpoint runs (substituted).
    expect(JSON.parse(config.definition).StartAt).toBe('Configure');
    expect(config.definition).toContain(stack.endpoints.dlqUrl);
  });

  it.each([
    ['/api/nothing', 404],
    ['/api/lines?key=a.csv&start=-1', 400],
    ['/api/lines?key=', 400],
    ['/api/executions/no-such-execution', 404],
  ])('answers %s with %i and a message', async (path, status) => {
    const answer = await fetch(`${base}${path}`);
    expect(answer.status).toBe(status);
    expect(((await answer.json()) as { message: string }).message).not.toBe('');
  });
});

describe('console server: its API over the stack', () => {
  it('uploads a file over one part size as a multipart upload that starts an ingestion', async () => {
    // Over 8 MiB, and rejected at its header, so the ingestion ends at once.
    const body = Buffer.concat([
      Buffer.from('ISBN,titel\n'),
      Buffer.alloc(9 * 1024 * 1024, 'x,y\n'),
    ]);
    const since = Date.now();
    const answer = await fetch(
      `${base}/api/objects?key=${encodeURIComponent('big/multipart.csv')}`,
      {
        method: 'PUT',
        headers: { 'x-console-token': token, 'content-type': 'text/csv' },
        body,
      },
    );
    expect(answer.status).toBe(200);
    const result = (await answer.json()) as UploadResult;
    expect(result).toMatchObject({ key: 'big/multipart.csv', size: body.length, parts: 2 });
    expect(result.eTag).toMatch(/-2"$/);
    const execution = await waitFor(
      'the ingestion of the multipart upload to close',
      () =>
        executionsSince(stack, 'big/multipart.csv', since).find(
          (candidate) => candidate.status !== 'RUNNING',
        ),
      60_000,
    );
    expect(execution.error).toBe('InvalidFileError');
    const record = JSON.parse(execution.input) as { Records: { eventName: string }[] };
    expect(record.Records[0]?.eventName).toBe('ObjectCreated:CompleteMultipartUpload');
  }, 90_000);

  it('streams execution updates as server-sent events while a file loads', async () => {
    const controller = new AbortController();
    const stream = await fetch(`${base}/api/events`, { signal: controller.signal });
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const updates: ExecutionSummary[] = [];
    const closed = (async () => {
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += decoder.decode(value, { stream: true });
        let end = text.indexOf('\n\n');
        while (end >= 0) {
          const frame = text.slice(0, end);
          text = text.slice(end + 2);
          const type = /^event: (.+)$/m.exec(frame)?.[1];
          const data = /^data: (.+)$/m.exec(frame)?.[1];
          if (type === 'execution' && data) {
            const summary = JSON.parse(data) as ExecutionSummary;
            if (summary.file === 'sse/books.csv') updates.push(summary);
            if (summary.file === 'sse/books.csv' && summary.status !== 'RUNNING') return;
          }
          end = text.indexOf('\n\n');
        }
      }
    })();
    await uploadAndWait(stack, 'sse/books.csv', await sample('books.csv'));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      closed,
      new Promise((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error('no SUCCEEDED update of sse/books.csv within 30 s')),
          30_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    controller.abort();
    expect(updates.length).toBeGreaterThan(0);
    expect(updates[updates.length - 1]).toMatchObject({
      status: 'SUCCEEDED',
      rowsWritten: 100,
      rowsTotal: 100,
      chunksDone: 1,
      chunksTotal: 1,
    });
  }, 60_000);

  it("shows a chunk's lines by byte range, and the lines around a line of a failure", async () => {
    const good = await uploadAndWait(stack, 'lines/books.csv', await sample('books.csv'));
    const view = (await (
      await fetch(`${base}/api/executions/${good.name}`)
    ).json()) as ExecutionDetail;
    const chunk = view.chunks[0]?.item as { start: number; end: number; firstLine: number };
    const eTag = (JSON.parse(good.input) as { file: { eTag: string } }).file.eTag;
    const lines = (await (
      await fetch(
        `${base}/api/lines?key=lines/books.csv&eTag=${eTag}&start=${chunk.start}&end=${chunk.end}&firstLine=${chunk.firstLine}`,
      )
    ).json()) as LinesView;
    expect(lines.firstLine).toBe(2);
    expect(lines.lines[5]).toMatch(/^9781400395958,"Crime and Punishment/);
    expect(lines.next).toBeUndefined();

    const around = (await (
      await fetch(`${base}/api/lines?key=lines/books.csv&line=40`)
    ).json()) as LinesView;
    expect(around.firstLine).toBe(35);
    const changed = await fetch(`${base}/api/lines?key=lines/books.csv&eTag=0123&line=3`);
    expect(changed.status).toBe(409);
    expect(((await changed.json()) as { message: string }).message).toContain('has changed');
  }, 60_000);

  it.each([
    ['a key that exists', '9781400395958', 200, '"Crime and Punishment, A Novel in Six Parts"'],
    ['a key that does not', '9780000000000', 404, '"code":"not-found"'],
    ['a key that is not a number', 'abc', 400, '"code":"invalid-key"'],
  ])(
    'reads %s through the HTTPS API with a token, and says how',
    async (_what, key, status, text) => {
      await uploadAndWait(stack, 'records/books.csv', await sample('books.csv'));
      const result = (await (
        await fetch(`${base}/api/records?key=${key}`)
      ).json()) as RecordsResult;
      expect(result.status).toBe(status);
      expect(result.body).toContain(text);
      expect(result.steps.map((step) => [step.method, step.url, step.status])).toEqual([
        ['POST', stack.endpoints.tokenUrl, 200],
        ['GET', `${stack.endpoints.api}/books/${key}`, status],
      ]);
      // The token is shown shortened, its claims decoded.
      expect(result.steps[0]?.body).toContain('…');
      expect(result.claims).toMatchObject({
        scope: stack.endpoints.scope,
        aud: stack.endpoints.audience,
      });
    },
    60_000,
  );

  it('redrives every message of the DLQ when no message ids are given', async () => {
    await uploadAndWait(stack, 'redrive-all/bad.csv', await sample('bad-header.csv'));
    const before = json<{ messages: { file?: string }[] }>(
      (await raw('GET', '/api/dlq', { host: new URL(base).host })).body,
    ).messages;
    expect(before.map((message) => message.file)).toContain('redrive-all/bad.csv');
    const since = Date.now();
    const answer = await raw(
      'POST',
      '/api/dlq/redrive',
      { host: new URL(base).host, 'x-console-token': token, 'content-type': 'application/json' },
      '{}',
    );
    expect(answer.status).toBe(200);
    expect(json(answer.body)).toEqual({ moved: before.length, requested: before.length });
    const redriven = await waitFor(
      'the redrive of redrive-all/bad.csv to close',
      () =>
        executionsSince(stack, 'redrive-all/bad.csv', since).find(
          (execution) => execution.name.startsWith('redrive-') && execution.status !== 'RUNNING',
        ),
      60_000,
    );
    expect(redriven.error).toBe('InvalidFileError');
  }, 90_000);
});
