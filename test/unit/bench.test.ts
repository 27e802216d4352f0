import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { generateBytes, headerEnd, STREAM_CHUNK_BYTES, streamOf } from '../../bench/lib/data.js';
import {
  acceptingDynamo,
  DOUBLE_ETAG,
  objectS3,
  type WriteCounter,
} from '../../bench/lib/doubles.js';
import { parseOptions } from '../../bench/lib/options.js';
import {
  type BenchResults,
  describeGoal,
  GOAL,
  GOALS,
  judge,
  meets,
  toLatestJson,
} from '../../bench/lib/results.js';
import { median, ratio, round } from '../../bench/lib/stats.js';
import { escapeXml, formatValue, renderChart } from '../../bench/lib/svg.js';
import { formatTable } from '../../bench/lib/table.js';
import { sdkItemWriter } from '../../handlers/load-chunk/item-writer.js';

const RESULTS: BenchResults = {
  ingest: [
    { rows: 100_000, pipelineRowsPerSec: 9000, rawRowsPerSec: 10_000, ratio: 0.9 },
    { rows: 1_000_000, pipelineRowsPerSec: 8500, rawRowsPerSec: 10_000, ratio: 0.85 },
  ],
  cpu: { stackCpuSecondsPer100kRows: 3.5, emulatorCpuSecondsPer100kRows: 9 },
  planner: { mbPerSec: 20, csvParseMbPerSec: 24, ratio: 0.83, rssMb: 90, csvParseRssMb: 72 },
  overlap: { rows: 100_000, rowsPerSec: 4000, staleKeys: 0 },
  parse: {
    rowsPerSec: 300_000,
    rawRowsPerSec: 400_000,
    ratio: 0.75,
    json: { rowsPerSec: 350_000, rawRowsPerSec: 500_000, ratio: 0.7 },
  },
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
  it('keeps exactly the keys of issues 7 and 10, whatever extra fields a suite returns', () => {
    const noisy = {
      ...RESULTS,
      parse: { ...RESULTS.parse, plannerMbPerSec: 12 },
      api: { ...RESULTS.api, extra: true },
    } as BenchResults;
    const latest = toLatestJson(noisy);
    expect(Object.keys(latest)).toEqual([
      'ingest',
      'cpu',
      'planner',
      'overlap',
      'parse',
      'memory',
      'api',
      'bundles',
    ]);
    expect(Object.keys(latest.overlap)).toEqual(['rows', 'rowsPerSec', 'staleKeys']);
    expect(latest.ingest.map((size) => Object.keys(size))).toEqual([
      ['rows', 'pipelineRowsPerSec', 'rawRowsPerSec', 'ratio'],
      ['rows', 'pipelineRowsPerSec', 'rawRowsPerSec', 'ratio'],
    ]);
    expect(Object.keys(latest.cpu)).toEqual([
      'stackCpuSecondsPer100kRows',
      'emulatorCpuSecondsPer100kRows',
    ]);
    expect(Object.keys(latest.planner)).toEqual([
      'mbPerSec',
      'csvParseMbPerSec',
      'ratio',
      'rssMb',
      'csvParseRssMb',
    ]);
    expect(Object.keys(latest.parse)).toEqual(['rowsPerSec', 'rawRowsPerSec', 'ratio', 'json']);
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
    expect(GOALS.map((goal) => goal.pick(RESULTS))).toEqual([
      0.85, 3.5, 0, 0.75, 0.7, 0.83, 1.25, 1.1, 1.07, 25, 300, 90,
    ]);
  });

  it.each([
    ['ingestRatio', 0.8, { goal: '≥ 0.8', met: true }],
    ['memoryRatio', 1.26, { goal: '≤ 1.25', met: false }],
    ['apiBundleSize', 500, { goal: '≤ 500 KB', met: true }],
    ['apiBundleSize', 500.001, { goal: '≤ 500 KB', met: false }],
    ['handlerImport', Number.NaN, { goal: '≤ 150 ms', met: false }],
    ['overlapStaleKeys', 0, { goal: '≤ 0 keys', met: true }],
    ['overlapStaleKeys', 1, { goal: '≤ 0 keys', met: false }],
  ] as const)(
    'judges a table row against the chart goal %s: %d gives %j',
    (name, value, columns) => {
      expect(judge(GOAL[name], value)).toEqual(columns);
    },
  );

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
    expect(svg).toContain('fill="#2e7d32">0.85×  (≥ 0.8)</text>');
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
      suites: ['bundles', 'parse', 'planner', 'memory', 'ingest', 'overlap', 'api'],
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

describe('bench data', () => {
  it('finds the end of the header line', () => {
    expect(headerEnd(Buffer.from('a,b\r\n1,2\r\n'))).toBe(5);
  });

  it('refuses a file without a line break', () => {
    expect(() => headerEnd(Buffer.from('a,b'))).toThrow(/no line break/);
  });

  it('streams bytes in 64 KiB pieces, the way an S3 body arrives', async () => {
    const bytes = Buffer.alloc(STREAM_CHUNK_BYTES * 2 + 10, 1);
    const sizes: number[] = [];
    for await (const chunk of streamOf(bytes)) sizes.push((chunk as Buffer).length);
    expect(sizes).toEqual([STREAM_CHUNK_BYTES, STREAM_CHUNK_BYTES, 10]);
  });

  it('generates the same rows for the same size, header first', async () => {
    const [first, second] = await Promise.all([generateBytes(50), generateBytes(50)]);
    expect(first.bytes.equals(second.bytes)).toBe(true);
    expect(first.rows).toBe(50);
    expect(first.bytes.subarray(0, first.dataStart).toString()).toMatch(/^isbn,title,/);
  });
});

describe('bench client doubles', () => {
  const bytes = Buffer.from('0123456789');

  it('answers HeadObject with the size and the ETag the loader sends back', async () => {
    const head = await objectS3({ kind: 'memory', bytes }).send(
      new HeadObjectCommand({ Bucket: 'b', Key: 'k' }),
    );
    expect(head).toMatchObject({ ContentLength: 10, ETag: DOUBLE_ETAG });
  });

  it.each([
    ['bytes=2-4', '234'],
    ['bytes=7-99', '789'],
    [undefined, '0123456789'],
  ])('serves Range %s as %s', async (range, expected) => {
    const got = await objectS3({ kind: 'memory', bytes }).send(
      new GetObjectCommand({ Bucket: 'b', Key: 'k', ...(range ? { Range: range } : {}) }),
    );
    const parts: Buffer[] = [];
    for await (const chunk of got.Body as AsyncIterable<Buffer>) parts.push(chunk);
    expect(Buffer.concat(parts).toString()).toBe(expected);
  });

  it('fails loudly on a command it does not model', async () => {
    await expect(
      objectS3({ kind: 'memory', bytes }).send(new DeleteObjectCommand({ Bucket: 'b', Key: 'k' })),
    ).rejects.toThrow(/does not answer DeleteObjectCommand/);
  });

  it('accepts every BatchWriteItem (in wire form, as the loader sends it) and counts its items', async () => {
    const counter: WriteCounter = { calls: 0, items: 0 };
    const writer = sdkItemWriter(acceptingDynamo(counter));
    const output = await writer.batchWriteItem({
      RequestItems: {
        t: [
          { PutRequest: { Item: { k: { N: '1' } } } },
          { PutRequest: { Item: { k: { N: '2' } } } },
        ],
      },
    });
    expect(output.UnprocessedItems).toEqual({});
    expect(counter).toEqual({ calls: 1, items: 2 });
  });
});
