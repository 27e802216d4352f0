import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ExecutionStatus, StateStatus } from '../model.js';
import { statusLabel } from './format.js';
import { useKeys } from './keys.js';

/** An execution's or a state's status as a coloured badge. */
export function StatusBadge({ status }: { status: ExecutionStatus | StateStatus }) {
  return (
    <span class={`badge status-${status}`} data-status={status}>
      {statusLabel(status)}
    </span>
  );
}

/** A thin bar: done (and running, failed) of total. */
export function Progress({
  done,
  total,
  running = 0,
  failed = 0,
}: {
  done: number;
  total: number | undefined;
  running?: number;
  failed?: number;
}) {
  const of = total && total > 0 ? total : 0;
  const part = (value: number) => `${of === 0 ? 0 : Math.min(100, (value / of) * 100)}%`;
  return (
    <span
      class="progress"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={of}
      aria-valuenow={done}
    >
      <span class="progress-done" style={{ width: part(done) }} />
      <span class="progress-running" style={{ width: part(running) }} />
      <span class="progress-failed" style={{ width: part(failed) }} />
    </span>
  );
}

/** A titled box. */
export function Card({
  title,
  actions,
  children,
  id,
}: {
  title: ComponentChildren;
  actions?: ComponentChildren;
  children: ComponentChildren;
  id?: string;
}) {
  return (
    <section class="card" id={id}>
      <header class="card-header">
        <h2>{title}</h2>
        {actions ? <div class="card-actions">{actions}</div> : null}
      </header>
      <div class="card-body">{children}</div>
    </section>
  );
}

/** A copy-to-clipboard button. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      class="button small"
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1200);
        });
      }}
    >
      {copied ? 'Copied' : label}
    </button>
  );
}

/**
 * j / k move a selection through `count` rows, Enter opens the selected one.
 * Returns the selected index and a setter (for mouse hover / click).
 */
export function useRowSelection(
  count: number,
  onOpen: (index: number) => void,
): [number, (index: number) => void] {
  const [selected, setSelected] = useState(-1);
  useKeys((event) => {
    if (count === 0) return;
    if (event.key === 'j' || event.key === 'ArrowDown') {
      event.preventDefault();
      setSelected((index) => Math.min(count - 1, index + 1));
    } else if (event.key === 'k' || event.key === 'ArrowUp') {
      event.preventDefault();
      setSelected((index) => Math.max(0, index - 1));
    } else if (event.key === 'Enter' && selected >= 0 && selected < count) {
      event.preventDefault();
      onOpen(selected);
    }
  });
  useEffect(() => {
    if (selected >= count) setSelected(count - 1);
  }, [count, selected]);
  useEffect(() => {
    document.querySelector('[data-selected="true"]')?.scrollIntoView({ block: 'nearest' });
  }, [selected]);
  return [selected, setSelected];
}

/** Re-renders every `ms` while `active` (running durations tick; the server is not asked). */
export function useTicker(active: boolean, ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (!active) return;
    timer.current = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(timer.current);
  }, [active, ms]);
  return now;
}

/** A set of open rows (by id) and a toggle: the expandable rows of the history and the DLQ. */
export function useOpenRows<T>(): [ReadonlySet<T>, (id: T) => void, (ids: Iterable<T>) => void] {
  const [open, setOpen] = useState<ReadonlySet<T>>(new Set());
  const toggle = (id: T) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  return [open, toggle, (ids) => setOpen(new Set(ids))];
}
