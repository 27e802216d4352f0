import type { ChunkPlan, LoadChunkInput, PlannedObject } from '../shared/contracts.js';
import { FILE_FORMATS, type FileFormat } from '../shared/dataset.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { isCount, isNonEmptyString, isRecord } from '../shared/guards.js';
import type { UploadStamp } from '../shared/upload-order.js';

/** The fixed-width UTC form normalizeEventTime produces (it orders as text). */
function isNormalizedTime(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value);
}

/**
 * Validates the LoadChunk task input (built by the Map's ItemSelector from the plan)
 * and returns it typed. Throws InvalidTaskInputError naming every bad field: a
 * malformed input is a workflow bug, never retried.
 */
export function parseLoadChunkEvent(event: unknown): LoadChunkInput {
  const problems: string[] = [];
  const input = isRecord(event) ? event : {};
  if (!isRecord(event)) problems.push('input must be an object { object, header, chunk, upload }');

  const object = isRecord(input.object) ? input.object : {};
  if (!isRecord(input.object)) problems.push('object must be an object');
  for (const field of ['bucket', 'key', 'eTag'] as const) {
    if (!isNonEmptyString(object[field]))
      problems.push(`object.${field} must be a non-empty string`);
  }
  if (object.versionId !== undefined && !isNonEmptyString(object.versionId)) {
    problems.push('object.versionId must be a non-empty string when present');
  }
  if (!isCount(object.size)) problems.push('object.size must be a non-negative integer');

  const format = input.format ?? 'csv';
  if (!(FILE_FORMATS as readonly unknown[]).includes(format)) {
    problems.push(`format must be one of ${FILE_FORMATS.join(', ')} when present`);
  }
  const header = input.header;
  if (!Array.isArray(header) || !header.every(isNonEmptyString)) {
    problems.push('header must be an array of non-empty strings');
  } else if (format === 'csv' && header.length === 0) {
    problems.push('header must be a non-empty array of non-empty strings for a CSV file');
  }

  const chunk = isRecord(input.chunk) ? input.chunk : {};
  if (!isRecord(input.chunk)) problems.push('chunk must be an object');
  for (const field of ['index', 'start', 'end', 'rows'] as const) {
    if (!isCount(chunk[field])) problems.push(`chunk.${field} must be a non-negative integer`);
  }
  if (!isCount(chunk.firstLine) || chunk.firstLine < 1) {
    problems.push('chunk.firstLine must be a positive integer');
  }
  if (isCount(chunk.start) && isCount(chunk.end) && chunk.end < chunk.start) {
    problems.push(`chunk.end (${chunk.end}) must not be before chunk.start (${chunk.start})`);
  }
  const skip = chunk.skip;
  if (
    !Array.isArray(skip) ||
    !skip.every((index) => isCount(index) && (!isCount(chunk.rows) || index < chunk.rows))
  ) {
    problems.push('chunk.skip must be an array of row indexes below chunk.rows');
  }

  const upload = isRecord(input.upload) ? input.upload : {};
  if (!isRecord(input.upload))
    problems.push("upload must be an object (the execution input's upload stamp)");
  else {
    if (typeof upload.uploadedAt !== 'string' || !isNormalizedTime(upload.uploadedAt)) {
      problems.push('upload.uploadedAt must be a UTC time like 2026-11-28T10:00:00.000Z');
    }
    if (!isNonEmptyString(upload.key)) problems.push('upload.key must be a non-empty string');
    for (const field of ['sequencer', 'version'] as const) {
      if (typeof upload[field] !== 'string') problems.push(`upload.${field} must be a string`);
    }
  }

  const dataset = input.dataset;
  if (dataset !== undefined && !isNonEmptyString(dataset)) {
    problems.push("dataset must be a non-empty string (the plan's dataset) when present");
  }

  if (problems.length > 0) {
    throw new InvalidTaskInputError(`Invalid LoadChunk input: ${problems.join('; ')}`);
  }
  return {
    ...(dataset === undefined ? {} : { dataset: dataset as string }),
    object: object as unknown as PlannedObject,
    ...(input.format === undefined ? {} : { format: format as FileFormat }),
    header: header as string[],
    chunk: chunk as unknown as ChunkPlan,
    upload: upload as unknown as UploadStamp,
  };
}
