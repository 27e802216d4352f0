import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BatchWriteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type LoadChunkConfig, loadChunk } from '../../handlers/load-chunk/load.js';
import type { LoadChunkInput } from '../../handlers/shared/contracts.js';
import type { UploadStamp } from '../../handlers/shared/upload-order.js';
import { streamOf } from './data.js';
import { UNHURRIED_CLOCK } from './handler-configs.js';

/**
 * Stand-ins for the SDK clients when a suite measures the handlers' own work with no
 * I/O: they answer the few commands the planner and loader send, from memory or a
 * local file, and fail loudly on anything else so a changed handler cannot be
 * measured against a silently wrong double.
 */

/** Where an object's bytes come from. */
export type ObjectSource =
  | { readonly kind: 'memory'; readonly bytes: Buffer }
  | { readonly kind: 'file'; readonly path: string; readonly size: number };

/** The ETag every double object reports (the loader sends it back as IfMatch). */
export const DOUBLE_ETAG = '"bench"';

/** The upload stamp of the bench's one object. */
export const DOUBLE_UPLOAD: UploadStamp = {
  uploadedAt: '2026-11-28T10:00:00.000Z',
  key: 'bench.csv',
  sequencer: '0066A1B2C3D4E5F6'.padEnd(32, '0'),
  version: 'bench',
};

/** An S3 client serving one object for HeadObject and (ranged) GetObject. */
export function objectS3(source: ObjectSource): S3Client {
  const size = source.kind === 'memory' ? source.bytes.length : source.size;
  const send = async (command: unknown) => {
    if (command instanceof HeadObjectCommand) {
      return { ContentLength: size, ETag: DOUBLE_ETAG, ContentType: 'text/csv' };
    }
    if (command instanceof GetObjectCommand) {
      const { start, end } = range(command.input.Range, size);
      return { Body: body(source, start, end), ETag: DOUBLE_ETAG };
    }
    throw new Error(`the bench S3 double does not answer ${describe(command)}`);
  };
  return { send } as unknown as S3Client;
}

/** Counts of what the DynamoDB double accepted. */
export interface WriteCounter {
  calls: number;
  items: number;
}

/**
 * A DocumentClient that accepts every BatchWriteItem at once (on the next turn of the
 * event loop, as a real response would arrive) and counts the items. It answers the
 * loader's write-lease calls as a control table with no other upload would (the lease
 * is granted, the newest upload raised, no older lease found).
 */
export function acceptingDynamo(counter: WriteCounter): DynamoDBDocumentClient {
  const send = async (command: unknown) => {
    if (
      command instanceof PutCommand ||
      command instanceof UpdateCommand ||
      command instanceof DeleteCommand ||
      command instanceof PutItemCommand
    ) {
      return {};
    }
    if (command instanceof QueryCommand) return { Items: [] };
    if (!(command instanceof BatchWriteItemCommand)) {
      throw new Error(`the bench DynamoDB double does not answer ${describe(command)}`);
    }
    await nextTurn();
    counter.calls += 1;
    for (const requests of Object.values(command.input.RequestItems ?? {})) {
      counter.items += requests.length;
    }
    return { UnprocessedItems: {} };
  };
  return { send } as unknown as DynamoDBDocumentClient;
}

function body(source: ObjectSource, start: number, end: number): Readable {
  if (source.kind === 'memory') return streamOf(source.bytes.subarray(start, end + 1));
  return createReadStream(source.path, { start, end, highWaterMark: 64 * 1024 });
}

/** Parses `bytes=a-b` (inclusive) into a range within the object. */
function range(header: string | undefined, size: number): { start: number; end: number } {
  if (header === undefined) return { start: 0, end: size - 1 };
  const match = /^bytes=(\d+)-(\d+)$/.exec(header);
  if (!match) throw new Error(`the bench S3 double cannot serve Range "${header}"`);
  return { start: Number(match[1]), end: Math.min(Number(match[2]), size - 1) };
}

function describe(command: unknown): string {
  return (command as { constructor?: { name?: string } })?.constructor?.name ?? String(command);
}

/**
 * The loader's work on one chunk minus the network: the real loadChunk against the
 * in-memory object and the accepting DynamoDB double. Resolves to the rows it read,
 * after checking it wrote every one of `rows`.
 */
export async function loadChunkOffline(
  input: LoadChunkInput,
  config: LoadChunkConfig,
  s3: S3Client,
  rows: number,
): Promise<number> {
  const counter: WriteCounter = { calls: 0, items: 0 };
  const summary = await loadChunk(input, config, {
    s3,
    dynamo: acceptingDynamo(counter),
    clock: UNHURRIED_CLOCK,
  });
  if (summary.written !== rows || counter.items !== rows) {
    throw new Error(`chunk logic wrote ${counter.items} of ${rows} rows`);
  }
  return summary.rows;
}
