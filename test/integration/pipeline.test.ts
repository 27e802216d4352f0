import {
  DescribeStateMachineCommand,
  ListExecutionsCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { fileRefOf, parseFileEventMessage } from '../../handlers/shared/s3-event.js';
import type { ApiClient } from '../../local/cli/api-client.js';
import { resolveExecution } from '../../local/cli/sfn-views.js';
import type { LocalStack } from '../../local/stack.js';
import { redrive } from '../../local/wiring/redrive.js';
import { encodeEventKey } from '../../local/wiring/s3-notifications.js';
import {
  closed,
  dlqRecordsFor,
  documentedBadFiles,
  executionsOf,
  expectedItems,
  nextExecutionOf,
  readThroughApi,
  sample,
  scanAll,
  startTestStack,
  token,
  uploadAndWait,
  waitFor,
} from './helpers.js';

// One stack for the file: the handlers read their configuration once per process.
let stack: LocalStack;
let api: ApiClient;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ stack, api, stop } = await startTestStack());
}, 60_000);

afterAll(async () => {
  await stop?.();
}, 30_000);

async function queueDrained(queueUrl: string): Promise<true | undefined> {
  const attributes = await stack.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  const pending =
    Number(attributes.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  return pending === 0 ? true : undefined;
}

describe('local stack: bad files', () => {
  // Every bad sample with the InvalidFileError message sample-files/README.md documents.
  it.each(documentedBadFiles())(
    'sends %s to the DLQ with its documented InvalidFileError and writes nothing',
    async (file, documented) => {
      const execution = await uploadAndWait(stack, file, await sample(file));

      expect(execution.status).toBe('FAILED');
      expect(execution.error).toBe('InvalidFileError');
      const [record, ...others] = await waitFor(`the DLQ record of ${file}`, async () => {
        const records = await dlqRecordsFor(stack, file);
        return records.length > 0 ? records : undefined;
      });
      expect(others).toHaveLength(0);
      expect(record?.failure).toMatchObject({
        error: 'InvalidFileError',
        executionArn: execution.executionArn,
        state: 'PlanFile',
      });
      // The plain message, not the Lambda error JSON around it.
      const message = record?.failure.cause ?? '';
      expect(message).not.toMatch(/errorType|trace/);
      expect(message.split('\n').map((line) => line.trim())).toEqual(
        documented.map((line) => line.replace('<bucket>', stack.names.bucket)),
      );
      expect(record?.Records[0]?.eventName).toBe('ObjectCreated:Put');
      // Bad files run before any good one: the table must still be empty.
      expect((await scanAll(stack)).size).toBe(0);
    },
    60_000,
  );
});

describe('local stack: failure records', () => {
  it('delivers a clean, redrivable record for U+FFFF in a cell and an emoji in the key', async () => {
    const key = 'odd/📚 books\uFFFE.csv';
    const [header] = (await sample('books.csv')).toString('utf8').split('\n');
    const execution = await uploadAndWait(
      stack,
      key,
      `${header}\n97801\uFFFF,Title 📚,Author,1999,en,1,1.00,,\n`,
    );

    expect(execution).toMatchObject({ status: 'FAILED', error: 'InvalidFileError' });
    const [record] = await waitFor(`the DLQ record of ${key}`, async () => {
      const records = await dlqRecordsFor(stack, encodeEventKey(key));
      return records.length > 0 ? records : undefined;
    });
    expect(record?.failure).toMatchObject({
      error: 'InvalidFileError',
      executionArn: execution.executionArn,
      state: 'PlanFile',
    });
    // The plain message, with the very characters of the file and the key.
    expect(record?.failure.cause).toBe(
      `s3://${stack.names.bucket}/${key} is invalid, nothing was written: 1 error\n  line 2, column 1 (isbn), value "97801\uFFFF": not a number`,
    );
    expect(execution.cause).toBe(record?.failure.cause);
    // The starter reads it back to the same object.
    const message = parseFileEventMessage(JSON.stringify(record));
    expect(message.kind === 'records' && fileRefOf(message.records[0] as never).key).toBe(key);
  }, 60_000);
});

describe('local stack: loading', () => {
  it('loads the good sample exactly, every row readable through the HTTPS API', async () => {
    const csv = await sample('books.csv');
    const expected = expectedItems(csv, stack.config.dataset);

    const execution = await uploadAndWait(stack, 'books.csv', csv);

    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output ?? '{}')).toMatchObject({ written: expected.size });
    expect([...(await scanAll(stack)).keys()].sort()).toEqual([...expected.keys()].sort());
    const read = await readThroughApi(stack, api, [...expected.keys()]);
    expect(read).toEqual(expected);
  }, 60_000);

  it('updates existing items from a later file', async () => {
    const before = expectedItems(await sample('books.csv'), stack.config.dataset);
    const update = await sample('books-update.csv');
    const changed = expectedItems(update, stack.config.dataset);

    const execution = await uploadAndWait(stack, 'books-update.csv', update);

    expect(execution.status).toBe('SUCCEEDED');
    const read = await readThroughApi(stack, api, [
      ...new Set([...before.keys(), ...changed.keys()]),
    ]);
    for (const [key, item] of changed) expect(read.get(key)).toEqual(item);
    for (const [key, item] of before) if (!changed.has(key)) expect(read.get(key)).toEqual(item);
    // sample-files/README.md: books.csv then books-update.csv leaves 103 items.
    expect((await scanAll(stack)).size).toBe(103);
  }, 60_000);

  it('starts one execution for a duplicate notification', async () => {
    const execution = await uploadAndWait(stack, 'dup/books.csv', await sample('books.csv'));
    const { Records } = JSON.parse(execution.input) as { Records: unknown[] };

    // S3 delivers at least once: the very same event again.
    await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.endpoints.queueUrl,
        MessageBody: JSON.stringify({ Records }),
      }),
    );
    await waitFor('the file-events queue to drain', () => queueDrained(stack.endpoints.queueUrl));

    expect(executionsOf(stack, 'dup/books.csv')).toHaveLength(1);
  }, 60_000);

  it('runs one new, successful execution for a fixed file redriven from the DLQ', async () => {
    const key = 'fix/books.csv';
    const failed = await uploadAndWait(stack, key, await sample('bad-missing-values.csv'));
    expect(failed.status).toBe('FAILED');
    await waitFor('the failure record', async () =>
      (await dlqRecordsFor(stack, key)).length > 0 ? true : undefined,
    );
    // The user fixes the file; its upload is ingested as a new version on its own.
    const fixed = await uploadAndWait(stack, key, await sample('books.csv'));
    expect(fixed.status).toBe('SUCCEEDED');
    const redrivenStarts = nextExecutionOf(stack, key, 60_000, (execution) =>
      execution.name.startsWith('redrive-'),
    );

    const moved = await redrive(
      stack.clients.sqs,
      stack.endpoints.dlqUrl,
      stack.endpoints.queueUrl,
    );

    expect(moved).toBeGreaterThanOrEqual(1);
    const redriven = await closed(await redrivenStarts);
    await waitFor('the file-events queue to drain', () => queueDrained(stack.endpoints.queueUrl));
    const started = executionsOf(stack, key).filter((execution) =>
      execution.name.startsWith('redrive-'),
    );
    expect(started).toHaveLength(1);
    expect(redriven.name).toMatch(/^redrive-/);
    expect(JSON.parse(redriven.input)).toMatchObject({ redriveOf: failed.executionArn });
    expect(redriven.status).toBe('SUCCEEDED');
    expect(await dlqRecordsFor(stack, key)).toHaveLength(0);
  }, 90_000);
});

describe('local stack: HTTPS API', () => {
  const itemPath = () => `/${stack.config.dataset.name}/9781400000005`;

  it('answers 401 without a token', async () => {
    const response = await api.send('GET', itemPath());
    expect(response.status).toBe(401);
    expect(String(response.headers['www-authenticate'])).toMatch(/^Bearer/);
  });

  it.each([
    ['a malformed token', 'not-a-jwt'],
    ['a token with a forged signature', 'FORGE'],
  ])('answers 401 with %s', async (_what, kind) => {
    let bearer = kind;
    if (kind === 'FORGE') {
      const [header, payload] = (await token(stack)).split('.');
      bearer = `${header}.${payload}.${Buffer.from('forged signature').toString('base64url')}`;
    }
    const response = await api.send('GET', itemPath(), { token: bearer });
    expect(response.status).toBe(401);
  });

  it('answers 200 with a token from the local issuer', async () => {
    const response = await api.send('GET', itemPath(), { token: await token(stack) });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ isbn: 9781400000005 });
  });

  it('refuses a token request with a wrong client secret (invalid_client)', async () => {
    const response = await fetch(stack.endpoints.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: stack.endpoints.clientId,
        client_secret: 'wrong',
      }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
  });

  // The front passes requests as the ALB does with multi-value headers on (infra/api.ts).
  it('answers 400 invalid_request to two Authorization headers', async () => {
    const bearer = `Bearer ${await token(stack)}`;
    const response = await api.send('GET', itemPath(), {
      headers: { authorization: [bearer, bearer] },
    });
    expect(response.status).toBe(400);
    expect(String(response.headers['www-authenticate'])).toMatch(/error="invalid_request"/);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'invalid-authorization' });
  });

  it('answers 400 invalid-query to a repeated limit', async () => {
    const response = await api.send('GET', `/${stack.config.dataset.name}?limit=1&limit=2`, {
      token: await token(stack),
    });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({
      code: 'invalid-query',
      errors: [{ parameter: 'limit', detail: 'given more than once' }],
    });
  });

  it('answers 400 invalid-body, naming the byte, to a JSON body that is not UTF-8', async () => {
    const response = await api.send('POST', `/${stack.config.dataset.name}/batch-get`, {
      token: await token(stack),
      headers: { 'content-type': 'application/json' },
      body: Buffer.concat([Buffer.from('{"keys":["caf'), Buffer.from([0xe9]), Buffer.from('"]}')]),
    });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({
      code: 'invalid-body',
      detail: 'The request body is not valid UTF-8 (byte 0xE9 at byte offset 13).',
    });
  });

  it('answers 413 to a body over 1 MB, as the ALB does', async () => {
    const response = await api.send('POST', `/${stack.config.dataset.name}/batch-get`, {
      token: await token(stack),
      body: `{"keys":["${'x'.repeat(1024 * 1024)}"]}`,
    });
    expect(response.status).toBe(413);
  });
});

describe('local stack: Step Functions endpoint', () => {
  it('returns the running execution for the same name and input, ExecutionAlreadyExists once closed', async () => {
    const input = JSON.stringify({
      file: { bucket: stack.names.bucket, key: 'missing.csv' },
      Records: [],
    });
    const start = (body: string) =>
      stack.clients.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: stack.endpoints.stateMachineArn,
          name: 'idempotency',
          input: body,
        }),
      );

    const [first, second] = await Promise.all([start(input), start(input)]);
    expect(second.executionArn).toBe(first.executionArn);
    await expect(start('{"other":true}')).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    await waitFor('the execution to close', () =>
      stack.executions.get(first.executionArn ?? '').status === 'RUNNING' ? undefined : true,
    );
    await expect(start(input)).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
  }, 30_000);

  it.each([
    ['file.v2', 'accepted'],
    ['has space', 'InvalidName'],
  ])('validates the execution name %j as AWS does: %s', async (name, outcome) => {
    const started = stack.clients.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.endpoints.stateMachineArn,
        name,
        input: JSON.stringify({ file: { bucket: stack.names.bucket, key: 'missing.csv' } }),
      }),
    );
    if (outcome !== 'accepted') await expect(started).rejects.toMatchObject({ name: outcome });
    else
      await expect(started).resolves.toMatchObject({ executionArn: expect.stringMatching(name) });
  });

  it('describes the state machine as AWS does: the substituted ASL file, ACTIVE and STANDARD', async () => {
    const described = await stack.clients.sfn.send(
      new DescribeStateMachineCommand({ stateMachineArn: stack.endpoints.stateMachineArn }),
    );
    expect(described).toMatchObject({
      stateMachineArn: stack.endpoints.stateMachineArn,
      name: stack.names.stateMachine,
      status: 'ACTIVE',
      type: 'STANDARD',
      creationDate: expect.any(Date),
    });
    // The very file CDK deploys, with every ${Placeholder} substituted.
    const definition = JSON.parse(described.definition ?? '{}') as { States?: object };
    expect(Object.keys(definition.States ?? {})).toEqual(
      expect.arrayContaining(['PlanFile', 'LoadChunks', 'Summarize', 'SendToDeadLetterQueue']),
    );
    expect(described.definition).not.toMatch(/\$\{[A-Za-z]+\}/);
  });

  it.each<[string, (sfn: LocalStack['clients']['sfn'], arn: string) => Promise<unknown>]>([
    [
      'DescribeStateMachine',
      (sfn, arn) => sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn })),
    ],
    ['ListExecutions', (sfn, arn) => sfn.send(new ListExecutionsCommand({ stateMachineArn: arn }))],
  ])('answers %s for another state machine with StateMachineDoesNotExist', async (_name, call) => {
    const other = stack.endpoints.stateMachineArn.replace(/[^:]+$/, 'no-such-machine');
    await expect(call(stack.clients.sfn, other)).rejects.toMatchObject({
      name: 'StateMachineDoesNotExist',
    });
  });

  it('finds the latest execution of a file key for the CLI history command', async () => {
    const arn = await resolveExecution(
      stack.clients.sfn,
      stack.endpoints.stateMachineArn,
      'books-update.csv',
    );
    expect(arn).toBe(executionsOf(stack, 'books-update.csv')[0]?.executionArn);
    await expect(
      resolveExecution(stack.clients.sfn, stack.endpoints.stateMachineArn, 'never-uploaded.csv'),
    ).rejects.toThrow(/No execution named "never-uploaded.csv"/);
  });
});
