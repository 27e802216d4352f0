import { toMb } from './stats.js';

// Memory readings of the current process, in MB (2^20 bytes).

/** Resident set size now. */
function rssMb(): number {
  return toMb(process.memoryUsage.rss());
}

/** Peak resident set size of this process so far (what Lambda reports as "Max Memory Used"). */
function peakRssMb(): number {
  // resourceUsage().maxRSS is in kilobytes.
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * Live heap after a full garbage collection (needs `--expose-gc`): what the process
 * really retains, as opposed to peak RSS, which also counts garbage V8 had not yet
 * collected and heap it grew and has not returned.
 */
function heapAfterGcMb(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc to measure the heap after GC');
  gc();
  return toMb(process.memoryUsage().heapUsed);
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
function samplePeaks(intervalMs = 20): () => MemoryPeaks {
  const peaks: MemoryPeaks = { heapTotalMb: 0, heapUsedMb: 0, externalMb: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    peaks.heapTotalMb = Math.max(peaks.heapTotalMb, toMb(usage.heapTotal));
    peaks.heapUsedMb = Math.max(peaks.heapUsedMb, toMb(usage.heapUsed));
    peaks.externalMb = Math.max(peaks.externalMb, toMb(usage.external));
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    sample();
    return peaks;
  };
}

/** How one piece of work used this process's memory, in MB, and how long it took. */
export interface MemoryUse {
  /** Resident set size just before the work started. */
  readonly startRssMb: number;
  /** Peak RSS of the process once the work is done. */
  readonly peakRssMb: number;
  /** Live heap after a full GC once the work is done (retained memory, not GC slack). */
  readonly heapAfterGcMb: number;
  /** Peaks of V8's heap and of memory outside it, sampled while working. */
  readonly peaks: MemoryPeaks;
  readonly seconds: number;
}

/**
 * Runs `work` and measures its memory use (needs `--expose-gc`). The heap is
 * collected only after the peaks and the time are read, so the GC counts in neither.
 */
export async function measureMemory<T>(
  work: () => Promise<T>,
): Promise<{ readonly use: MemoryUse; readonly result: T }> {
  const startRssMb = rssMb();
  const stopSampling = samplePeaks();
  const start = performance.now();
  const result = await work();
  const use = {
    startRssMb,
    peakRssMb: peakRssMb(),
    peaks: stopSampling(),
    seconds: (performance.now() - start) / 1000,
    heapAfterGcMb: heapAfterGcMb(),
  };
  return { use, result };
}
