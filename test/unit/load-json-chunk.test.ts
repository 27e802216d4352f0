import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, NumberValue } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createDocumentClient } from '../../handlers/load-chunk/client.js';
import { type LoadChunkConfig, loadChunk } from '../../handlers/load-chunk/load.js';
import { PLAN_DEFAULTS } from '../../handlers/plan-file/config.js';
import { planJsonRecords } from '../../handlers/plan-file/plan.js';
import type { LoadChunkInput } from '../../handlers/shared/contracts.js';
import { parseDataset } from '../../handlers/shared/dataset.js';
import { type JsonFormat, readJsonBatches } from '../../handlers/shared/json-records.js';
import { PROVENANCE, splitProvenance } from '../../handlers/shared/provenance.js';
import {
  FakeTable,
  plannedObject,
  type StoredObject,
  serveBucket,
  uploadStamp,
  VirtualClock,
} from '../support/workflow-fakes.js';

const schema = parseDataset({
  name: 'things',
  key: 'id',
  columns: [
    { name: 'id', type: 'number', required: true },
    { name: 'name', type: 'string', required: true },
    { name: 'meta', type: 'map' },
    { name: 'tags', type: 'list', items: 'string' },
  ],
});
const config: LoadChunkConfig = {
  schema,
  tableName: 'things',
  controlTableName: 'control',
  lease: { pollMs: 200, clockSkewMs: 5_000 },
  writeConcurrency: 2,
  maxRecordBytes: 400 * 1024,
  retry: { baseDelayMs: 100, maxDelayMs: 2_000, safetyMarginMs: 5_000 },
};

const s3 = mockClient(S3Client);
const dynamo = mockClient(DynamoDBDocumentClient);
const s3Client = new S3Client({ region: 'eu-west-1' });
const dynamoClient = createDocumentClient(new DynamoDBClient({ region: 'eu-west-1' }));
let table: FakeTable;
let objects: Map<string, StoredObject>;

beforeEach(() => {
  s3.reset();
  dynamo.reset();
  objects = new Map();
  serveBucket(s3, objects, { pieceBytes: 5 });
  table = new FakeTable('things', 'id');
  table.attach(dynamo);
});

/** Stores the file, plans it with tiny chunks, and loads every chunk. */
async function ingest(text: string, format: JsonFormat) {
  const key = `things.${format}`;
  const object: StoredObject = { body: Buffer.from(text), eTag: '"etag-1"' };
  objects.set(`uploads/${key}`, object);
  const planned = plannedObject('uploads', key, object);
  const plan = await planJsonRecords(
    readJsonBatches(Readable.from([object.body]), format, {
      maxRecordBytes: config.maxRecordBytes,
    }),
    planned,
    { schema, ...PLAN_DEFAULTS, chunkTargetBytes: 40 },
    format,
  );
  const summaries = [];
  for (const chunk of plan.chunks) {
    const input: LoadChunkInput = {
      object: planned,
      format,
      header: plan.header,
      chunk,
      upload: uploadStamp(key),
    };
    summaries.push(
      await loadChunk(input, config, {
        s3: s3Client,
        dynamo: dynamoClient,
        clock: new VirtualClock(60_000),
        now: () => 0,
      }),
    );
  }
  const items = new Map(
    [...table.items.values()].map((item) => {
      const { record } = splitProvenance(item);
      // The line as the document client reads it back (wrapNumbers: a NumberValue).
      return [String(record.id), { record, line: Number(String(item[PROVENANCE.line])) }];
    }),
  );
  return { plan, summaries, items };
}

describe.each(['jsonl', 'json'] as const)('loadChunk of a %s file', (format) => {
  const records = [
    '{"id": 1, "name": "one", "meta": {"price": 12345678901234567890, "n": [0.1, null]}}',
    '{"id": 2, "name": "twö", "tags": ["a", "b"]}',
    '{"id": 1, "name": "one again"}',
    '{"id": "3", "name": "three"}',
  ];
  const text = format === 'jsonl' ? `${records.join('\n')}\n` : `[\n${records.join(',\n')}\n]\n`;

  it('writes every record of every planned chunk, nested numbers exact, the last occurrence of a key winning', async () => {
    const { plan, summaries, items } = await ingest(text, format);
    expect(plan.chunks.length).toBeGreaterThan(1);
    expect(summaries.reduce((sum, summary) => sum + summary.written, 0)).toBe(3);
    expect(summaries.reduce((sum, summary) => sum + summary.skipped, 0)).toBe(1);
    const lineOf = (index: number) => index + (format === 'jsonl' ? 1 : 2);
    expect(items.get('1')).toEqual({
      record: { id: NumberValue.from('1'), name: 'one again' },
      line: lineOf(2),
    });
    expect(items.get('2')).toEqual({
      record: { id: NumberValue.from('2'), name: 'twö', tags: ['a', 'b'] },
      line: lineOf(1),
    });
    expect(items.get('3')).toEqual({
      record: { id: NumberValue.from('3'), name: 'three' },
      line: lineOf(3),
    });
  });

  it('stores a map with its exact numbers and nulls inside', async () => {
    const { items } = await ingest(
      `${format === 'jsonl' ? records[0] : `[${records[0]}]`}\n`,
      format,
    );
    expect(items.get('1')?.record.meta).toEqual({
      price: NumberValue.from('12345678901234567890'),
      n: [NumberValue.from('0.1'), null],
    });
  });
});
