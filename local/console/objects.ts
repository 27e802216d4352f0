import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { LinesView, ObjectsPage, UploadResult } from './model.js';

/** Part size of multipart uploads (the CLI's too): files above it go up in parts. */
export const PART_SIZE = 8 * 1024 * 1024;

/** A request the console refuses, with the HTTP status to answer. */
export class ConsoleRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConsoleRequestError';
  }
}

/** One page of the bucket's objects, in key order. */
export async function listObjects(
  s3: S3Client,
  bucket: string,
  after?: string,
): Promise<ObjectsPage> {
  const page = await s3.send(
    new ListObjectsV2Command({
      Bucket: bucket,
      MaxKeys: 1000,
      ...(after ? { ContinuationToken: after } : {}),
    }),
  );
  return {
    objects: (page.Contents ?? []).map((object) => ({
      key: object.Key ?? '',
      size: object.Size ?? 0,
      ...(object.LastModified ? { lastModified: object.LastModified.toISOString() } : {}),
      ...(object.ETag ? { eTag: object.ETag } : {}),
    })),
    ...(page.IsTruncated && page.NextContinuationToken ? { next: page.NextContinuationToken } : {}),
  };
}

/** Checks an object key typed or dropped in the page; returns it, or throws saying what is wrong. */
export function checkKey(key: string | null | undefined): string {
  if (key === null || key === undefined || key === '') {
    throw new ConsoleRequestError(400, 'invalid-key', 'The object key is missing (?key=…)');
  }
  if (Buffer.byteLength(key) > 1024) {
    throw new ConsoleRequestError(400, 'invalid-key', 'The object key is over 1024 bytes');
  }
  if (key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '.')) {
    throw new ConsoleRequestError(
      400,
      'invalid-key',
      `The object key "${key}" starts with "/" or has a "." or ".." segment`,
    );
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
  if (/[\u0000-\u001f\u007f]/.test(key)) {
    throw new ConsoleRequestError(400, 'invalid-key', 'The object key has a control character');
  }
  return key;
}

/**
 * Streams a body into the bucket, as a multipart upload when it is larger than
 * one part (the S3 notification then says CompleteMultipartUpload), reporting
 * the bytes sent so far.
 */
export async function uploadObject(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Readable,
  onProgress?: (loaded: number) => void,
): Promise<UploadResult> {
  const started = Date.now();
  const upload = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: body, ContentType: 'text/csv' },
    partSize: PART_SIZE,
    queueSize: 4,
  });
  let parts = 1;
  let size = 0;
  upload.on('httpUploadProgress', (progress) => {
    parts = Math.max(parts, progress.part ?? 1);
    size = Math.max(size, progress.loaded ?? 0);
    onProgress?.(size);
  });
  const done = await upload.done();
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return {
    bucket,
    key,
    size: head.ContentLength ?? size,
    ...(done.ETag ? { eTag: done.ETag } : head.ETag ? { eTag: head.ETag } : {}),
    parts,
    durationMs: Date.now() - started,
  };
}

/** Which lines to read: a byte range (a chunk), or the lines around a line number. */
export interface LinesRequest {
  readonly key: string;
  /** The ETag the lines must come from (as the plan recorded it); another version is an error. */
  readonly eTag?: string;
  /** Byte offset of a line start, and the 1-based number of that line. */
  readonly start?: number;
  readonly firstLine?: number;
  /** Stop before this byte offset (a chunk's end). */
  readonly end?: number;
  /** Show the lines around this 1-based line instead (read from the start of the object). */
  readonly line?: number;
}

const MAX_LINES = 400;
const MAX_WINDOW_BYTES = 256 * 1024;
const CONTEXT_LINES = 5;

/**
 * A window of an object's physical lines (split at LF, a CR before it dropped),
 * numbered as the planner numbers them, with where the next window starts.
 */
export async function readLines(
  s3: S3Client,
  bucket: string,
  request: LinesRequest,
): Promise<LinesView> {
  const aroundLine = request.line;
  const start = aroundLine === undefined ? (request.start ?? 0) : 0;
  const firstLineOfRange = aroundLine === undefined ? (request.firstLine ?? 1) : 1;
  const from =
    aroundLine === undefined ? firstLineOfRange : Math.max(1, aroundLine - CONTEXT_LINES);
  let object: GetObjectCommandOutput;
  try {
    object = await s3.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: request.key,
        // S3 events carry the ETag bare, HeadObject quoted: If-Match wants it quoted.
        ...(request.eTag
          ? { IfMatch: request.eTag.startsWith('"') ? request.eTag : `"${request.eTag}"` }
          : {}),
        ...(start > 0 || request.end !== undefined
          ? { Range: `bytes=${start}-${request.end === undefined ? '' : request.end - 1}` }
          : {}),
      }),
    );
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'NoSuchKey' || name === 'NotFound')
      throw new ConsoleRequestError(
        404,
        'not-found',
        `s3://${bucket}/${request.key} does not exist`,
      );
    if (name === 'PreconditionFailed')
      throw new ConsoleRequestError(
        409,
        'changed',
        `s3://${bucket}/${request.key} has changed since it was planned (its ETag is no longer ${request.eTag})`,
      );
    if (name === 'InvalidRange')
      throw new ConsoleRequestError(416, 'invalid-range', `bytes ${start}- are past the end`);
    throw error;
  }
  const objectSize = Number(
    /\/(\d+)$/.exec(object.ContentRange ?? '')?.[1] ?? object.ContentLength ?? 0,
  );
  const lines: string[] = [];
  let lineNumber = firstLineOfRange;
  let offset = start;
  let windowStart: number | undefined;
  let windowBytes = 0;
  let pending: Buffer = Buffer.alloc(0);
  let next: LinesView['next'];
  const body = object.Body as Readable;
  const take = (line: Buffer, lineStart: number): boolean => {
    if (lineNumber >= from) {
      windowStart ??= lineStart;
      if (
        lines.length >= MAX_LINES ||
        (windowBytes > 0 && windowBytes + line.length > MAX_WINDOW_BYTES)
      ) {
        next = { start: lineStart, firstLine: lineNumber };
        return false;
      }
      const text = line.toString('utf8');
      lines.push(text.endsWith('\r') ? text.slice(0, -1) : text);
      windowBytes += line.length + 1;
    }
    lineNumber += 1;
    return true;
  };
  let more = true;
  try {
    for await (const chunk of body) {
      let data = Buffer.concat([pending, chunk as Buffer]);
      let newline = data.indexOf(0x0a);
      while (newline >= 0 && more) {
        more = take(data.subarray(0, newline), offset);
        if (!more) break;
        offset += newline + 1;
        data = data.subarray(newline + 1);
        newline = data.indexOf(0x0a);
      }
      pending = Buffer.from(data);
      if (!more) break;
    }
    if (more && pending.length > 0) take(pending, offset);
  } finally {
    body.destroy();
  }
  const windowStartOffset = windowStart ?? offset;
  return {
    key: request.key,
    firstLine: from,
    lines,
    start: windowStartOffset,
    end: windowStartOffset + windowBytes,
    ...(next ? { next } : {}),
    objectSize,
  };
}
