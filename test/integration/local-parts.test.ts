import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { albResult, MAX_RESPONSE_BYTES, toAlbEvent } from '../../local/api/alb-front.js';
import { checkTokenRequest, type LocalClient } from '../../local/auth/issuer.js';
import { batchGetBody } from '../../local/cli/api-client.js';
import { parseArgs, portOption, UsageError } from '../../local/cli/args.js';
import { prettyJson } from '../../local/cli/format.js';
import { progressFromHistory } from '../../local/cli/progress.js';
import { dlqTable, firstProblem, progressLine } from '../../local/cli/report.js';
import { portSpec } from '../../local/config.js';
import { readEndpoints, StackNotRunningError } from '../../local/endpoints.js';
import type { InvokeOutcome } from '../../local/lambda/runtime.js';
import { assertPortFree, PortInUseError } from '../../local/ports.js';
import { startLocalStack } from '../../local/stack.js';
import { DefinitionError, prepareDefinition } from '../../local/stepfunctions/definition.js';
import { isValidExecutionName } from '../../local/stepfunctions/executions.js';
import {
  encodeEventKey,
  nextSequencer,
  objectCreatedRecord,
} from '../../local/wiring/s3-notifications.js';
import { failedMessageIds } from '../../local/wiring/sqs-event-source.js';

// The local stack's pure parts, specified without starting any server.

describe('encodeEventKey', () => {
  it.each([
    ['plain.csv', 'plain.csv'],
    ['my books.csv', 'my+books.csv'],
    ['dir/sub/file.csv', 'dir/sub/file.csv'],
    ['a+b=c (1).csv', 'a%2Bb%3Dc+%281%29.csv'],
    ['café.csv', 'caf%C3%A9.csv'],
  ])('encodes %j as S3 writes it in events: %j', (key, encoded) => {
    expect(encodeEventKey(key)).toBe(encoded);
  });
});

describe('objectCreatedRecord', () => {
  const base = {
    region: 'us-east-1',
    bucket: 'b',
    key: 'my file.csv',
    size: 10,
    sequencer: '0001',
    eventTime: new Date('2026-01-02T03:04:05.000Z'),
  };

  it('returns the S3 event record shape with an unquoted ETag', () => {
    expect(objectCreatedRecord({ ...base, eTag: '"abc"' })).toMatchObject({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventTime: '2026-01-02T03:04:05.000Z',
      eventName: 'ObjectCreated:Put',
      s3: {
        s3SchemaVersion: '1.0',
        bucket: { name: 'b', arn: 'arn:aws:s3:::b' },
        object: { key: 'my+file.csv', size: 10, eTag: 'abc', sequencer: '0001' },
      },
    });
  });

  it('names a multipart upload CompleteMultipartUpload and omits versionId when unversioned', () => {
    const record = objectCreatedRecord({ ...base, eTag: '"abc-3"' });
    expect(record.eventName).toBe('ObjectCreated:CompleteMultipartUpload');
    expect(record.s3.object).not.toHaveProperty('versionId');
  });
});

describe('nextSequencer', () => {
  it('grows strictly even within one millisecond', () => {
    const first = nextSequencer(1_000);
    const second = nextSequencer(1_000);
    expect(second > first).toBe(true);
    expect(first).toMatch(/^[0-9A-F]{18}$/);
  });
});

describe('failedMessageIds (partial batch response)', () => {
  const messages = [{ MessageId: 'a' }, { MessageId: 'b' }, { MessageId: 'c' }];

  it.each([
    ['no batchItemFailures', { batchItemFailures: [] }, []],
    ['a null result', null, []],
    ['one failure', { batchItemFailures: [{ itemIdentifier: 'b' }] }, ['b']],
    [
      'an unknown identifier (fails the whole batch)',
      { batchItemFailures: [{ itemIdentifier: 'x' }] },
      ['a', 'b', 'c'],
    ],
    [
      'an empty identifier (fails the whole batch)',
      { batchItemFailures: [{ itemIdentifier: '' }] },
      ['a', 'b', 'c'],
    ],
    ['a malformed list (fails the whole batch)', { batchItemFailures: 'b' }, ['a', 'b', 'c']],
  ])('returns the failed ids for %s', (_what, result, failed) => {
    expect([...failedMessageIds(result, messages)].sort()).toEqual(failed);
  });
});

describe('checkTokenRequest', () => {
  const client: LocalClient = {
    clientId: 'id',
    clientSecret: 's3cret',
    audience: 'books-api',
    scopes: ['books-api/read'],
    tokenTtlSeconds: 3600,
  };
  const basic = (id: string, secret: string) =>
    `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

  it.each([
    [
      'HTTP Basic',
      { authorization: basic('id', 's3cret') },
      { grant_type: 'client_credentials' },
      { scope: 'books-api/read' },
    ],
    [
      'form fields',
      {},
      { grant_type: 'client_credentials', client_id: 'id', client_secret: 's3cret' },
      { scope: 'books-api/read' },
    ],
    [
      'a wrong secret',
      { authorization: basic('id', 'nope') },
      { grant_type: 'client_credentials' },
      { error: 'invalid_client' },
    ],
    [
      'an unknown client',
      {},
      { grant_type: 'client_credentials', client_id: 'x', client_secret: 's3cret' },
      { error: 'invalid_client' },
    ],
    [
      'another grant',
      { authorization: basic('id', 's3cret') },
      { grant_type: 'password' },
      { error: 'unsupported_grant_type' },
    ],
    [
      'a malformed percent-escape in HTTP Basic',
      { authorization: basic('id', '%zz') },
      { grant_type: 'client_credentials' },
      { error: 'invalid_client' },
    ],
    [
      'an unknown scope',
      { authorization: basic('id', 's3cret') },
      { grant_type: 'client_credentials', scope: 'admin' },
      { error: 'invalid_scope' },
    ],
  ])('decides a request with %s', (_what, headers, body, outcome) => {
    expect(checkTokenRequest(client, { headers, body })).toMatchObject(outcome);
  });
});

describe('toAlbEvent', () => {
  const request = (url: string, rawHeaders: string[]) =>
    ({
      url,
      method: 'POST',
      rawHeaders,
      socket: { remoteAddress: '127.0.0.1' },
    }) as unknown as IncomingMessage;

  it('passes every value of repeated headers and query parameters (multi-value headers), the query still URL-encoded', () => {
    const event = toAlbEvent(
      request('/books?limit=1&limit=2&a=1%202&b', [
        'Authorization',
        'Bearer one',
        'X-A',
        '1',
        'authorization',
        'Bearer two',
      ]),
      Buffer.alloc(0),
      'arn:tg',
      8443,
    );
    expect(event).toMatchObject({
      requestContext: { elb: { targetGroupArn: 'arn:tg' } },
      httpMethod: 'POST',
      path: '/books',
      multiValueQueryStringParameters: { limit: ['1', '2'], a: ['1%202'], b: [''] },
      multiValueHeaders: {
        authorization: ['Bearer one', 'Bearer two'],
        'x-a': ['1'],
        'x-forwarded-for': ['127.0.0.1'],
        'x-forwarded-proto': ['https'],
        'x-forwarded-port': ['8443'],
      },
      body: '',
      isBase64Encoded: false,
    });
    expect(event.headers).toBeUndefined();
    expect(event.queryStringParameters).toBeUndefined();
  });

  it('appends the client address to an X-Forwarded-For the client sent', () => {
    const event = toAlbEvent(
      request('/x', ['X-Forwarded-For', '203.0.113.7']),
      Buffer.alloc(0),
      'arn:tg',
      443,
    );
    expect(event.multiValueHeaders?.['x-forwarded-for']).toEqual(['203.0.113.7, 127.0.0.1']);
  });

  it.each([
    ['a request for //health', '//health', '//health'],
    ['dot segments', '/books/../health?x=1', '/books/../health'],
    ['percent-encoding', '/books/caf%C3%A9%2Fx', '/books/caf%C3%A9%2Fx'],
  ])('passes the path as the client sent it for %s', (_what, url, path) => {
    expect(toAlbEvent(request(url, []), Buffer.alloc(0), 'arn:tg', 443).path).toBe(path);
  });

  it.each([
    ['application/json; charset=utf-8', false],
    ['text/csv', false],
    ['application/javascript', false],
    ['application/xml', false],
    ['application/x-www-form-urlencoded', true],
    ['application/problem+json', true],
    [undefined, true],
  ])('passes a body of content type %s base64-encoded: %s', (contentType, base64) => {
    const headers = contentType === undefined ? [] : ['Content-Type', contentType];
    const event = toAlbEvent(request('/x', headers), Buffer.from('a=1'), 'arn:tg', 443);
    expect(event.isBase64Encoded).toBe(base64);
    expect(event.body).toBe(base64 ? Buffer.from('a=1').toString('base64') : 'a=1');
  });

  it('passes a JSON body as it is when it is UTF-8 text', () => {
    const event = toAlbEvent(
      request('/x', ['Content-Type', 'application/json']),
      Buffer.from('{"keys":["Достоевский"]}'),
      'arn:tg',
      443,
    );
    expect(event).toMatchObject({ body: '{"keys":["Достоевский"]}', isBase64Encoded: false });
  });

  it('base64-encodes a JSON body that is not valid UTF-8, so every byte arrives', () => {
    const bytes = Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x7d]); // {"<0xE9>"}
    const event = toAlbEvent(
      request('/x', ['Content-Type', 'application/json']),
      bytes,
      'arn:tg',
      443,
    );
    expect(event).toMatchObject({ body: bytes.toString('base64'), isBase64Encoded: true });
  });

  it('base64-encodes a binary body', () => {
    const event = toAlbEvent(
      request('/x', ['Content-Type', 'application/octet-stream']),
      Buffer.from([0, 1, 2]),
      'arn:tg',
      443,
    );
    expect(event).toMatchObject({ body: 'AAEC', isBase64Encoded: true });
  });
});

describe('albResult', () => {
  const ok = (result: unknown): InvokeOutcome => ({ ok: true, result });

  it('returns the function result as the response', () => {
    const result = { statusCode: 200, body: '{}', headers: { 'content-type': 'application/json' } };
    expect(albResult(ok(result))).toEqual(result);
  });

  it.each([
    [
      'a function error',
      { ok: false, error: { errorType: 'Error', errorMessage: 'x', trace: [] } } as InvokeOutcome,
    ],
    ['a result without a statusCode', ok({ body: 'x' })],
    ['a null result', ok(null)],
    ['a response JSON over 1 MB', ok({ statusCode: 200, body: 'x'.repeat(MAX_RESPONSE_BYTES) })],
  ])('answers 502 (undefined) for %s, as the ALB does', (_what, outcome) => {
    expect(albResult(outcome)).toBeUndefined();
  });
});

describe('isValidExecutionName', () => {
  it.each([
    ['books-csv-0123abcd', true],
    ['file.v2_x', true],
    ['café', true],
    ['x'.repeat(80), true],
    ['', false],
    ['x'.repeat(81), false],
    ['has space', false],
    ['a/b', false],
    ['a:b', false],
    ['a*', false],
    ['tab\there', false],
  ])('accepts %j as StartExecution does: %s', (name, valid) => {
    expect(isValidExecutionName(name)).toBe(valid);
  });
});

describe('prettyJson', () => {
  it('indents an API answer without rounding any number', () => {
    expect(prettyJson('{"isbn":9780000000000000001,"price":1.50,"n":[1e400]}')).toBe(
      '{\n  "isbn": 9780000000000000001,\n  "price": 1.50,\n  "n": [\n    1e400\n  ]\n}',
    );
  });

  it('returns text that is not JSON unchanged', () => {
    expect(prettyJson('<html>502</html>')).toBe('<html>502</html>');
  });
});

describe('progressLine and the DLQ table', () => {
  const execution = (status: string, events: object[], extra: object = {}) => ({
    name: 'n',
    status,
    input: '{"file":{"key":"f.csv"}}',
    startDate: new Date(0),
    stopDate: new Date(50),
    events,
    ...extra,
  });
  const failedTask = { type: 'TaskFailed' };

  it('shows why a failed execution failed, not its last task attempt as a retry', () => {
    const line = progressLine(
      execution('FAILED', [failedTask], {
        error: 'InvalidFileError',
        cause: JSON.stringify({ errorMessage: 'file is invalid: 1 error\n  line 2: bad' }),
      }),
      8,
    );
    expect(line).toMatch(/FAILED\s+50ms\s+InvalidFileError: line 2: bad$/);
    expect(line).not.toMatch(/attempt/);
  });

  it('counts the task attempts a succeeded execution retried', () => {
    expect(progressLine(execution('SUCCEEDED', [failedTask, failedTask]), 8)).toMatch(
      /SUCCEEDED 50ms\s+2 task attempt\(s\) retried$/,
    );
  });

  it('lists the DLQ by file', () => {
    const message = (key: string) => ({
      Body: JSON.stringify({
        Records: [{ s3: { object: { key } } }],
        failure: { error: 'InvalidFileError', cause: 'x' },
      }),
    });
    const rows = dlqTable([message('b.csv'), message('a+file.csv')])
      .split('\n')
      .slice(2);
    expect(rows.map((row) => row.split(/\s{2,}/)[0])).toEqual(['a file.csv', 'b.csv']);
  });
});

describe('readEndpoints', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'endpoints-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('says the stack is not running when there is no endpoints.json', async () => {
    await expect(readEndpoints(dir)).rejects.toThrow(/not running .*not found/);
  });

  it('says the stack is not running when the process that wrote endpoints.json has exited', async () => {
    const exited = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(join(dir, 'endpoints.json'), JSON.stringify({ pid: exited }));
    await expect(readEndpoints(dir)).rejects.toThrow(StackNotRunningError);
    await expect(readEndpoints(dir)).rejects.toThrow(`left by process ${exited}`);
  });

  it('returns the endpoints of a running stack', async () => {
    await writeFile(join(dir, 'endpoints.json'), JSON.stringify({ pid: process.pid, api: 'x' }));
    await expect(readEndpoints(dir)).resolves.toMatchObject({ api: 'x' });
  });
});

describe('port errors', () => {
  it('name the port, the service and the option and variable that change it', async () => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const { port } = taken.address() as { port: number };
    try {
      const error = await assertPortFree(portSpec('api', port)).catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(PortInUseError);
      expect((error as Error).message).toBe(
        `Port ${port} for HTTPS API (ALB) is already in use. Stop the process using it ` +
          `(lsof -i :${port}) or choose another port with --api-port / LOCAL_API_PORT.`,
      );
    } finally {
      taken.close();
    }
  });
  it('stop startLocalStack before anything starts or is written', async () => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const { port } = taken.address() as { port: number };
    const dataDir = join(tmpdir(), `local-stack-port-taken-${process.pid}`);
    try {
      const started = startLocalStack({
        dataDir,
        inMemory: true,
        ports: { aws: 0, dynamodb: port, stepfunctions: 0, auth: 0, api: 0, console: 0 },
      });
      await expect(started).rejects.toThrow(
        new PortInUseError('DynamoDB (dynalite)', port, '--dynamodb-port / LOCAL_DYNAMODB_PORT'),
      );
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      taken.close();
    }
  });
});

describe('prepareDefinition', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-parts-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function definitionFile(definition: object): Promise<string> {
    const file = join(dir, 'machine.asl.json');
    await writeFile(file, JSON.stringify(definition));
    return file;
  }
  // The ASL's definitionSubstitutions syntax, not a JavaScript template.
  const placeholder = ['$', '{FnArn}'].join('');
  const machine = {
    StartAt: 'Work',
    States: {
      Work: { Type: 'Task', Resource: placeholder, Next: 'Note' },
      Note: { Type: 'Pass', Parameters: { 'state.$': '$$.State.Name' }, End: true },
    },
  };

  it('substitutes placeholders, gives tasks AWS’s no-timeout default and inlines $$.State.Name', async () => {
    const prepared = await prepareDefinition(await definitionFile(machine), {
      FnArn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
    });
    expect(prepared.tasks).toEqual([
      { name: 'Work', resource: 'arn:aws:lambda:us-east-1:000000000000:function:f' },
    ]);
    expect(prepared.definition.States.Work).toMatchObject({ TimeoutSeconds: 2147482 });
    expect(prepared.definition.States.Note).toMatchObject({ Parameters: { state: 'Note' } });
    expect(JSON.parse(prepared.text).States.Work).not.toHaveProperty('TimeoutSeconds');
  });

  it('names a placeholder that has no local value', async () => {
    await expect(prepareDefinition(await definitionFile(machine), {})).rejects.toThrow(
      DefinitionError,
    );
    await expect(prepareDefinition(await definitionFile(machine), {})).rejects.toThrow(placeholder);
  });
});

describe('progressFromHistory', () => {
  it('counts chunks from the Map and rows from the tasks that exit inside it', () => {
    const progress = progressFromHistory([
      {
        type: 'TaskStateExited',
        stateExitedEventDetails: { name: 'PlanFile', output: '{"written":99}' },
      },
      { type: 'MapStateStarted', mapStateStartedEventDetails: { length: 3 } },
      {
        type: 'TaskStateExited',
        stateExitedEventDetails: { name: 'LoadChunk', output: '{"index":1,"written":10}' },
      },
      { type: 'MapIterationSucceeded' },
      { type: 'TaskFailed' },
      {
        type: 'TaskStateExited',
        stateExitedEventDetails: { name: 'LoadChunk', output: '{"index":0,"written":5}' },
      },
      { type: 'MapIterationSucceeded' },
    ]);
    expect(progress).toEqual({
      chunks: 3,
      chunksDone: 2,
      rowsWritten: 15,
      writtenByChunk: new Map([
        [1, 10],
        [0, 5],
      ]),
      taskFailures: 1,
      lastState: 'LoadChunk',
    });
  });
});

describe('CLI helpers', () => {
  it('keeps numeric batch-get keys exact and quotes the others', () => {
    expect(batchGetBody(['9780000000000000001', 'abc', '1.50'], true)).toBe(
      '{"keys":[9780000000000000001,"abc",1.50]}',
    );
    expect(batchGetBody(['123'], false)).toBe('{"keys":["123"]}');
  });

  it('reads a port from a flag before the environment, and rejects a bad one', () => {
    const args = parseArgs(['--api-port', '9443', '--no-samples'], ['api-port']);
    expect(portOption(args, 'api-port', 'LOCAL_API_PORT', { LOCAL_API_PORT: '1' })).toBe(9443);
    expect(args.flags.get('samples')).toBe(false);
    expect(
      portOption(parseArgs([], []), 'api-port', 'LOCAL_API_PORT', { LOCAL_API_PORT: '1' }),
    ).toBe(1);
    expect(() =>
      portOption(parseArgs(['--api-port=x'], ['api-port']), 'api-port', 'E', {}),
    ).toThrow(UsageError);
  });

  it('shows the first problem of an InvalidFileError and how many follow', () => {
    const cause = JSON.stringify({
      errorType: 'InvalidFileError',
      errorMessage: 'file is invalid: 3 errors\n  line 2: a\n  line 3: b\n  line 4: c',
    });
    expect(firstProblem(cause)).toBe('line 2: a (+2 more)');
    expect(firstProblem('plain text')).toBe('plain text');
  });
});
