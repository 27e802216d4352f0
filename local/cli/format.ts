/** Small terminal formatting helpers shared by `npm start` and the CLI. */

/** A text progress bar of `width` cells. */
export function progressBar(done: number, total: number | undefined, width = 24): string {
  if (total === undefined || total === 0) return `[${'·'.repeat(width)}]`;
  const filled = Math.min(width, Math.round((done / total) * width));
  return `[${'█'.repeat(filled)}${'·'.repeat(width - filled)}]`;
}

/** Milliseconds as a short human duration (850ms, 12.3s, 2m05s). */
export function duration(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes}m${String(seconds).padStart(2, '0')}s`;
}

/** Renders rows as an aligned text table with a header rule. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '─'.repeat(width))), ...rows.map(line)].join(
    '\n',
  );
}

/** Shortens text to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  const single = text.replace(/\s+/g, ' ').trim();
  return single.length <= max ? single : `${single.slice(0, max - 1)}…`;
}

/** A number with thousands separators. */
export function count(value: number): string {
  return value.toLocaleString('en-US');
}

/**
 * The readable part of a Step Functions `cause`: a Lambda error payload's
 * errorMessage, or the cause itself.
 */
export function readableCause(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the cause is already text
  }
  return cause;
}

// Node 21+ has JSON.rawJSON and the reviver's source text; the ES2024 lib types neither.
const { rawJSON } = JSON as unknown as { rawJSON(text: string): unknown };

/**
 * Indents a JSON text for reading without changing any number in it: a 19-digit
 * integer or `1.50` is printed exactly as the API sent it, not rounded through a
 * double. Text that is not JSON is returned as it is.
 */
export function prettyJson(text: string): string {
  try {
    const exact = JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
      typeof value === 'number' && context?.source !== undefined ? rawJSON(context.source) : value,
    ) as unknown;
    return JSON.stringify(exact, null, 2);
  } catch {
    return text;
  }
}
