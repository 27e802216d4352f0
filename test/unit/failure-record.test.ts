import {
  buildFailureRecord,
  isSqsSafe,
  MAX_MESSAGE_BODY_BYTES,
  plainCause,
  sqsSafeJson,
} from '../../handlers/failure-record/record.js';
import type { FailureRecord } from '../../handlers/shared/contracts.js';
import { fileRefOf, parseFileEventMessage } from '../../handlers/shared/s3-event.js';
import { executionNameFor } from '../../handlers/start-ingestion/start.js';
import { s3Record } from '../support/workflow-fakes.js';

const EXECUTION_ARN = 'arn:aws:states:eu-west-1:123456789012:execution:ingest-file:books-csv-0123';

/** The Lambda error payload Step Functions puts in a Catch's Cause. */
function lambdaCause(errorType: string, errorMessage: string): string {
  return JSON.stringify({
    errorType,
    errorMessage,
    trace: [`${errorType}: ${errorMessage}`, '    at planFile (file:///var/task/index.mjs:3:4711)'],
  });
}

/** What a `*Failed` Pass state hands to BuildFailureRecord. */
function rawRecord(cause: string, key = 'incoming/books.csv', extra: object = {}) {
  return {
    Records: [s3Record({ key })],
    ...extra,
    failure: {
      error: 'InvalidFileError',
      cause,
      executionArn: EXECUTION_ARN,
      state: 'PlanFile',
      time: '2026-11-28T21:34:10.372Z',
    },
  };
}

describe('plainCause', () => {
  it.each([
    [
      'the errorMessage of a Lambda error payload',
      lambdaCause('InvalidFileError', 'line 7: bad'),
      'line 7: bad',
    ],
    ['a plain text as it is', 'States.Timeout after 900 s', 'States.Timeout after 900 s'],
    ['JSON without errorMessage as it is', '{"Error":"x"}', '{"Error":"x"}'],
    ['text that only looks like JSON as it is', '{not json', '{not json'],
    ['an empty cause as empty', '', ''],
  ])('returns %s', (_what, cause, expected) => {
    expect(plainCause(cause)).toBe(expected);
  });
});

describe('buildFailureRecord', () => {
  it('gives the plain error message as cause, not the Lambda error JSON with its stack', () => {
    const message = 's3://uploads/incoming/books.csv is invalid, nothing was written: 1 error';
    const built = buildFailureRecord(rawRecord(lambdaCause('InvalidFileError', message)));

    const record = JSON.parse(built.messageBody) as FailureRecord;
    expect(record.failure).toEqual({
      error: 'InvalidFileError',
      cause: message,
      executionArn: EXECUTION_ARN,
      state: 'PlanFile',
      time: '2026-11-28T21:34:10.372Z',
    });
    expect(built.failure).toEqual(record.failure);
    expect(built.messageBody).not.toContain('index.mjs');
    expect(built.errorAttribute).toBe('InvalidFileError');
  });

  it.each([
    ['U+FFFF in a cell', 'value "a\uFFFFb": not a number'],
    ['U+FFFE in a header', 'column 2 (ti\uFFFEtle): not a column'],
    ['a lone surrogate', 'value "\uD800": too long'],
    ['an emoji (U+1F4DA)', 'value "Books 📚": too long'],
    ['control characters', 'value "a\u0000b\u0007c": bad'],
  ])(
    'escapes %s so SQS takes the body, and the body reads back as the same record',
    (_what, problem) => {
      const cause = `s3://uploads/x.csv is invalid: ${problem}`;
      const built = buildFailureRecord(rawRecord(lambdaCause('InvalidFileError', cause)));

      expect(isSqsSafe(built.messageBody)).toBe(true);
      expect((JSON.parse(built.messageBody) as FailureRecord).failure.cause).toBe(cause);
      expect(built.failure.cause).toBe(cause);
    },
  );

  it('keeps a redriven record on the same object key: an emoji and U+FFFF in the key', () => {
    const key = 'incoming/📚 books\uFFFF.csv';
    // S3 writes the key form-URL-encoded into the record; other fields carry it raw.
    const encoded = encodeURIComponent(key).replaceAll('%2F', '/').replaceAll('%20', '+');
    const raw = rawRecord(
      lambdaCause('InvalidFileError', `s3://uploads/${key} is invalid`),
      encoded,
      {
        upload: { key, sequencer: '0066A1B2C3D4E5F601' },
      },
    );
    const built = buildFailureRecord(raw);

    expect(isSqsSafe(built.messageBody)).toBe(true);
    const message = parseFileEventMessage(built.messageBody);
    if (message.kind !== 'records') throw new Error('not a records message');
    const [record] = message.records;
    if (!record) throw new Error('no record');
    expect(fileRefOf(record).key).toBe(key);
    expect(message.failure).toMatchObject({ cause: `s3://uploads/${key} is invalid` });
    expect((JSON.parse(built.messageBody) as { upload: { key: string } }).upload.key).toBe(key);
    // The starter names the redrive exactly as it would have from the unescaped record.
    const original = raw.Records[0];
    if (!original) throw new Error('no original record');
    expect(executionNameFor(fileRefOf(record), message.failure)).toBe(
      executionNameFor(fileRefOf(original), {
        ...raw.failure,
        cause: `s3://uploads/${key} is invalid`,
      }),
    );
  });

  it('passes every other field of the record through (the upload order, a redrive)', () => {
    const built = buildFailureRecord(
      rawRecord('x', 'k.csv', {
        upload: { uploadedAt: '2026-11-28T10:00:00.000Z', version: 'v1' },
      }),
    );
    expect(JSON.parse(built.messageBody)).toMatchObject({
      upload: { uploadedAt: '2026-11-28T10:00:00.000Z', version: 'v1' },
    });
  });

  it(`keeps the body within ${MAX_MESSAGE_BODY_BYTES} bytes, cutting the cause with a note of what was cut`, () => {
    // 32,768 characters (Step Functions' cause limit), each escaped to 6 bytes: 192 KiB.
    const cause = '\uFFFF'.repeat(32_768);
    const raw = rawRecord(lambdaCause('InvalidFileError', cause));
    const built = buildFailureRecord(raw);

    expect(built.bytes).toBeLessThanOrEqual(MAX_MESSAGE_BODY_BYTES);
    expect(Buffer.byteLength(built.messageBody)).toBe(built.bytes);
    const record = JSON.parse(built.messageBody) as FailureRecord & {
      failure: { cut: string[] };
    };
    expect(record.Records).toEqual(raw.Records);
    expect(record.failure.cause).toMatch(
      /^\uFFFF+\n… \[cut: [\d,]+ of 32,768 characters shown; the whole cause is in the execution's history\]$/,
    );
    expect(record.failure.cut).toEqual([
      expect.stringMatching(/^cause: [\d,]+ of 32,768 characters kept$/),
    ]);
    // As much as fits: one more character would not.
    const kept = Number(
      /^cause: ([\d,]+)/.exec(record.failure.cut[0] ?? '')?.[1]?.replaceAll(',', ''),
    );
    expect(MAX_MESSAGE_BODY_BYTES - built.bytes).toBeLessThan(6 + 20);
    expect(kept).toBeGreaterThan(10_000);
  });

  it('reduces the S3 records to the fields a redrive needs when nothing else would fit', () => {
    const raw = rawRecord('x'.repeat(5_000));
    // Room for the whole record with a one-character cause, not for the note of a cut.
    const limit = buildFailureRecord(rawRecord('x')).bytes;
    const built = buildFailureRecord(raw, limit);

    expect(built.bytes).toBeLessThanOrEqual(limit);
    const record = JSON.parse(built.messageBody) as FailureRecord & { failure: { cut: string[] } };
    expect(record.failure.cut).toEqual([
      expect.stringMatching(/^cause: [\d,]+ of 5,000 characters kept$/),
      'Records: only the fields a redrive needs',
    ]);
    const [reduced] = record.Records;
    expect(reduced?.s3.object).toEqual(raw.Records[0]?.s3.object);
    expect(reduced?.s3.bucket.name).toBe('uploads');
    expect(reduced).not.toHaveProperty('userIdentity');
    // Still a record the starter reads and redrives.
    expect(parseFileEventMessage(built.messageBody)).toMatchObject({ kind: 'records' });
  });

  it('says what it could not fit instead of sending a broken record', () => {
    expect(() => buildFailureRecord(rawRecord('x'), 100)).toThrow(
      /^The failure record would be \d+ bytes even without its cause \(limit 100\)/,
    );
  });

  it('notes an empty cause instead of sending none', () => {
    expect(buildFailureRecord(rawRecord('')).failure.cause).toBe(
      'InvalidFileError (Step Functions gave no cause)',
    );
  });

  it.each([
    ['no object', 'x', 'must be an object { Records, failure }'],
    ['no Records', { failure: { error: 'E' } }, 'Records must be an array'],
    ['no failure', { Records: [] }, 'failure must be an object'],
    ['no error name', { Records: [], failure: {} }, 'failure.error must be a string'],
  ])('refuses an input with %s (InvalidTaskInputError)', (_what, input, problem) => {
    expect(() => buildFailureRecord(input)).toThrow(
      expect.objectContaining({
        name: 'InvalidTaskInputError',
        message: expect.stringContaining(problem),
      }),
    );
  });
});

describe('sqsSafeJson', () => {
  it.each([
    ['\uFFFF', '"\\uffff"'],
    ['\uFFFE', '"\\ufffe"'],
    ['😀', '"\\ud83d\\ude00"'],
    ['é ж 中', '"é ж 中"'],
    ['\u0001', '"\\u0001"'],
  ])('spells %j as %s', (text, json) => {
    expect(sqsSafeJson(text)).toBe(json);
    expect(JSON.parse(sqsSafeJson(text))).toBe(text);
  });
});
