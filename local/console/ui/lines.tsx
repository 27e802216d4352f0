import { useEffect, useState } from 'preact/hooks';
import type { LinesView } from '../model.js';
import { api } from './client.js';
import { Card } from './components.js';
import { bytes, count } from './format.js';
import { href, navigate } from './router.js';

/** A window of a file's lines, numbered as the planner numbers them (a chunk, or around a line). */
export function LinesPage({ params }: { params: URLSearchParams }) {
  const [view, setView] = useState<LinesView>();
  const [problem, setProblem] = useState<string>();
  const key = params.get('key') ?? '';
  const highlight = Number(params.get('line') ?? 0);
  const search = params.toString();
  useEffect(() => {
    setView(undefined);
    setProblem(undefined);
    const request: Record<string, string> = {};
    for (const [name, value] of new URLSearchParams(search)) request[name] = value;
    api.lines(request).then(setView, (error: Error) => setProblem(error.message));
  }, [search]);
  const last = view ? view.firstLine + view.lines.length - 1 : 0;
  return (
    <div class="page lines">
      <nav class="crumbs">
        <a href={href(['executions'])}>Executions</a> <span>›</span>{' '}
        <button type="button" class="link" onClick={() => history.back()}>
          back
        </button>
      </nav>
      <Card
        title={
          <>
            <span class="mono">{key}</span>
            {view && view.lines.length > 0 ? (
              <span class="muted">
                {' '}
                · lines {count(view.firstLine)}–{count(last)} · bytes {count(view.start)}–
                {count(view.end)} of {bytes(view.objectSize)}
              </span>
            ) : null}
          </>
        }
        actions={
          view?.next ? (
            <button
              type="button"
              class="button small"
              onClick={() => {
                const next = new URLSearchParams(search);
                next.delete('line');
                next.set('start', String(view.next?.start));
                next.set('firstLine', String(view.next?.firstLine));
                navigate(`#/lines?${next.toString()}`);
              }}
            >
              Next lines →
            </button>
          ) : null
        }
      >
        {problem ? <div class="notice notice-error">{problem}</div> : null}
        {!view && !problem ? <div class="muted">Reading…</div> : null}
        {view ? (
          <div class="code" data-testid="lines">
            {view.lines.map((line, index) => {
              const number = view.firstLine + index;
              return (
                <div
                  key={number}
                  class={`code-line${number === highlight ? ' highlight' : ''}`}
                  data-line={number}
                >
                  <span class="gutter">{number}</span>
                  <span class="text">{line === '' ? ' ' : line}</span>
                </div>
              );
            })}
          </div>
        ) : null}
      </Card>
    </div>
  );
}
