import type { ComponentChildren } from 'preact';

// JSON shown as a collapsible tree (native <details>: keyboard and screen reader
// friendly). Numbers keep the digits they were sent with: a 19-digit integer is
// not rounded through a double. Strings that hold JSON (a state's input, a
// cause) open as trees too.

/** A number as it was written in the JSON text. */
class ExactNumber {
  constructor(readonly source: string) {}
}

type Value = null | boolean | string | ExactNumber | Value[] | { [key: string]: Value };

/** Parses JSON, keeping each number's source text; undefined when it is not JSON. */
export function parseExact(text: string): Value | undefined {
  try {
    return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
      typeof value === 'number' ? new ExactNumber(context?.source ?? String(value)) : value,
    ) as Value;
  } catch {
    return undefined;
  }
}

/** Indented JSON text with the numbers as sent. */
export function prettyExact(text: string): string {
  const value = parseExact(text);
  if (value === undefined) return text;
  const write = (node: Value, indent: string): string => {
    if (node instanceof ExactNumber) return node.source;
    if (node === null || typeof node !== 'object') return JSON.stringify(node);
    const inner = `${indent}  `;
    if (Array.isArray(node)) {
      if (node.length === 0) return '[]';
      return `[\n${node.map((item) => inner + write(item, inner)).join(',\n')}\n${indent}]`;
    }
    const entries = Object.entries(node);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([key, item]) => `${inner}${JSON.stringify(key)}: ${write(item, inner)}`).join(',\n')}\n${indent}}`;
  };
  return write(value, '');
}

function looksLikeJson(text: string): boolean {
  const trimmed = text.trim();
  return (
    (trimmed.startsWith('{') && trimmed.endsWith('}')) ||
    (trimmed.startsWith('[') && trimmed.endsWith(']'))
  );
}

function fromPlain(value: unknown): Value {
  if (typeof value === 'number') return new ExactNumber(String(value));
  if (Array.isArray(value)) return value.map(fromPlain);
  if (typeof value === 'object' && value !== null) {
    const out: { [key: string]: Value } = {};
    for (const [key, item] of Object.entries(value)) out[key] = fromPlain(item);
    return out;
  }
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return value;
  return String(value);
}

/** A JSON text as a tree; text that is not JSON is shown as it is. */
export function JsonText({ text, open = 1 }: { text: string; open?: number }) {
  const value = looksLikeJson(text) ? parseExact(text) : undefined;
  if (value === undefined) return <pre class="json-plain">{text}</pre>;
  return (
    <div class="json">
      <Node value={value} depth={0} open={open} />
    </div>
  );
}

/** A value the page already has (parsed) as a tree. */
export function JsonValue({ value, open = 1 }: { value: unknown; open?: number }) {
  return (
    <div class="json">
      <Node value={fromPlain(value)} depth={0} open={open} />
    </div>
  );
}

function Node({
  name,
  value,
  depth,
  open,
}: {
  name?: ComponentChildren;
  value: Value;
  depth: number;
  open: number;
}) {
  const label = name === undefined ? null : <span class="json-key">{name}: </span>;
  if (value instanceof ExactNumber)
    return (
      <div class="json-leaf">
        {label}
        <span class="json-number">{value.source}</span>
      </div>
    );
  if (value === null || typeof value === 'boolean')
    return (
      <div class="json-leaf">
        {label}
        <span class="json-literal">{String(value)}</span>
      </div>
    );
  if (typeof value === 'string') {
    const nested = looksLikeJson(value) ? parseExact(value) : undefined;
    if (typeof nested === 'object' && nested !== null && !(nested instanceof ExactNumber)) {
      return (
        <Branch
          label={label}
          value={nested}
          depth={depth}
          open={open}
          note={<span class="json-note">JSON text</span>}
        />
      );
    }
    return (
      <div class="json-leaf">
        {label}
        <span class="json-string">{JSON.stringify(value)}</span>
      </div>
    );
  }
  return <Branch label={label} value={value} depth={depth} open={open} />;
}

function Branch({
  label,
  value,
  depth,
  open,
  note,
}: {
  label: ComponentChildren;
  value: Value[] | { [key: string]: Value };
  depth: number;
  open: number;
  note?: ComponentChildren;
}) {
  const entries: [string, Value][] = Array.isArray(value)
    ? value.map((item, index) => [String(index), item])
    : Object.entries(value);
  const [start, end] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0)
    return (
      <div class="json-leaf">
        {label}
        <span class="json-punct">
          {start}
          {end}
        </span>
      </div>
    );
  const summary = Array.isArray(value) ? `${entries.length} items` : `${entries.length} keys`;
  return (
    <details class="json-branch" open={depth < open}>
      <summary>
        {label}
        <span class="json-punct">{start}</span>
        <span class="json-summary">
          {summary}
          {note ? ' · ' : ''}
          {note}
        </span>
        <span class="json-punct json-close-inline">{end}</span>
      </summary>
      <div class="json-children">
        {entries.map(([key, item]) => (
          <Node key={key} name={key} value={item} depth={depth + 1} open={open} />
        ))}
      </div>
      <span class="json-punct">{end}</span>
    </details>
  );
}
