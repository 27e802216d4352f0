import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toAlbEvent } from '../../local/api/alb-front.js';
import { checkTokenRequest, type LocalClient } from '../../local/auth/issuer.js';
import { batchGetBody } from '../../local/cli/api-client.js';
import { parseArgs, portOption, UsageError } from '../../local/cli/args.js';
import { progressFromHistory } from '../../local/cli/progress.js';
import { firstProblem } from '../../local/cli/report.js';
import { DefinitionError, prepareDefinition } from '../../local/stepfunctions/definition.js';
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

  it('keeps the query URL-encoded, passes the last of repeated headers and adds the forwarding headers', () => {
    const event = toAlbEvent(
      request('/books/batch-get?a=1%202&b', [
        'Content-Type',
        'application/json',
        'X-A',
        '1',
        'X-A',
        '2',
      ]),
      Buffer.from('{"keys":[1]}'),
      'arn:tg',
      8443,
    );
    expect(event).toMatchObject({
      requestContext: { elb: { targetGroupArn: 'arn:tg' } },
      httpMethod: 'POST',
      path: '/books/batch-get',
      queryStringParameters: { a: '1%202', b: '' },
      headers: {
        'content-type': 'application/json',
        'x-a': '2',
        'x-forwarded-proto': 'https',
        'x-forwarded-port': '8443',
      },
      body: '{"keys":[1]}',
      isBase64Encoded: false,
    });
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
        stateExitedEventDetails: { name: 'LoadChunk', output: '{"written":10}' },
      },
      { type: 'MapIterationSucceeded' },
      { type: 'TaskFailed' },
      {
        type: 'TaskStateExited',
        stateExitedEventDetails: { name: 'LoadChunk', output: '{"written":5}' },
      },
      { type: 'MapIterationSucceeded' },
    ]);
    expect(progress).toEqual({
      chunks: 3,
      chunksDone: 2,
      rowsWritten: 15,
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
