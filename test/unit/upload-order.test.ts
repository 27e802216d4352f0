import { parseDataset } from '../../handlers/shared/dataset.js';
import { MalformedFileEventError } from '../../handlers/shared/errors.js';
import {
  lineText,
  RESERVED_ATTRIBUTES,
  splitProvenance,
  stampedLine,
  stampItem,
  uploadAttributes,
} from '../../handlers/shared/provenance.js';
import {
  compareUploads,
  normalizeEventTime,
  normalizeSequencer,
  type UploadOrder,
  uploadStampOf,
} from '../../handlers/shared/upload-order.js';
import { executionInputFor } from '../../handlers/start-ingestion/start.js';
import { CDK_DATASET, s3Record } from '../support/workflow-fakes.js';

function order(uploadedAt: string, key: string, sequencer = ''): UploadOrder {
  return {
    uploadedAt: normalizeEventTime(uploadedAt),
    key,
    sequencer: normalizeSequencer(sequencer),
  };
}

describe('uploadStampOf', () => {
  it('takes the event time, the decoded key, the padded sequencer and the version from the S3 record', () => {
    const record = s3Record({ key: 'incoming/my+books.csv', versionId: 'v7', sequencer: '0A1b' });
    expect(uploadStampOf(record, 'incoming/my books.csv')).toEqual({
      uploadedAt: '2026-11-28T10:00:00.000Z',
      key: 'incoming/my books.csv',
      sequencer: '0A1B0000000000000000000000000000',
      version: 'v7',
    });
  });

  it('uses the ETag (without quotes) as the version of an unversioned object', () => {
    const record = s3Record({ eTag: '"abc"' });
    expect(uploadStampOf(record, 'books.csv').version).toBe('abc');
  });

  it.each([
    ['missing', undefined],
    ['not a time', 'yesterday'],
    ['without a zone', '2026-11-28T10:00:00'],
    ['an impossible date', '2026-02-30T10:00:00Z'],
  ])('rejects an event time that is %s, naming the field', (_case, eventTime) => {
    const record = { ...s3Record(), eventTime } as unknown as ReturnType<typeof s3Record>;
    expect(() => uploadStampOf(record, 'books.csv')).toThrow(MalformedFileEventError);
    expect(() => uploadStampOf(record, 'books.csv')).toThrow(
      /Records\[0\]\.eventTime must be an ISO 8601 time/,
    );
  });

  it('rejects a sequencer that is not hexadecimal', () => {
    expect(() => uploadStampOf(s3Record({ sequencer: 'xyz' }), 'books.csv')).toThrow(
      /Records\[0\]\.s3\.object\.sequencer must be hexadecimal/,
    );
  });
});

describe('normalizeEventTime', () => {
  it.each([
    ['2026-11-28T10:00:00Z', '2026-11-28T10:00:00.000Z'],
    ['2026-11-28T10:00:00.5Z', '2026-11-28T10:00:00.500Z'],
    ['2026-11-28T11:00:00.000+01:00', '2026-11-28T10:00:00.000Z'],
  ])('writes %s as the fixed-width UTC time %s (so text order is time order)', (input, output) => {
    expect(normalizeEventTime(input)).toBe(output);
  });
});

describe('compareUploads', () => {
  it('orders by event time first, whatever the keys and sequencers', () => {
    expect(
      compareUploads(
        order('2026-11-28T10:00:00.000Z', 'z.csv', 'FF'),
        order('2026-11-28T10:00:00.001Z', 'a.csv', '01'),
      ),
    ).toBeLessThan(0);
  });

  it('breaks a tie on event time by the object key', () => {
    expect(
      compareUploads(
        order('2026-11-28T10:00:00Z', 'a.csv', 'FF'),
        order('2026-11-28T10:00:00Z', 'b.csv', '01'),
      ),
    ).toBeLessThan(0);
  });

  it('lets the sequencer decide between two versions of one key in the same millisecond', () => {
    const first = order('2026-11-28T10:00:00Z', 'books.csv', '0066A1B2C3D4E5F601');
    const second = order('2026-11-28T10:00:00Z', 'books.csv', '0066A1B2C3D4E5F602');
    expect(compareUploads(first, second)).toBeLessThan(0);
    expect(compareUploads(second, first)).toBeGreaterThan(0);
  });

  it('compares sequencers of different lengths as S3 says: the shorter right-padded with zeros', () => {
    // Unpadded, "0A" > "09FF" as text; padded, 0A00 > 09FF too, and "0A" == "0A00".
    expect(
      compareUploads(
        order('2026-11-28T10:00:00Z', 'k', '0A'),
        order('2026-11-28T10:00:00Z', 'k', '0A00'),
      ),
    ).toBe(0);
    expect(
      compareUploads(
        order('2026-11-28T10:00:00Z', 'k', '09FF'),
        order('2026-11-28T10:00:00Z', 'k', '0a'),
      ),
    ).toBeLessThan(0);
  });

  it('compares keys by UTF-8 bytes, as DynamoDB compares strings (not by UTF-16 units)', () => {
    // U+FF5E is one UTF-16 unit above U+D83D (the lead surrogate of 😀), but below it in UTF-8.
    expect(
      compareUploads(order('2026-11-28T10:00:00Z', '～'), order('2026-11-28T10:00:00Z', '😀')),
    ).toBeLessThan(0);
  });

  it('is 0 only for the same upload', () => {
    expect(
      compareUploads(
        order('2026-11-28T10:00:00Z', 'k', '01'),
        order('2026-11-28T10:00:00Z', 'k', '01'),
      ),
    ).toBe(0);
  });

  it('is a total order: sorting any permutation gives the same sequence', () => {
    const uploads = [
      order('2026-11-28T10:00:00.002Z', 'a.csv', '03'),
      order('2026-11-28T10:00:00.001Z', 'b.csv', '02'),
      order('2026-11-28T10:00:00.001Z', 'a.csv', '09'),
      order('2026-11-28T10:00:00.001Z', 'a.csv', '1'),
      order('2026-11-28T10:00:00.000Z', 'c.csv'),
    ];
    const sorted = [...uploads].sort(compareUploads);
    for (let shift = 1; shift < uploads.length; shift++) {
      const rotated = [...uploads.slice(shift), ...uploads.slice(0, shift)].reverse();
      expect(rotated.sort(compareUploads)).toEqual(sorted);
    }
    expect(sorted.map((upload) => `${upload.key}@${upload.sequencer.slice(0, 2)}`)).toEqual([
      'c.csv@',
      'a.csv@09',
      'a.csv@10',
      'b.csv@02',
      'a.csv@03',
    ]);
  });
});

describe('the upload order of a redrive', () => {
  it("is the original upload's: the failure record holds the original S3 record", () => {
    const record = s3Record({ key: 'books.csv' });
    const original = executionInputFor(record);
    const failure = {
      error: 'ChunkWriteError',
      cause: 'table missing',
      executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:ingest-file:x',
      state: 'LoadChunk',
      time: '2026-12-01T00:00:00.000Z',
    };
    const redrive = executionInputFor(record, failure);
    expect(redrive.upload).toEqual(original.upload);
    expect(redrive.redriveOf).toBe(failure.executionArn);
  });
});

describe('reserved provenance attributes', () => {
  it.each(RESERVED_ATTRIBUTES)(
    'rejects a dataset column named %s with one clear message',
    (name) => {
      const dataset = {
        ...CDK_DATASET,
        columns: [...(CDK_DATASET.columns as object[]), { name, type: 'string' }],
      };
      expect(() => parseDataset(dataset)).toThrow(
        new RegExp(`columns\\[\\d+\\]: "${name}" is reserved for provenance`),
      );
    },
  );

  it('keeps provenance out of the record body and reports it as the source', () => {
    const { record, source } = splitProvenance({
      isbn: 1,
      title: 'T',
      _uploaded_at: '2026-11-28T10:00:00.000Z',
      _source_key: 'books.csv',
      _source_sequencer: '01',
      _source_version: 'v1',
      _source_line: 7,
    });
    expect(record).toEqual({ isbn: 1, title: 'T' });
    expect(source).toEqual({
      key: 'books.csv',
      version: 'v1',
      line: 7,
      uploadedAt: '2026-11-28T10:00:00.000Z',
      sequencer: '01',
    });
  });

  it('reports no source for an item loaded before provenance existed', () => {
    expect(splitProvenance({ isbn: 1 }).source).toBeUndefined();
  });

  it("stamps an item with its upload's attributes and the record's line as an exact number", () => {
    const upload = uploadAttributes({
      uploadedAt: '2026-11-28T10:00:00.000Z',
      key: 'books.csv',
      sequencer: '01',
      version: 'v1',
    });
    const line = Number.MAX_SAFE_INTEGER;
    const item = stampItem({ isbn: { N: '1' } }, upload, line);
    expect(item).toEqual({
      isbn: { N: '1' },
      _uploaded_at: { S: '2026-11-28T10:00:00.000Z' },
      _source_key: { S: 'books.csv' },
      _source_sequencer: { S: '01' },
      _source_version: { S: 'v1' },
      _source_line: { N: '9007199254740991' },
    });
    expect(stampedLine(item)).toBe(line);
  });

  it.each([1, 9, 10, 99_999, 1_000_000, 2 ** 31, 10 ** 15, Number.MAX_SAFE_INTEGER])(
    'writes line %d as its decimal digits',
    (line) => {
      expect(lineText(line)).toBe(String(line));
    },
  );
});
