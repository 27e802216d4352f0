import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ConsoleConfig, ConsoleEvent, ExecutionSummary } from '../model.js';
import { api, type Connection, follow } from './client.js';
import { DlqPage } from './dlq.js';
import { ExecutionPage } from './execution.js';
import { ExecutionsPage } from './executions.js';
import { FilesPage } from './files.js';
import { SHORTCUTS, useKeys } from './keys.js';
import { LinesPage } from './lines.js';
import { RecordsPage } from './records.js';
import { href, navigate, useRoute } from './router.js';
import { mergeExecution, type Store, StoreContext } from './store.js';

type Theme = 'light' | 'dark';

function initialTheme(): Theme {
  const saved = localStorage.getItem('console-theme');
  if (saved === 'light' || saved === 'dark') return saved;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** The console: loads the configuration, follows the event stream, routes to a page. */
export function App() {
  const [config, setConfig] = useState<ConsoleConfig>();
  const [failure, setFailure] = useState<string>();
  const [executions, setExecutions] = useState<readonly ExecutionSummary[]>([]);
  const [connection, setConnection] = useState<Connection>('connecting');
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const [help, setHelp] = useState(false);
  const listeners = useRef(new Set<(event: ConsoleEvent) => void>());
  const route = useRoute();

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('console-theme', theme);
  }, [theme]);

  useEffect(() => {
    api.config().then(setConfig, (error: Error) => setFailure(error.message));
    const load = () => api.executions().then(setExecutions, () => undefined);
    load();
    return follow(
      (event) => {
        if (event.type === 'execution') setExecutions((list) => mergeExecution(list, event.data));
        for (const listener of listeners.current) listener(event);
      },
      setConnection,
      load,
    );
  }, []);

  const subscribe = useCallback((listener: (event: ConsoleEvent) => void) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);

  const pending = useRef<string | undefined>(undefined);
  useKeys((event) => {
    if (pending.current === 'g') {
      pending.current = undefined;
      const target = { e: 'executions', f: 'files', d: 'dlq', r: 'records' }[event.key];
      if (target) {
        event.preventDefault();
        navigate(href([target]));
      }
      return;
    }
    if (event.key === 'g') {
      pending.current = 'g';
      setTimeout(() => {
        pending.current = undefined;
      }, 1200);
    } else if (event.key === 't') setTheme((value) => (value === 'dark' ? 'light' : 'dark'));
    else if (event.key === '?') setHelp((value) => !value);
    else if (event.key === 'Escape') setHelp(false);
  });

  const store: Store | undefined = useMemo(
    () => (config ? { config, executions, connection, subscribe } : undefined),
    [config, executions, connection, subscribe],
  );

  const [page = 'executions', ...rest] = route.segments;
  const running = executions.filter((execution) => execution.status === 'RUNNING').length;

  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href={href(['executions'])}>
          <span class="brand-mark" aria-hidden="true" />
          ingest console
        </a>
        <nav class="tabs" aria-label="Pages">
          <Tab page="executions" current={page} label="Executions" keys="g e">
            {running > 0 ? <span class="pill pill-running">{running} running</span> : null}
          </Tab>
          <Tab page="files" current={page} label="Files" keys="g f" />
          <Tab page="dlq" current={page} label="Dead-letter queue" keys="g d" />
          <Tab page="records" current={page} label="Records" keys="g r" />
        </nav>
        <div class="topbar-right">
          {config && !config.canChange ? (
            <span
              class="pill pill-warn"
              title="Open the URL npm start printed (with ?token=…) to upload and redrive"
            >
              read-only
            </span>
          ) : null}
          <span class={`live live-${connection}`} data-connection={connection}>
            {connection === 'live' ? 'live' : connection}
          </span>
          <button
            type="button"
            class="icon-button"
            title="Light / dark (t)"
            onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
          >
            {theme === 'dark' ? '☀' : '☾'}
          </button>
          <button
            type="button"
            class="icon-button"
            title="Keyboard shortcuts (?)"
            onClick={() => setHelp(true)}
          >
            ?
          </button>
        </div>
      </header>
      <main class="content">
        {failure ? (
          <div class="notice notice-error">The console server did not answer: {failure}</div>
        ) : !store ? (
          <div class="muted">Loading…</div>
        ) : (
          <StoreContext.Provider value={store}>
            {page === 'executions' && rest[0] ? (
              <ExecutionPage key={rest[0]} name={rest[0]} />
            ) : page === 'files' ? (
              <FilesPage />
            ) : page === 'dlq' ? (
              <DlqPage />
            ) : page === 'records' ? (
              <RecordsPage />
            ) : page === 'lines' ? (
              <LinesPage params={route.params} />
            ) : (
              <ExecutionsPage params={route.params} />
            )}
          </StoreContext.Provider>
        )}
      </main>
      {help ? <Help onClose={() => setHelp(false)} /> : null}
    </div>
  );
}

function Tab({
  page,
  current,
  label,
  keys,
  children,
}: {
  page: string;
  current: string;
  label: string;
  keys: string;
  children?: ComponentChildren;
}) {
  const active = page === current || (page === 'executions' && current === 'lines');
  return (
    <a
      class={`tab${active ? ' tab-active' : ''}`}
      href={href([page])}
      aria-current={active ? 'page' : undefined}
      title={`${label} (${keys})`}
    >
      {label}
      {children}
    </a>
  );
}

function Help({ onClose }: { onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => dialog.current?.showModal(), []);
  return (
    <dialog ref={dialog} class="dialog help" aria-label="Keyboard shortcuts" onClose={onClose}>
      <h2>Keyboard shortcuts</h2>
      <table class="table compact">
        <tbody>
          {SHORTCUTS.map(([keys, what]) => (
            <tr key={keys}>
              <td>
                {keys.split(' ').map((key) => (
                  <kbd key={key}>{key}</kbd>
                ))}
              </td>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form method="dialog" class="dialog-actions">
        <button type="submit" class="button">
          Close
        </button>
      </form>
    </dialog>
  );
}
