import type { TableRow } from './results.js';

const HEADINGS = ['suite', 'measure', 'value', 'versus', 'result', 'goal', ''] as const;

/** Renders rows as an aligned plain-text table (no colours, so it pastes into Markdown). */
export function formatTable(rows: readonly TableRow[]): string {
  const cells = rows.map((row) => [
    row.suite,
    row.measure,
    row.value,
    row.versus,
    row.result,
    row.goal,
    row.met === undefined ? '' : row.met ? 'ok' : 'MISSED',
  ]);
  const widths = HEADINGS.map((heading, column) =>
    Math.max([...heading].length, ...cells.map((line) => [...(line[column] ?? '')].length)),
  );
  const render = (line: readonly string[]): string =>
    line
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '─'.repeat(width)).join('  ');
  return [render(HEADINGS), rule, ...cells.map(render)].join('\n');
}

/** Formats a number with thousands separators and at most `digits` decimals. */
export function formatNumber(value: number, digits = 0): string {
  return value.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: 0,
  });
}
