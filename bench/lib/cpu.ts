import { readFile } from 'node:fs/promises';

/** sysconf(_SC_CLK_TCK): 100 on every Linux Node.js supports. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * User + system CPU seconds a process (another one: an emulator's child process) has
 * used so far, from /proc/<pid>/stat; for this process use process.cpuUsage().
 */
export async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The fields after the parenthesised command name start at the 3rd (state); utime
  // and stime are the 14th and 15th fields of the line.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** This process's user + system CPU seconds since `before` (a process.cpuUsage() value). */
export function ownCpuSecondsSince(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}
