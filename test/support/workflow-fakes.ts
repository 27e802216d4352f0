import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type BatchWriteItemCommandInput,
  type BatchWriteItemCommandOutput,
  PutItemCommand,
  type PutItemCommandInput,
  type PutItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  type GetObjectCommandInput,
  HeadObjectCommand,
  type S3ClientResolvedConfig,
  type ServiceInputTypes as S3Input,
  type ServiceOutputTypes as S3Output,
} from '@aws-sdk/client-s3';
import {
  type BatchWriteCommandInput,
  DeleteCommand,
  type DeleteCommandInput,
  type DynamoDBDocumentClientResolvedConfig,
  type ServiceInputTypes as DynamoInput,
  type ServiceOutputTypes as DynamoOutput,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { MetadataBearer } from '@smithy/types';
import type { S3EventRecord } from 'aws-lambda';
import type { AwsStub } from 'aws-sdk-client-mock';
import type { Clock } from '../../handlers/load-chunk/batch-writer.js';
import type { ChunkPlan, PlannedObject } from '../../handlers/shared/contracts.js';
import { readCsvRecords } from '../../handlers/shared/csv.js';
import { type DatasetSchema, parseDataset } from '../../handlers/shared/dataset.js';
import {
  PROVENANCE,
  type RecordSource,
  splitProvenance,
} from '../../handlers/shared/provenance.js';
import { compareUploads, type UploadStamp } from '../../handlers/shared/upload-order.js';

/** A mocked S3 client (aws-sdk-client-mock). */
export type S3Stub = AwsStub<S3Input, S3Output, S3ClientResolvedConfig>;
/** A mocked DynamoDB document client (aws-sdk-client-mock). */
export type DocumentClientStub = AwsStub<
  DynamoInput,
  DynamoOutput,
  DynamoDBDocumentClientResolvedConfig
>;

/**
 * Test doubles shared by the ingestion tests: the default dataset, S3 notification
 * records, an S3 bucket that serves
 * Range/IfMatch GETs like S3 does, a DynamoDB table that records every
 * BatchWriteItem call, and a virtual clock.
 */

/** The `dataset` of cdk.json, the default dataset (books), as parsed JSON. */
export const CDK_DATASET = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context: { dataset: Record<string, unknown> };
  }
).context.dataset;

/** The default dataset as the `DATASET` environment variable holds it. */
export const DATASET_JSON = JSON.stringify(CDK_DATASET);

/** The default dataset, validated. */
export const books: DatasetSchema = parseDataset(CDK_DATASET);

/** An ObjectCreated record shaped exactly like the ones S3 sends; `key` is as S3 encodes it. */
export function s3Record(
  overrides: {
    bucket?: string;
    key?: string;
    versionId?: string;
    eTag?: string;
    size?: number;
    sequencer?: string;
  } = {},
): S3EventRecord {
  const bucket = overrides.bucket ?? 'uploads';
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'eu-west-1',
    eventTime: '2026-11-28T10:00:00.000Z',
    eventName: 'ObjectCreated:Put',
    userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
    requestParameters: { sourceIPAddress: '192.0.2.10' },
    responseElements: { 'x-amz-request-id': 'REQ1', 'x-amz-id-2': 'HOST1' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'file-events',
      bucket: {
        name: bucket,
        ownerIdentity: { principalId: 'OWNER' },
        arn: `arn:aws:s3:::${bucket}`,
      },
      object: {
        key: overrides.key ?? 'incoming/books.csv',
        size: overrides.size ?? 1234,
        eTag: overrides.eTag ?? '0123456789abcdef0123456789abcdef',
        ...(overrides.versionId === undefined ? {} : { versionId: overrides.versionId }),
        sequencer: overrides.sequencer ?? '0066A1B2C3D4E5F601',
      },
    },
  };
}

/** One stored object version. */
export interface StoredObject {
  readonly body: Buffer;
  readonly eTag: string;
  readonly versionId?: string;
  readonly contentType?: string;
}

/** An S3 error shaped like the SDK's (name, $fault, $metadata.httpStatusCode). */
export function s3Error(name: string, status: number): Error {
  return Object.assign(new Error(`${name} (${status})`), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}

/** Serves `objects` (by "bucket/key") on a mocked S3 client: HeadObject, and GetObject honouring Range, IfMatch and VersionId. */
export function serveBucket(
  s3: S3Stub,
  objects: Map<string, StoredObject>,
  options: {
    pieceBytes?: number;
    /** Errors the first GETs throw, one each, before the bucket answers (an outage). */
    failFirstGets?: readonly unknown[];
  } = {},
): GetObjectCommandInput[] {
  const gets: GetObjectCommandInput[] = [];
  const outage = [...(options.failFirstGets ?? [])];
  const find = (bucket?: string, key?: string, versionId?: string) => {
    const object = objects.get(`${bucket}/${key}`);
    if (!object || (versionId !== undefined && versionId !== object.versionId)) {
      throw s3Error(versionId === undefined ? 'NoSuchKey' : 'NoSuchVersion', 404);
    }
    return object;
  };
  s3.on(HeadObjectCommand).callsFake(
    (input: { Bucket?: string; Key?: string; VersionId?: string }) => {
      const object = find(input.Bucket, input.Key, input.VersionId);
      return {
        ContentLength: object.body.length,
        ETag: object.eTag,
        ContentType: object.contentType ?? 'text/csv',
        ...(object.versionId === undefined ? {} : { VersionId: object.versionId }),
      };
    },
  );
  s3.on(GetObjectCommand).callsFake((input: GetObjectCommandInput) => {
    if (outage.length > 0) throw outage.shift();
    gets.push(input);
    const object = find(input.Bucket, input.Key, input.VersionId);
    if (input.IfMatch !== undefined && input.IfMatch !== object.eTag) {
      throw s3Error('PreconditionFailed', 412);
    }
    let bytes = object.body;
    if (input.Range !== undefined) {
      const match = /^bytes=(\d+)-(\d+)$/.exec(input.Range);
      if (!match) throw new Error(`fake S3 does not understand Range ${input.Range}`);
      bytes = object.body.subarray(Number(match[1]), Number(match[2]) + 1);
    }
    return {
      Body: piecewise(bytes, options.pieceBytes ?? 7) as never,
      ContentLength: bytes.length,
      ETag: object.eTag,
    };
  });
  return gets;
}

/** A stream that yields `bytes` in small pieces, so parsers see records split across reads. */
export function piecewise(bytes: Buffer, pieceBytes: number): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += pieceBytes) {
    pieces.push(bytes.subarray(at, at + pieceBytes));
  }
  return Readable.from(pieces);
}

type PutRequests = NonNullable<BatchWriteCommandInput['RequestItems']>[string];

/**
 * A DynamoDB table behind a mocked document client, recording every BatchWriteItem
 * call. The loader writes items in DynamoDB's wire form (low-level commands); the
 * table stores and records them as the document client reads them back (numbers as
 * NumberValue), and answers UnprocessedItems in wire form, as DynamoDB does.
 */
export class FakeTable {
  /** Stored items by their key's exact text. */
  readonly items = new Map<string, Record<string, unknown>>();
  /** Every call's put requests, in call order. */
  readonly calls: PutRequests[] = [];
  /** Calls in flight right now, and the most ever. */
  inFlight = 0;
  maxInFlight = 0;
  /**
   * Decides each call's fate: return the requests to leave unprocessed, or throw.
   * Runs before anything is stored. @default everything is written
   */
  behaviour: (requests: PutRequests, call: number) => PutRequests = () => [];
  /** Delays each call (to observe concurrency). */
  latency: () => Promise<void> = async () => {};

  constructor(
    readonly tableName: string,
    readonly keyName: string,
  ) {}

  /** Conditional PutItem calls, in call order, with whether each was written. */
  readonly conditionalPuts: { item: Record<string, unknown>; written: boolean }[] = [];

  /**
   * Routes BatchWriteCommand and the conditional PutCommand of a mocked
   * DynamoDBDocumentClient to this table, and the write-lease calls to `control`
   * (an empty control table by default: no other upload, so the loader batch-writes).
   */
  attach(
    dynamo: DocumentClientStub,
    control = new FakeControlTable('control'),
    /** The stub of the loader's own writer client (handlers/load-chunk/index.ts), if it has one. */
    writer?: AwsStub<object, MetadataBearer, object>,
  ): void {
    // The low-level commands pass through the document client's stub (the loader sends
    // them through it when it has no writer client of its own).
    const items = writer ?? dynamo;
    const batches = items as unknown as AwsStub<
      BatchWriteItemCommandInput,
      BatchWriteItemCommandOutput,
      DynamoDBDocumentClientResolvedConfig
    >;
    batches
      .on(BatchWriteItemCommand)
      .callsFake((input: BatchWriteItemCommandInput) => this.batchWrite(input));
    const puts = items as unknown as AwsStub<
      PutItemCommandInput,
      PutItemCommandOutput,
      DynamoDBDocumentClientResolvedConfig
    >;
    puts.on(PutItemCommand).callsFake((input: PutItemCommandInput) => this.conditionalPut(input));
    dynamo.on(PutCommand).callsFake((input: PutCommandInput) => control.put(input));
    dynamo.on(UpdateCommand).callsFake((input: UpdateCommandInput) => control.update(input));
    dynamo.on(DeleteCommand).callsFake((input: DeleteCommandInput) => control.delete(input));
    dynamo.on(QueryCommand).callsFake((input: QueryCommandInput) => control.query(input));
  }

  /**
   * PutItem under the loader's "stored is not newer than the writer" condition,
   * modelled in JS with compareUploads (the expression itself is checked against
   * dynalite in test/integration/local-parts.test.ts).
   */
  private async conditionalPut(input: PutItemCommandInput) {
    if (input.TableName !== this.tableName) throw new Error(`no fake table ${input.TableName}`);
    await this.latency();
    const item = readBack(input.Item ?? {});
    const key = String(item[this.keyName]);
    const stored = this.items.get(key);
    const written = stored === undefined || !isNewerItem(stored, item);
    this.conditionalPuts.push({ item, written });
    if (!written) throw conditionFailed();
    this.items.set(key, item);
    return { $metadata: {} };
  }

  private async batchWrite(
    input: BatchWriteItemCommandInput,
  ): Promise<BatchWriteItemCommandOutput> {
    const sent = input.RequestItems?.[this.tableName];
    if (!sent) throw new Error(`fake table ${this.tableName} got no requests for itself`);
    const requests: PutRequests = sent.map((request) => ({
      PutRequest: { Item: readBack(request.PutRequest?.Item ?? {}) },
    }));
    const call = this.calls.push(requests) - 1;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.latency();
      const unprocessed = this.behaviour(requests, call);
      for (const request of requests) {
        if (unprocessed.includes(request)) continue;
        const item = request.PutRequest?.Item ?? {};
        this.items.set(String(item[this.keyName]), item);
      }
      const answered = unprocessed.map((request) => ({
        PutRequest: { Item: marshall(request.PutRequest?.Item ?? {}) },
      }));
      return {
        UnprocessedItems: answered.length > 0 ? { [this.tableName]: answered } : {},
        $metadata: {},
      };
    } finally {
      this.inFlight--;
    }
  }

  /** The stored record bodies (provenance left out) as plain values (NumberValue → its exact text). */
  plainItems(): Record<string, unknown>[] {
    return [...this.items.values()].map((item) => plain(splitProvenance(item).record));
  }

  /** Where each stored item came from, by key. */
  sources(): Map<string, RecordSource | undefined> {
    return new Map(
      [...this.items].map(([key, item]) => [key, splitProvenance(item).source] as const),
    );
  }
}

/** A wire-form item as the document client reads it back (numbers as NumberValue). */
function readBack(item: Record<string, AttributeValue>): Record<string, unknown> {
  return unmarshall(item, { wrapNumbers: true });
}

function plain(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(item).map(([name, value]) => [
      name,
      typeof value === 'object' && value !== null ? String(value) : value,
    ]),
  );
}

/** True when `stored` holds a newer (upload order, line) than `writer`. */
function isNewerItem(stored: Record<string, unknown>, writer: Record<string, unknown>): boolean {
  if (stored[PROVENANCE.uploadedAt] === undefined) return false;
  const order = compareUploads(orderOf(stored), orderOf(writer));
  if (order !== 0) return order > 0;
  return Number(String(stored[PROVENANCE.line])) > Number(String(writer[PROVENANCE.line]));
}

function orderOf(item: Record<string, unknown>) {
  return {
    uploadedAt: String(item[PROVENANCE.uploadedAt]),
    key: String(item[PROVENANCE.key]),
    sequencer: String(item[PROVENANCE.sequencer] ?? ''),
  };
}

function conditionFailed(): Error {
  const error = new Error('The conditional request failed');
  error.name = 'ConditionalCheckFailedException';
  return error;
}

/**
 * The ingestion control table as the loader's write leases use it (Put of a lease,
 * conditional Update of the newest upload, Delete, Query of leases), in memory.
 * `newest` and `leases` can be set by a test to stage another upload.
 */
export class FakeControlTable {
  /** The newest upload per data table. */
  readonly newest = new Map<string, UploadStamp>();
  /** Live leases by `${pk}|${sk}`. */
  readonly leases = new Map<string, Record<string, unknown>>();
  /** Every lease ever put, in order (sort keys). */
  readonly leaseLog: string[] = [];
  /** Called before each Query (a test can end a lease there, as its chunk would). */
  onQuery: (round: number) => void = () => undefined;
  private queries = 0;

  constructor(readonly tableName: string) {}

  async put(input: PutCommandInput) {
    const item = input.Item ?? {};
    this.leases.set(`${String(item.pk)}|${String(item.sk)}`, item);
    this.leaseLog.push(String(item.sk));
    return { $metadata: {} };
  }

  async update(input: UpdateCommandInput) {
    const pk = String(input.Key?.pk);
    const values = input.ExpressionAttributeValues ?? {};
    const writer = {
      uploadedAt: String(values[':pa']),
      key: String(values[':pk']),
      sequencer: String(values[':ps']),
      version: '',
    };
    const stored = this.newest.get(pk);
    if (stored !== undefined && compareUploads(stored, writer) > 0) throw conditionFailed();
    this.newest.set(pk, writer);
    return { $metadata: {} };
  }

  async delete(input: DeleteCommandInput) {
    const id = `${String(input.Key?.pk)}|${String(input.Key?.sk)}`;
    const lease = this.leases.get(id);
    if (input.ConditionExpression !== undefined && lease !== undefined) {
      const cutoff = Number(input.ExpressionAttributeValues?.[':cutoff']);
      if (!(Number(lease.until) < cutoff)) throw conditionFailed();
    }
    this.leases.delete(id);
    return { $metadata: {} };
  }

  async query(input: QueryCommandInput) {
    this.onQuery(this.queries++);
    const pk = String(input.ExpressionAttributeValues?.[':pk']);
    const items = [...this.leases.values()].filter((item) => item.pk === pk);
    return { Items: items, $metadata: {} };
  }
}

/** A virtual clock: sleeping advances time instantly and is recorded. */
export class VirtualClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(
    private remaining: number,
    readonly random: () => number = () => 0.5,
  ) {}

  readonly remainingTimeMs = (): number => this.remaining;

  readonly sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.remaining -= ms;
  };
}

/**
 * Plans a CSV text the simple way (one chunk per `rowsPerChunk` records), with the
 * shared CSV reader, for loader tests that must not depend on the planner.
 */
export async function simplePlan(
  text: string | Buffer,
  rowsPerChunk: number,
  skips: Record<number, number[]> = {},
): Promise<{ header: string[]; chunks: ChunkPlan[] }> {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const records = [];
  for await (const record of readCsvRecords(Readable.from([bytes]), {
    delimiter: ',',
    maxRecordBytes: 400 * 1024,
  })) {
    records.push(record);
  }
  const [head, ...rows] = records;
  if (!head) throw new Error('empty test file');
  const chunks: ChunkPlan[] = [];
  for (let at = 0; at < rows.length; at += rowsPerChunk) {
    const slice = rows.slice(at, at + rowsPerChunk);
    const first = slice[0];
    const last = slice[slice.length - 1];
    if (!first || !last) continue;
    const index = chunks.length;
    chunks.push({
      index,
      start: first.start,
      end: last.end,
      firstLine: first.line,
      rows: slice.length,
      skip: skips[index] ?? [],
    });
  }
  return { header: head.fields.map((name) => name.trim()), chunks };
}

/** The upload stamp of a test file (an older or newer upload by `at`). */
export function uploadStamp(key = 'books.csv', at = '2026-11-28T10:00:00.000Z'): UploadStamp {
  return { uploadedAt: at, key, sequencer: '0066A1B2C3D4E5F6'.padEnd(32, '0'), version: 'v1' };
}

/** A PlannedObject for a stored object. */
export function plannedObject(bucket: string, key: string, object: StoredObject): PlannedObject {
  return {
    bucket,
    key,
    eTag: object.eTag,
    size: object.body.length,
    ...(object.versionId === undefined ? {} : { versionId: object.versionId }),
  };
}
