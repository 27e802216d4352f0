import type { ExecutionStatus, StateStatus } from '../model.js';

// The terminal's formatting of durations and counts, so the page and the CLI agree.
export { count, duration, readableCause } from '../../cli/format.js';

/** A byte size with a binary unit (407 B, 8.1 KiB, 4.7 MiB). */
export function bytes(size: number): string {
  if (size < 1024) return `${size} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** The local time of day of an ISO timestamp, to the millisecond. */
export function clock(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** Date and time of an ISO timestamp, for tooltips. */
export function dateTime(iso: string | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '';
}

/** How a status reads in the page. */
export function statusLabel(status: ExecutionStatus | StateStatus): string {
  switch (status) {
    case 'IN_PROGRESS':
    case 'RUNNING':
      return 'Running';
    case 'SUCCEEDED':
      return 'Succeeded';
    case 'FAILED':
      return 'Failed';
    case 'CAUGHT':
      return 'Caught error';
    case 'ABORTED':
      return 'Aborted';
    case 'TIMED_OUT':
      return 'Timed out';
    case 'NOT_STARTED':
      return 'Not started';
  }
}

/** The name of an execution from its ARN (the last segment). */
export function nameOfArn(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1);
}
