/** Small, dependency-free statistics used by every suite. */

/** The median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] as number) + upper) / 2;
}

/** Rounds to `digits` significant decimals, keeping results readable in JSON and tables. */
export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** `numerator / denominator`, refusing a zero or non-finite denominator instead of printing Infinity. */
export function ratio(numerator: number, denominator: number): number {
  if (!Number.isFinite(numerator) || !Number.isFinite(denominator) || denominator <= 0) {
    throw new RangeError(`cannot form a ratio of ${numerator} / ${denominator}`);
  }
  return numerator / denominator;
}

/** Elapsed milliseconds since `start` (a `performance.now()` reading). */
export function elapsedMs(start: number): number {
  return performance.now() - start;
}

/** Bytes → mebibytes. */
export function toMb(bytes: number): number {
  return bytes / (1024 * 1024);
}
