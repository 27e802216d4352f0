import { type BenchResults, describeGoal, GOALS, meets } from './results.js';

/** A pair of figures measured side by side in the same run. */
interface Pair {
  readonly label: string;
  readonly unit: string;
  readonly measured: { readonly name: string; readonly value: number };
  readonly reference: { readonly name: string; readonly value: number };
}

const WIDTH = 820;
const LABEL_X = 16;
const BAR_X = 330;
const BAR_WIDTH = 380;
const ROW_HEIGHT = 34;
const COLOURS = {
  met: '#2e7d32',
  missed: '#c62828',
  measured: '#1565c0',
  reference: '#90a4ae',
  goal: '#212121',
  text: '#212121',
  muted: '#616161',
} as const;

/** The side-by-side pairs behind each ratio, in chart order. */
function pairsOf(results: BenchResults): Pair[] {
  return [
    ...results.ingest.map((size) => ({
      label: `ingest ${size.rows.toLocaleString('en-US')} rows (rows/s)`,
      unit: 'rows/s',
      measured: { name: 'pipeline', value: size.pipelineRowsPerSec },
      reference: { name: 'raw BatchWriteItem', value: size.rawRowsPerSec },
    })),
    {
      label: 'planner (MB/s)',
      unit: 'MB/s',
      measured: { name: 'planner', value: results.planner.mbPerSec },
      reference: { name: 'csv-parse alone', value: results.planner.csvParseMbPerSec },
    },
    {
      label: 'parse (rows/s)',
      unit: 'rows/s',
      measured: { name: 'chunk logic', value: results.parse.rowsPerSec },
      reference: { name: 'csv-parse alone', value: results.parse.rawRowsPerSec },
    },
    {
      label: 'memory (peak RSS, MB)',
      unit: 'MB',
      measured: { name: '10× file', value: results.memory.largeMb },
      reference: { name: 'base file', value: results.memory.baseMb },
    },
    {
      label: 'api p99 (ms)',
      unit: 'ms',
      measured: { name: 'with auth', value: results.api.p99Ms },
      reference: { name: 'auth skipped', value: results.api.noAuthP99Ms },
    },
  ];
}

/**
 * Renders the figures as a self-contained SVG: one bar per goal (green when met, red
 * when missed, the goal as a dashed line), then the measured pairs behind the ratios.
 */
export function renderChart(results: BenchResults, caption: string): string {
  const parts: string[] = [];
  let y = 36;
  parts.push(text(LABEL_X, y, 'Benchmarks: each figure against its goal', 18, 'bold'));
  y += 20;
  parts.push(text(LABEL_X, y, caption, 12, 'normal', COLOURS.muted));
  y += 24;

  for (const goal of GOALS) {
    const value = goal.pick(results);
    const met = meets(goal, value);
    const scale = Math.max(value, goal.limit) * 1.15 || 1;
    const barLength = Number.isFinite(value) ? (Math.max(value, 0) / scale) * BAR_WIDTH : 0;
    const goalX = BAR_X + (goal.limit / scale) * BAR_WIDTH;
    parts.push(text(LABEL_X, y + 20, goal.label, 13));
    parts.push(
      rect(BAR_X, y + 6, barLength, ROW_HEIGHT - 14, met ? COLOURS.met : COLOURS.missed),
      `<line x1="${fixed(goalX)}" y1="${y + 2}" x2="${fixed(goalX)}" y2="${y + ROW_HEIGHT - 4}" stroke="${COLOURS.goal}" stroke-width="2" stroke-dasharray="4 3"/>`,
      text(
        BAR_X + BAR_WIDTH + 12,
        y + 20,
        `${formatValue(value)}${goal.unit === '×' ? '×' : ` ${goal.unit}`}  (${describeGoal(goal)})`,
        12,
        'normal',
        met ? COLOURS.met : COLOURS.missed,
      ),
    );
    y += ROW_HEIGHT;
  }

  y += 18;
  parts.push(text(LABEL_X, y, 'Side by side, same run', 15, 'bold'));
  y += 10;
  for (const pair of pairsOf(results)) {
    const scale = Math.max(pair.measured.value, pair.reference.value) * 1.05 || 1;
    parts.push(text(LABEL_X, y + 26, pair.label, 13));
    for (const [index, side] of [pair.measured, pair.reference].entries()) {
      const barY = y + 8 + index * 18;
      const colour = index === 0 ? COLOURS.measured : COLOURS.reference;
      parts.push(
        rect(BAR_X, barY, (Math.max(side.value, 0) / scale) * BAR_WIDTH, 14, colour),
        text(
          BAR_X + BAR_WIDTH + 12,
          barY + 11,
          `${side.name}: ${formatValue(side.value)} ${pair.unit}`,
          11,
          'normal',
          COLOURS.muted,
        ),
      );
    }
    y += 48;
  }

  const height = y + 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH + 200}" height="${height}" viewBox="0 0 ${WIDTH + 200} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" role="img" aria-label="Benchmark results">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function rect(x: number, y: number, width: number, height: number, fill: string): string {
  return `<rect x="${fixed(x)}" y="${fixed(y)}" width="${fixed(width)}" height="${fixed(height)}" rx="2" fill="${fill}"/>`;
}

function text(
  x: number,
  y: number,
  content: string,
  size: number,
  weight: 'normal' | 'bold' = 'normal',
  fill: string = COLOURS.text,
): string {
  return `<text x="${fixed(x)}" y="${fixed(y)}" font-size="${size}" font-weight="${weight}" fill="${fill}">${escapeXml(content)}</text>`;
}

/** Numbers as they read on the chart: three significant figures, thousands separated. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(3)).toString();
}

/** Escapes the five XML special characters. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

function fixed(value: number): string {
  return Number(value.toFixed(1)).toString();
}
