import { parseLoadChunkEvent } from '../../handlers/load-chunk/event.js';
import type { LoadChunkInput } from '../../handlers/shared/contracts.js';

const valid: LoadChunkInput = {
  object: { bucket: 'uploads', key: 'books.csv', eTag: '"e1"', size: 8273, versionId: 'v1' },
  header: ['isbn', 'title', 'author'],
  chunk: { index: 2, start: 2048, end: 3072, firstLine: 25, rows: 12, skip: [0, 11] },
  upload: {
    uploadedAt: '2026-11-28T10:00:00.000Z',
    key: 'books.csv',
    sequencer: '0066A1B2C3D4E5F6'.padEnd(32, '0'),
    version: 'v1',
  },
};

describe('parseLoadChunkEvent', () => {
  it('returns a valid input unchanged', () => {
    expect(parseLoadChunkEvent(structuredClone(valid))).toEqual(valid);
  });

  it.each([
    ['not an object', 'hello', /input must be an object/],
    [
      'no eTag',
      { ...valid, object: { ...valid.object, eTag: '' } },
      /object\.eTag must be a non-empty string/,
    ],
    [
      'a negative size',
      { ...valid, object: { ...valid.object, size: -1 } },
      /object\.size must be a non-negative integer/,
    ],
    ['an empty header', { ...valid, header: [] }, /header must be a non-empty array/],
    ['no upload stamp', { ...valid, upload: undefined }, /upload must be an object/],
    [
      'an upload time that does not order as text',
      { ...valid, upload: { ...valid.upload, uploadedAt: '2026-11-28T10:00:00Z' } },
      /upload\.uploadedAt must be a UTC time like 2026-11-28T10:00:00\.000Z/,
    ],
    [
      'an upload without its key',
      { ...valid, upload: { ...valid.upload, key: '' } },
      /upload\.key must be a non-empty string/,
    ],
    [
      'a fractional start',
      { ...valid, chunk: { ...valid.chunk, start: 1.5 } },
      /chunk\.start must be a non-negative integer/,
    ],
    [
      'line 0',
      { ...valid, chunk: { ...valid.chunk, firstLine: 0 } },
      /chunk\.firstLine must be a positive integer/,
    ],
    [
      'end before start',
      { ...valid, chunk: { ...valid.chunk, end: 1 } },
      /chunk\.end \(1\) must not be before chunk\.start \(2048\)/,
    ],
    [
      'a skip index past the rows',
      { ...valid, chunk: { ...valid.chunk, skip: [12] } },
      /chunk\.skip must be an array of row indexes below chunk\.rows/,
    ],
  ])('throws InvalidTaskInputError for %s, naming the field', (_case, event, message) => {
    expect(() => parseLoadChunkEvent(event)).toThrow(
      expect.objectContaining({
        name: 'InvalidTaskInputError',
        message: expect.stringMatching(message),
      }),
    );
  });

  it('lists every problem in one error', () => {
    expect(() => parseLoadChunkEvent({ object: {}, header: 'isbn', chunk: {} })).toThrow(
      /object\.bucket.*object\.key.*object\.eTag.*object\.size.*header.*chunk\.index.*chunk\.skip/,
    );
  });
});
