import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type GenerateResult, generateCsv } from '../../local/generate-csv.js';

/** The seed of every generated bench file, so runs compare like with like. */
export const BENCH_SEED = 7;

/** The size of S3 GetObject body chunks as the SDK streams them (64 KiB reads). */
export const STREAM_CHUNK_BYTES = 64 * 1024;

/** A generated file held in memory. */
export interface CsvBytes {
  readonly bytes: Buffer;
  readonly rows: number;
  /** Byte offset just past the header line: where the first data record starts. */
  readonly dataStart: number;
}

/** Generates `rows` rows of the dataset (cdk.json) into memory, deterministically. */
export async function generateBytes(rows: number): Promise<CsvBytes> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      parts.push(chunk);
      done();
    },
  });
  await generateCsv({ rows, seed: BENCH_SEED }, sink);
  const bytes = Buffer.concat(parts);
  return { bytes, rows, dataStart: headerEnd(bytes) };
}

/** Which rows a generated file holds beyond their count (see GenerateOptions). */
export interface FileVariant {
  readonly seed?: number;
  readonly keyOffset?: number;
}

/**
 * Generates `rows` rows into `file` unless a file of that name already exists (the
 * name carries rows, seed and key offset, and the generator is deterministic).
 * Returns its size.
 */
export async function generateFile(
  file: URL,
  rows: number,
  variant: FileVariant = {},
): Promise<number> {
  const existing = await stat(file).catch(() => undefined);
  if (existing) return existing.size;
  const path = fileURLToPath(file);
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  const output = createWriteStream(partial);
  const result: GenerateResult = await generateCsv(
    { rows, seed: variant.seed ?? BENCH_SEED, keyOffset: variant.keyOffset ?? 0 },
    output,
  );
  output.end();
  await once(output, 'finish');
  await rename(partial, path);
  return result.bytes;
}

/** The bench file name for a row count: `books-100000-seed7.csv`. */
export function benchFileName(dataset: string, rows: number): string {
  return `${dataset}-${rows}-seed${BENCH_SEED}.csv`;
}

/**
 * The byte offset just past the header record. Header names cannot contain quotes or
 * line breaks (the schema's name pattern), so the first LF ends the header.
 */
export function headerEnd(bytes: Buffer): number {
  const lf = bytes.indexOf(0x0a);
  if (lf < 0) throw new Error('generated file has no line break after its header');
  return lf + 1;
}

/** `bytes` as a stream of 64 KiB chunks, the way an S3 GetObject body arrives. */
export function streamOf(bytes: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += STREAM_CHUNK_BYTES) {
    chunks.push(bytes.subarray(offset, offset + STREAM_CHUNK_BYTES));
  }
  return Readable.from(chunks, { objectMode: false });
}
