import { useRef, useState } from 'preact/hooks';
import type { HttpStep, RecordsResult } from '../model.js';
import { api } from './client.js';
import { Card, CopyButton } from './components.js';
import { duration } from './format.js';
import { JsonText, JsonValue, parseExact, prettyExact } from './json.js';
import { useKeys } from './keys.js';
import { useStore } from './store.js';

/**
 * Reads records through the real HTTPS API, as a client does: a token from the
 * local issuer, then the API. Shows both exchanges with the curl that repeats them.
 */
export function RecordsPage() {
  const { config } = useStore();
  const [name, setName] = useState(config.dataset.name);
  const dataset = config.datasets.find((d) => d.name === name) ?? config.dataset;
  const [key, setKey] = useState('');
  const [limit, setLimit] = useState(25);
  const [result, setResult] = useState<RecordsResult>();
  const [mode, setMode] = useState<'get' | 'list'>();
  const [cursors, setCursors] = useState<readonly (string | undefined)[]>([]);
  const [problem, setProblem] = useState<string>();
  const [busy, setBusy] = useState(false);
  const keyBox = useRef<HTMLInputElement>(null);
  useKeys((event) => {
    if (event.key === '/') {
      event.preventDefault();
      keyBox.current?.focus();
    }
  });

  const run = async (work: () => Promise<RecordsResult>) => {
    setBusy(true);
    setProblem(undefined);
    try {
      setResult(await work());
    } catch (error) {
      setProblem((error as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const get = () => {
    if (key.trim() === '') return;
    setMode('get');
    void run(() => api.record(dataset.name, key.trim()));
  };
  const list = (cursor?: string, history: readonly (string | undefined)[] = []) => {
    setMode('list');
    setCursors(history);
    void run(() => api.records(dataset.name, limit, cursor));
  };
  const nextCursor = mode === 'list' && result ? cursorOf(result.body) : undefined;
  const choose = (next: string) => {
    // Another dataset: another key and other columns, so the last answer goes.
    setName(next);
    setKey('');
    setResult(undefined);
    setMode(undefined);
    setCursors([]);
    setProblem(undefined);
  };

  return (
    <div class="page records">
      <Card title={`Records · ${dataset.name} (table ${dataset.table})`}>
        <div class="toolbar">
          {config.datasets.length > 1 ? (
            <>
              <label class="inline">
                dataset
                <select
                  value={dataset.name}
                  data-testid="records-dataset"
                  disabled={busy}
                  onChange={(event) => choose((event.target as HTMLSelectElement).value)}
                >
                  {config.datasets.map((d) => (
                    <option key={d.name} value={d.name}>
                      {d.name}
                    </option>
                  ))}
                </select>
              </label>
              <span class="muted">·</span>
            </>
          ) : null}
          <form
            class="inline-form"
            onSubmit={(event) => {
              event.preventDefault();
              get();
            }}
          >
            <label class="inline">
              {dataset.key}
              <input
                ref={keyBox}
                type="text"
                class="key-input mono"
                placeholder={`${dataset.keyType === 'N' ? 'a number' : 'a string'}: the ${dataset.key} of a record`}
                value={key}
                data-testid="record-key"
                onInput={(event) => setKey((event.target as HTMLInputElement).value)}
              />
            </label>
            <button type="submit" class="button primary" disabled={busy} data-action="get-record">
              Get
            </button>
          </form>
          <span class="muted">or</span>
          <form
            class="inline-form"
            onSubmit={(event) => {
              event.preventDefault();
              list();
            }}
          >
            <label class="inline">
              page size
              <select
                value={limit}
                onChange={(event) => setLimit(Number((event.target as HTMLSelectElement).value))}
              >
                {[10, 25, 100].map((size) => (
                  <option key={size} value={size}>
                    {size}
                  </option>
                ))}
              </select>
            </label>
            <button type="submit" class="button" disabled={busy} data-action="list-records">
              List the table
            </button>
          </form>
        </div>
      </Card>

      {problem ? <div class="notice notice-error">{problem}</div> : null}

      {result ? (
        <>
          <Card
            title={
              <>
                Answer{' '}
                <span class={`http-status http-${Math.floor(result.status / 100)}xx`}>
                  HTTP {result.status}
                </span>
              </>
            }
            actions={
              mode === 'list' ? (
                <>
                  <button
                    type="button"
                    class="button small"
                    disabled={busy || cursors.length === 0}
                    onClick={() => list(cursors[cursors.length - 1], cursors.slice(0, -1))}
                  >
                    ← Previous page
                  </button>
                  <button
                    type="button"
                    class="button small"
                    disabled={busy || !nextCursor}
                    data-action="next-page"
                    onClick={() => list(nextCursor, [...cursors, currentCursor(result)])}
                  >
                    Next page →
                  </button>
                </>
              ) : null
            }
          >
            {mode === 'list' && result.status === 200 ? (
              <RecordsTable
                body={result.body}
                columns={dataset.columns}
                page={cursors.length + 1}
              />
            ) : (
              <pre class="json-plain" data-testid="record-body">
                {prettyExact(result.body)}
              </pre>
            )}
          </Card>
          <Card title="How the console asked (paste these to do the same)">
            <ol class="steps" data-testid="token-flow">
              {result.steps.map((step, index) => (
                <Step key={step.title} step={step} index={index} />
              ))}
            </ol>
            {result.claims ? (
              <>
                <h3>
                  The access token's claims (a JWT; the API checked its signature, issuer, audience
                  and scope)
                </h3>
                <JsonValue value={result.claims} open={1} />
              </>
            ) : null}
          </Card>
        </>
      ) : null}
    </div>
  );
}

function Step({ step, index }: { step: HttpStep; index: number }) {
  return (
    <li class="step-item" data-step-index={index}>
      <div class="step-head">
        <strong>
          {index + 1}. {step.title}
        </strong>
        <span class={`http-status http-${Math.floor(step.status / 100)}xx`}>
          {step.status === 0 ? 'no answer' : `HTTP ${step.status}`}
        </span>
        <span class="muted mono">{duration(step.durationMs)}</span>
      </div>
      <div class="curl">
        <pre class="mono" data-testid="curl">
          {step.curl}
        </pre>
        <CopyButton text={step.curl} />
      </div>
      <details>
        <summary>
          {step.method} {step.url} → response
        </summary>
        <dl class="kv">
          {Object.entries(step.headers).map(([name, value]) => (
            <div class="kv-item" key={name}>
              <dt>{name}</dt>
              <dd class="mono">{value}</dd>
            </div>
          ))}
        </dl>
        <JsonText text={step.body} open={1} />
      </details>
    </li>
  );
}

function RecordsTable({
  body,
  columns,
  page,
}: {
  body: string;
  columns: readonly string[];
  page: number;
}) {
  const parsed = parseExact(body);
  const items =
    parsed &&
    typeof parsed === 'object' &&
    !Array.isArray(parsed) &&
    Array.isArray((parsed as Record<string, unknown>).items)
      ? ((parsed as Record<string, unknown>).items as unknown[])
      : [];
  return (
    <>
      <div class="muted">
        Page {page}: {items.length} record(s)
      </div>
      <div class="scroll-x">
        <table class="table compact" aria-label="Records" data-testid="records-table">
          <thead>
            <tr>
              {columns.map((column) => (
                <th key={column}>{column}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {items.map((item, index) => (
              <tr key={index}>
                {columns.map((column) => {
                  const value = (item as Record<string, unknown>)[column];
                  return (
                    <td key={column} class="mono">
                      {value === undefined ? '' : cell(value)}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function cell(value: unknown): string {
  if (value !== null && typeof value === 'object' && 'source' in value)
    return String((value as { source: string }).source);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function cursorOf(body: string): string | undefined {
  try {
    const cursor = (JSON.parse(body) as { cursor?: unknown }).cursor;
    return typeof cursor === 'string' ? cursor : undefined;
  } catch {
    return undefined;
  }
}

/** The cursor that fetched the page shown (from the API call's URL). */
function currentCursor(result: RecordsResult): string | undefined {
  const url = result.steps[result.steps.length - 1]?.url;
  if (!url) return undefined;
  return new URL(url).searchParams.get('cursor') ?? undefined;
}
