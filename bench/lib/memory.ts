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

/** The largest readings of each part of the process's memory while sampling ran, in MB. */
export interface MemoryPeaks {
  heapTotalMb: number;
  heapUsedMb: number;
  externalMb: number;
}

/**
 * Samples `process.memoryUsage()` every `intervalMs` until the returned stop function
 * is called, to tell which part of memory a peak RSS came from: V8's heap (live
 * objects or collectable garbage) or buffers outside it.
 */
export function samplePeaks(intervalMs = 20): () => MemoryPeaks {
  const peaks: MemoryPeaks = { heapTotalMb: 0, heapUsedMb: 0, externalMb: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    const mb = 1024 * 1024;
    peaks.heapTotalMb = Math.max(peaks.heapTotalMb, usage.heapTotal / mb);
    peaks.heapUsedMb = Math.max(peaks.heapUsedMb, usage.heapUsed / mb);
    peaks.externalMb = Math.max(peaks.externalMb, usage.external / mb);
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    sample();
    return peaks;
  };
}
