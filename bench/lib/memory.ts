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
