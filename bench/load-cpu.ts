/**
 * `npx tsx bench/load-cpu.ts [rows] [profile.cpuprofile]`: one loader's CPU per chunk
 * (bench/children/load-cpu.ts in a fresh process: the real loadChunk writing `rows`
 * generated rows into a fresh dynalite), printed as JSON; with a file name, also a V8 CPU
 * profile of exactly the load (summarise it with bench/profile-summary.ts).
 */
import { runChild } from './lib/child.js';

const [rows = '100000', profile] = process.argv.slice(2);
const result = await runChild(new URL('./children/load-cpu.ts', import.meta.url), [rows], {
  timeoutMs: 900_000,
  env: profile === undefined ? {} : { BENCH_CPU_PROFILE: profile },
});
process.stdout.write(`${JSON.stringify(result)}\n`);
