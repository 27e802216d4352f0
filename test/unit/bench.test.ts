import { parseOptions } from '../../bench/lib/options.js';
import {
  type BenchResults,
  describeGoal,
  GOALS,
  meets,
  toLatestJson,
} from '../../bench/lib/results.js';
import { median, ratio, round } from '../../bench/lib/stats.js';
import { escapeXml, formatValue, renderChart } from '../../bench/lib/svg.js';
import { formatTable } from '../../bench/lib/table.js';

const RESULTS: BenchResults = {
  ingest: { rows: 200_000, pipelineRowsPerSec: 9000, rawRowsPerSec: 10_000, ratio: 0.9 },
  parse: { rowsPerSec: 300_000, rawRowsPerSec: 400_000, ratio: 0.75 },
  memory: { baseMb: 80, largeMb: 88, ratio: 1.1 },
  api: { rps: 900, p50Ms: 9, p99Ms: 30, noAuthP99Ms: 28, authP99Ratio: 1.07, batchSpeedup: 25 },
  bundles: {
    'plan-file': { bytes: 120_000, importMs: 60 },
    api: { bytes: 300_000, importMs: 90 },
  },
};

describe('bench statistics', () => {
  it.each([
    [[5], 5],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
    [[10, 10, 1000], 10],
  ])('median of %j is %d', (values, expected) => {
    expect(median(values)).toBe(expected);
  });

  it('refuses the median of an empty list', () => {
    expect(() => median([])).toThrow(RangeError);
  });

  it('rounds to the requested decimals', () => {
    expect(round(1.23456, 2)).toBe(1.23);
    expect(round(1.23456, 0)).toBe(1);
  });

  it.each([
    ['zero', 0],
    ['NaN', Number.NaN],
    ['an infinite', Number.POSITIVE_INFINITY],
  ])('refuses a ratio over %s denominator', (_name, denominator) => {
    expect(() => ratio(1, denominator)).toThrow(/cannot form a ratio/);
  });
});

describe('latest.json shape', () => {
  it('keeps exactly the keys of issue 7, whatever extra fields a suite returns', () => {
    const noisy = {
      ...RESULTS,
      parse: { ...RESULTS.parse, plannerMbPerSec: 12 },
      api: { ...RESULTS.api, extra: true },
    } as BenchResults;
    const latest = toLatestJson(noisy);
    expect(Object.keys(latest)).toEqual(['ingest', 'parse', 'memory', 'api', 'bundles']);
    expect(Object.keys(latest.ingest)).toEqual([
      'rows',
      'pipelineRowsPerSec',
      'rawRowsPerSec',
      'ratio',
    ]);
    expect(Object.keys(latest.parse)).toEqual(['rowsPerSec', 'rawRowsPerSec', 'ratio']);
    expect(Object.keys(latest.memory)).toEqual(['baseMb', 'largeMb', 'ratio']);
    expect(Object.keys(latest.api)).toEqual([
      'rps',
      'p50Ms',
      'p99Ms',
      'noAuthP99Ms',
      'authP99Ratio',
      'batchSpeedup',
    ]);
    expect(Object.keys(latest.bundles)).toEqual(['api', 'plan-file']);
    expect(Object.keys(latest.bundles.api ?? {})).toEqual(['bytes', 'importMs']);
  });
});

describe('goals', () => {
  it.each([
    ['atLeast', 0.8, 0.8, true],
    ['atLeast', 0.8, 0.79, false],
    ['atMost', 1.25, 1.25, true],
    ['atMost', 1.25, 1.26, false],
    ['atMost', 1.25, Number.NaN, false],
  ] as const)('a %s %d goal with %d is met: %s', (kind, limit, value, expected) => {
    expect(meets({ kind, limit }, value)).toBe(expected);
  });

  it('reads goals the way the issue states them', () => {
    expect(describeGoal({ kind: 'atLeast', limit: 0.8, unit: '×' })).toBe('≥ 0.8');
    expect(describeGoal({ kind: 'atMost', limit: 150, unit: 'ms' })).toBe('≤ 150 ms');
  });

  it('picks each figure from a result set', () => {
    expect(GOALS.map((goal) => goal.pick(RESULTS))).toEqual([0.9, 0.75, 1.1, 1.07, 25, 300, 90]);
  });

  it('treats a missing api bundle as a missed goal, not as zero bytes', () => {
    const withoutApi = { ...RESULTS, bundles: { 'plan-file': { bytes: 1, importMs: 1 } } };
    const bundleGoal = GOALS.find((goal) => goal.label.includes('api bundle'));
    expect(bundleGoal && meets(bundleGoal, bundleGoal.pick(withoutApi))).toBe(false);
  });
});

describe('printed table', () => {
  it('aligns columns and marks missed goals', () => {
    const table = formatTable([
      {
        suite: 'parse',
        measure: 'chunk logic',
        value: '300,000 rows/s',
        versus: '400,000 rows/s',
        result: '0.75×',
        goal: '≥ 0.6',
        met: true,
      },
      { suite: 'memory', measure: 'x', value: '1', versus: '', result: '', goal: '', met: false },
    ]);
    const lines = table.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^suite\s+measure\s+value\s+versus\s+result\s+goal$/);
    expect(lines[2]).toMatch(/0\.75×\s+≥ 0\.6\s+ok$/);
    expect(lines[3]).toMatch(/MISSED$/);
    // Every "value" cell starts in the same column.
    const column = lines[0]?.indexOf('value');
    expect(lines[2]?.indexOf('300,000')).toBe(column);
  });
});

describe('chart', () => {
  it('draws one bar per goal, coloured by whether it is met', () => {
    const svg = renderChart(
      { ...RESULTS, memory: { ...RESULTS.memory, ratio: 2 } },
      'npm run bench · test',
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(GOALS.length);
    expect(svg).toContain('fill="#c62828">2×  (≤ 1.25)</text>');
    expect(svg).toContain('fill="#2e7d32">0.9×  (≥ 0.8)</text>');
    expect(svg).toContain('npm run bench · test');
  });

  it('escapes text so labels cannot break the markup', () => {
    expect(escapeXml(`<a & "b" 'c'>`)).toBe('&#60;a &#38; &#34;b&#34; &#39;c&#39;&#62;');
  });

  it.each([
    [0.8123, '0.812'],
    [1234.5, '1,235'],
    [Number.NaN, 'n/a'],
  ])('formats %d as %s', (value, expected) => {
    expect(formatValue(value)).toBe(expected);
  });
});

describe('command line', () => {
  it('runs every suite at full size by default', () => {
    expect(parseOptions([])).toEqual({
      quick: false,
      suites: ['bundles', 'parse', 'memory', 'ingest', 'api'],
      rows: undefined,
    });
  });

  it('accepts --quick, --only and --rows', () => {
    expect(parseOptions(['--quick', '--only', 'parse,memory', '--rows', '5000'])).toEqual({
      quick: true,
      suites: ['parse', 'memory'],
      rows: 5000,
    });
  });

  it.each([
    [['--only', 'speed'], /unknown suite "speed"/],
    [['--rows', '12x'], /--rows must be an integer/],
    [['--fast'], /Unknown option '--fast'/],
  ])('rejects %j with a usage message', (argv, message) => {
    expect(() => parseOptions(argv)).toThrow(message);
  });
});
