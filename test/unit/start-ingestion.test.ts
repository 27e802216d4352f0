import {
  ExecutionAlreadyExists,
  InvalidName,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { ExecutionInput, FailureRecord } from '../../handlers/shared/contracts.js';
import { decodeS3Key, parseFileEventMessage } from '../../handlers/shared/s3-event.js';
import {
  executionInputFor,
  executionNameFor,
  startIngestionForMessage,
} from '../../handlers/start-ingestion/start.js';
import { s3Record } from '../support/workflow-fakes.js';

const STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:ingest-file';
const config = { stateMachineArn: STATE_MACHINE_ARN };

const failure: FailureRecord['failure'] = {
  error: 'ChunkReadError',
  cause: 'socket hang up',
  executionArn: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:books-csv-abc`,
  state: 'LoadChunks',
  time: '2026-11-28T10:05:00.000Z',
};

const sfn = mockClient(SFNClient);
// A real client: mockClient replaced send on the prototype, so no request leaves the process.
const client = new SFNClient({ region: 'eu-west-1' });

beforeEach(() => {
  sfn.reset();
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: new Date(0) });
});

function startedInputs(): { name: string; input: ExecutionInput }[] {
  return sfn.commandCalls(StartExecutionCommand).map((call) => ({
    name: call.args[0].input.name ?? '',
    input: JSON.parse(call.args[0].input.input ?? 'null') as ExecutionInput,
  }));
}

describe('decodeS3Key', () => {
  it.each([
    ['incoming/books.csv', 'incoming/books.csv'],
    ['my+books+2026.csv', 'my books 2026.csv'],
    ['caf%C3%A9%2Fa%2Bb.csv', 'café/a+b.csv'],
    ['100%25+done.csv', '100% done.csv'],
    ['%E6%9B%B8%E7%B1%8D.csv', '書籍.csv'],
  ])('decodes %s to %s (+ is a space, then percent-decoding)', (encoded, decoded) => {
    expect(decodeS3Key(encoded)).toBe(decoded);
  });

  it('throws MalformedFileEventError naming the key when a percent escape is broken', () => {
    expect(() => decodeS3Key('bad%E0%A4.csv')).toThrow(
      expect.objectContaining({
        name: 'MalformedFileEventError',
        message: expect.stringContaining('"bad%E0%A4.csv"'),
      }),
    );
  });
});

describe('parseFileEventMessage', () => {
  it('recognises the s3:TestEvent S3 sends when notifications are configured', () => {
    const body = JSON.stringify({
      Service: 'Amazon S3',
      Event: 's3:TestEvent',
      Time: '2026-11-28T10:00:00.000Z',
      Bucket: 'uploads',
      RequestId: 'R',
      HostId: 'H',
    });
    expect(parseFileEventMessage(body)).toEqual({ kind: 'test' });
  });

  it('keeps ObjectCreated records and lists the event names of the others', () => {
    const removed = { ...s3Record(), eventName: 'ObjectRemoved:Delete' };
    const message = parseFileEventMessage(JSON.stringify({ Records: [removed, s3Record()] }));
    expect(message).toEqual({
      kind: 'records',
      records: [s3Record()],
      ignored: ['ObjectRemoved:Delete'],
    });
  });

  it('returns the failure of a redriven failure record', () => {
    const body = JSON.stringify({ Records: [s3Record()], failure });
    expect(parseFileEventMessage(body)).toMatchObject({ kind: 'records', failure });
  });

  it.each([
    ['not JSON', '{"Records": [', /message body is not JSON/],
    ['a JSON array', '[1,2]', /must be a JSON object/],
    ['an object without Records', '{"hello":"world"}', /no "Records" array/],
    [
      'a record without a key',
      JSON.stringify({
        Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: {} } }],
      }),
      /Records\[0\]\.s3\.object\.key must be a non-empty string/,
    ],
    [
      'a record without a bucket',
      JSON.stringify({
        Records: [{ eventName: 'ObjectCreated:Put', s3: { object: { key: 'k' } } }],
      }),
      /Records\[0\]\.s3\.bucket\.name/,
    ],
    [
      'a failure without its fields',
      JSON.stringify({ Records: [s3Record()], failure: { error: 'X' } }),
      /bad or missing: cause, executionArn, state, time/,
    ],
  ])('throws MalformedFileEventError for %s, saying where', (_case, body, message) => {
    expect(() => parseFileEventMessage(body)).toThrow(
      expect.objectContaining({
        name: 'MalformedFileEventError',
        message: expect.stringMatching(message),
      }),
    );
  });
});

describe('executionNameFor', () => {
  const file = executionInputFor(s3Record()).file;

  it('is at most 80 characters from [A-Za-z0-9_-] for any key', () => {
    const keys = ['a', 'x'.repeat(1000), 'répertoire/ﬁchier (1).csv', '../../..', '+++', '%20'];
    for (const key of keys) {
      const name = executionNameFor({ ...file, key });
      expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    }
  });

  it('starts with a readable slug of the file name', () => {
    expect(executionNameFor({ ...file, key: 'incoming/my books.csv' })).toMatch(
      /^my-books-csv-[0-9a-f]{32}$/,
    );
  });

  it('is the same for the same bucket, key, version and sequencer', () => {
    expect(executionNameFor({ ...file })).toBe(executionNameFor(file));
  });

  it.each([
    ['bucket', { bucket: 'other' }],
    ['key', { key: 'incoming/books2.csv' }],
    ['versionId', { versionId: 'v2' }],
    ['eTag (unversioned bucket)', { eTag: 'ffff' }],
    ['sequencer (same content uploaded again)', { sequencer: '0066A1B2C3D4E5F602' }],
  ])('changes when the %s changes', (_field, change) => {
    expect(executionNameFor({ ...file, ...change })).not.toBe(executionNameFor(file));
  });

  it('prefers versionId over the ETag when the bucket is versioned', () => {
    const versioned = { ...file, versionId: 'v1' };
    expect(executionNameFor({ ...versioned, eTag: 'other' })).toBe(executionNameFor(versioned));
  });

  it('gives a redrive a different, deterministic name per failure', () => {
    const redrive = executionNameFor(file, failure);
    expect(redrive).toMatch(/^redrive-books-csv-[0-9a-f]{32}$/);
    expect(redrive).not.toBe(executionNameFor(file));
    expect(executionNameFor(file, { ...failure })).toBe(redrive);
    expect(
      executionNameFor(file, { ...failure, executionArn: `${failure.executionArn}-2` }),
    ).not.toBe(redrive);
  });
});

describe('startIngestionForMessage', () => {
  it('starts one execution whose input is the decoded file and the original record', async () => {
    const record = s3Record({ key: 'incoming/new+books%3A+2026.csv', eTag: '"abc"' });
    const outcome = await startIngestionForMessage(
      client,
      config,
      JSON.stringify({ Records: [record] }),
    );

    const [call, ...others] = sfn.commandCalls(StartExecutionCommand);
    expect(others).toHaveLength(0);
    expect(call?.args[0].input.stateMachineArn).toBe(STATE_MACHINE_ARN);
    const [started] = startedInputs();
    expect(started?.input).toEqual({
      file: {
        bucket: 'uploads',
        key: 'incoming/new books: 2026.csv',
        eTag: 'abc',
        size: 1234,
        sequencer: '0066A1B2C3D4E5F601',
      },
      upload: {
        uploadedAt: '2026-11-28T10:00:00.000Z',
        key: 'incoming/new books: 2026.csv',
        sequencer: '0066A1B2C3D4E5F60100000000000000',
        version: 'abc',
      },
      Records: [record],
    });
    expect(outcome).toEqual({
      kind: 'records',
      executions: [{ name: started?.name, file: started?.input.file, status: 'started' }],
      ignored: [],
    });
  });

  it('sends the same name and input for a duplicate delivery of the same notification', async () => {
    const body = JSON.stringify({ Records: [s3Record()] });
    await startIngestionForMessage(client, config, body);
    await startIngestionForMessage(client, config, body);
    const [first, second] = startedInputs();
    expect(second).toEqual(first);
  });

  it('reports ExecutionAlreadyExists as already started, not as a failure', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    const outcome = await startIngestionForMessage(
      client,
      config,
      JSON.stringify({ Records: [s3Record()] }),
    );
    expect(outcome).toMatchObject({ executions: [{ status: 'already-started' }] });
  });

  it('starts nothing for the S3 test event', async () => {
    const outcome = await startIngestionForMessage(
      client,
      config,
      JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'uploads' }),
    );
    expect(outcome).toEqual({ kind: 'test-event' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('starts one execution per ObjectCreated record of a message', async () => {
    const records = [s3Record({ key: 'a.csv' }), s3Record({ key: 'b.csv' })];
    await startIngestionForMessage(client, config, JSON.stringify({ Records: records }));
    expect(startedInputs().map(({ input }) => input.Records)).toEqual([[records[0]], [records[1]]]);
  });

  it('starts exactly one new execution for a redriven failure record, the same on redelivery', async () => {
    const record = s3Record();
    const original = await startIngestionForMessage(
      client,
      config,
      JSON.stringify({ Records: [record] }),
    );
    const redriven = JSON.stringify({ Records: [record], failure } satisfies FailureRecord);
    await startIngestionForMessage(client, config, redriven);
    await startIngestionForMessage(client, config, redriven);

    const [first, redrive, redelivery] = startedInputs();
    expect(original).toMatchObject({ executions: [{ name: first?.name }] });
    expect(redrive?.name).not.toBe(first?.name);
    expect(redrive?.input).toEqual({ ...first?.input, redriveOf: failure.executionArn });
    expect(redelivery).toEqual(redrive);
  });

  it('starts one new execution per record of a redriven failure record with several Records', async () => {
    const records = [s3Record({ key: 'a.csv' }), s3Record({ key: 'b.csv' })];
    await startIngestionForMessage(client, config, JSON.stringify({ Records: records }));
    const redriven = JSON.stringify({ Records: records, failure } satisfies FailureRecord);
    await startIngestionForMessage(client, config, redriven);
    await startIngestionForMessage(client, config, redriven);

    const [a, b, redriveA, redriveB, ...redelivered] = startedInputs();
    expect(new Set([a, b, redriveA, redriveB].map((started) => started?.name)).size).toBe(4);
    expect(redriveA?.input).toEqual({ ...a?.input, redriveOf: failure.executionArn });
    expect(redriveB?.input).toEqual({ ...b?.input, redriveOf: failure.executionArn });
    expect(redelivered).toEqual([redriveA, redriveB]);
  });

  it('fails a message whose Records array is empty instead of dropping it unseen', async () => {
    await expect(
      startIngestionForMessage(client, config, JSON.stringify({ Records: [], failure })),
    ).rejects.toMatchObject({
      name: 'MalformedFileEventError',
      message: expect.stringContaining('"Records" is empty'),
    });
  });

  it('propagates other StartExecution errors so the message is retried', async () => {
    sfn.on(StartExecutionCommand).rejects(new InvalidName({ message: 'bad name', $metadata: {} }));
    await expect(
      startIngestionForMessage(client, config, JSON.stringify({ Records: [s3Record()] })),
    ).rejects.toMatchObject({ name: 'InvalidName' });
  });
});

describe('start-ingestion handler', () => {
  const lambdaContext = {
    functionName: 'start-ingestion',
    awsRequestId: 'req-1',
    getRemainingTimeInMillis: () => 30_000,
  } as unknown as Context;

  function sqsRecord(messageId: string, body: string): SQSRecord {
    return {
      messageId,
      receiptHandle: `rh-${messageId}`,
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '0',
        SenderId: 'S3',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:file-events',
      awsRegion: 'eu-west-1',
    };
  }

  async function loadHandler() {
    process.env.STATE_MACHINE_ARN = STATE_MACHINE_ARN;
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    return (await import('../../handlers/start-ingestion/index.js')).handler;
  }

  it('reports only the bad messages in batchItemFailures; the good ones still start', async () => {
    const handler = await loadHandler();
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: 'arn:x', startDate: new Date(0) })
      .on(StartExecutionCommand, {
        name: executionNameFor(executionInputFor(s3Record({ key: 'throttled.csv' })).file),
      })
      .rejects(new Error('Rate exceeded'));
    const event: SQSEvent = {
      Records: [
        sqsRecord('m1', JSON.stringify({ Records: [s3Record({ key: 'a.csv' })] })),
        sqsRecord('m2', 'this is not json'),
        sqsRecord('m3', JSON.stringify({ Event: 's3:TestEvent' })),
        sqsRecord('m4', JSON.stringify({ Records: [s3Record({ key: 'throttled.csv' })] })),
        sqsRecord('m5', JSON.stringify({ Records: [s3Record({ key: 'b.csv' })] })),
      ],
    };
    const response = await handler(event, lambdaContext);
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: 'm2' },
      { itemIdentifier: 'm4' },
    ]);
    expect(
      startedInputs()
        .map(({ input }) => input.file.key)
        .sort(),
    ).toEqual(['a.csv', 'b.csv', 'throttled.csv']);
  });

  it('returns every message as failed (not a thrown error) when the whole batch fails', async () => {
    const handler = await loadHandler();
    const response = await handler(
      { Records: [sqsRecord('m1', '{}'), sqsRecord('m2', '[]')] },
      lambdaContext,
    );
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: 'm1' },
      { itemIdentifier: 'm2' },
    ]);
  });
});
