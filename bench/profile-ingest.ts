/**
 * `npx tsx bench/profile-ingest.ts [rows] [profile.cpuprofile]`: one ingestion of a
 * generated file through the local stack (as the ingest suite runs it), with a V8 CPU
 * profile of the stack's process over exactly the upload → succeeded stretch, and the
 * CPU of that process and of dynalite's. The profile opens in Chrome DevTools; the
 * docs/performance.md profile summaries were made with bench/profile-summary.ts.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { processCpuSeconds } from './lib/cpu.js';
import { benchFileName, generateFile } from './lib/data.js';
import { appConfig, ROOT } from './lib/handler-env.js';
import { contextFor, parseOptions } from './lib/options.js';
import { benchStack, ingestThroughPipeline, stopBenchStack } from './lib/stack.js';

const [rowsText = '100000', output = 'bench/results/ingest.cpuprofile'] = process.argv.slice(2);
const rows = Number(rowsText);
const context = contextFor(parseOptions([]), new URL('bench/results/work/', ROOT), (message) =>
  process.stderr.write(`${message}\n`),
);
const name = benchFileName(appConfig().dataset.name, rows);
const file = new URL(name, context.workDir);
await generateFile(file, rows);
const stack = await benchStack(context);
try {
  const pid = stack.emulators.dynamodb.pid;
  if (pid === undefined) throw new Error('dynalite runs in its own process here');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  const emulatorBefore = await processCpuSeconds(pid);
  const cpuBefore = process.cpuUsage();
  const ingestion = await ingestThroughPipeline(stack, file, `bench/${name}`, 1_200_000);
  const cpu = process.cpuUsage(cpuBefore);
  const emulator = (await processCpuSeconds(pid)) - emulatorBefore;
  const { profile } = await session.post('Profiler.stop');
  await writeFile(output, JSON.stringify(profile));
  session.disconnect();
  process.stdout.write(
    `${JSON.stringify({
      rows,
      seconds: ingestion.elapsedMs / 1000,
      phases: ingestion.phases,
      chunks: ingestion.output.chunks,
      stackCpuSeconds: (cpu.user + cpu.system) / 1e6,
      emulatorCpuSeconds: emulator,
      profile: output,
    })}\n`,
  );
} finally {
  await stopBenchStack();
}
