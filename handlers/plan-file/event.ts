import type { FileRef } from '../shared/contracts.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { isCount, isRecord } from '../shared/guards.js';

/**
 * Validates the PlanFile task input, `{ file: FileRef }`, and returns the FileRef.
 * Throws InvalidTaskInputError naming every bad field.
 */
export function parsePlanFileEvent(event: unknown): FileRef {
  const file = isRecord(event) ? event.file : undefined;
  if (!isRecord(file)) {
    throw new InvalidTaskInputError('PlanFile input must be { "file": { "bucket", "key", ... } }');
  }
  const problems: string[] = [];
  const text = (name: string, required: boolean): string | undefined => {
    const value = file[name];
    if (value === undefined || value === null) {
      if (required) problems.push(`file.${name} is required`);
      return undefined;
    }
    if (typeof value !== 'string' || value === '') {
      problems.push(`file.${name} must be a non-empty string`);
      return undefined;
    }
    return value;
  };
  const bucket = text('bucket', true);
  const key = text('key', true);
  const versionId = text('versionId', false);
  const eTag = text('eTag', false);
  const sequencer = text('sequencer', false);
  const size = file.size;
  if (size !== undefined && !isCount(size)) {
    problems.push('file.size must be a non-negative integer');
  }
  if (problems.length > 0 || bucket === undefined || key === undefined) {
    throw new InvalidTaskInputError(`Invalid PlanFile input: ${problems.join('; ')}`);
  }
  return {
    bucket,
    key,
    ...(versionId === undefined ? {} : { versionId }),
    ...(eTag === undefined ? {} : { eTag }),
    ...(typeof size === 'number' ? { size } : {}),
    ...(sequencer === undefined ? {} : { sequencer }),
  };
}
