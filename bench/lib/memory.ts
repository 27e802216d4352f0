/** Memory readings of the current process, in MB (2^20 bytes). */

/** Resident set size now. */
export function rssMb(): number {
  return process.memoryUsage.rss() / (1024 * 1024);
}

/** Peak resident set size of this process so far (what Lambda reports as "Max Memory Used"). */
export function peakRssMb(): number {
  // resourceUsage().maxRSS is in kilobytes.
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * Live heap after a full garbage collection (needs `--expose-gc`): what the process
 * really retains, as opposed to peak RSS, which also counts garbage V8 had not yet
 * collected and heap it grew and has not returned.
 */
export function heapAfterGcMb(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc to measure the heap after GC');
  gc();
  return process.memoryUsage().heapUsed / (1024 * 1024);
}
