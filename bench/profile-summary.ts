/**
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [top]`: the top self-time
 * functions of a V8 CPU profile (from bench/profile-ingest.ts, the load-cpu child with
 * BENCH_CPU_PROFILE, or `node --cpu-prof`), and the self time by package or file, as
 * shares of the busy (non-idle) time. The tables in docs/performance.md come from it.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [path, topText = '25'] = process.argv.slice(2);
if (!path) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
const profile = JSON.parse(await readFile(path, 'utf8')) as Profile;
const selfMicros = new Map<number, number>();
profile.samples.forEach((id, at) => {
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[at] ?? 0));
});

/** `@smithy/core`, `node:`, or the repository path of the file. */
function origin(url: string): string {
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency?.[1]) return dependency[1];
  if (url.startsWith('node:')) return 'node:';
  return url.replace(/^file:\/\/.*?\/(handlers|bench|local)\//, '$1/') || '(native)';
}

const byFunction = new Map<string, number>();
const byOrigin = new Map<string, number>();
let busy = 0;
for (const node of profile.nodes) {
  const micros = selfMicros.get(node.id) ?? 0;
  const { functionName, url, lineNumber } = node.callFrame;
  if (functionName === '(idle)' || functionName === '(program)') continue;
  busy += micros;
  const where = url === '' ? '' : ` ${origin(url)}:${lineNumber + 1}`;
  const name = `${functionName || '(anonymous)'}${where}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
  const group = url === '' ? functionName : origin(url);
  byOrigin.set(group, (byOrigin.get(group) ?? 0) + micros);
}

const table = (entries: Map<string, number>, top: number) =>
  [...entries]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(
      ([name, micros]) =>
        `| ${((micros / busy) * 100).toFixed(1)}% | ${Math.round(micros / 1000)} ms | \`${name}\` |`,
    )
    .join('\n');

process.stdout.write(
  `busy (not idle) ${Math.round(busy / 1000)} ms\n\n| share | self time | function |\n| ---: | ---: | --- |\n${table(byFunction, Number(topText))}\n\n| share | self time | package or file |\n| ---: | ---: | --- |\n${table(byOrigin, 12)}\n`,
);
