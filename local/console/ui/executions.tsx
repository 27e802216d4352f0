import { useEffect, useMemo, useRef } from 'preact/hooks';
import type { ExecutionStatus, ExecutionSummary } from '../model.js';
import { Progress, StatusBadge, useRowSelection, useTicker } from './components.js';
import { clock, count, dateTime, duration } from './format.js';
import { useKeys } from './keys.js';
import { href, navigate } from './router.js';
import { useStore } from './store.js';

const FILTERS: readonly {
  readonly id: string;
  readonly label: string;
  readonly statuses: readonly ExecutionStatus[];
}[] = [
  { id: '', label: 'All', statuses: [] },
  { id: 'RUNNING', label: 'Running', statuses: ['RUNNING'] },
  { id: 'SUCCEEDED', label: 'Succeeded', statuses: ['SUCCEEDED'] },
  { id: 'FAILED', label: 'Failed', statuses: ['FAILED'] },
  { id: 'STOPPED', label: 'Aborted / timed out', statuses: ['ABORTED', 'TIMED_OUT'] },
];

/** The live list of executions, filtered by status and searched by file. */
export function ExecutionsPage({ params }: { params: URLSearchParams }) {
  const { executions } = useStore();
  const filter =
    FILTERS.find((candidate) => candidate.id === (params.get('status') ?? '')) ?? FILTERS[0];
  const search = params.get('q') ?? '';
  const searchBox = useRef<HTMLInputElement>(null);
  const shown = useMemo(() => {
    const needle = search.toLowerCase();
    return executions.filter(
      (execution) =>
        (filter === undefined ||
          filter.statuses.length === 0 ||
          filter.statuses.includes(execution.status)) &&
        (needle === '' ||
          execution.file.toLowerCase().includes(needle) ||
          execution.name.toLowerCase().includes(needle)),
    );
  }, [executions, filter, search]);
  const now = useTicker(shown.some((execution) => execution.status === 'RUNNING'));
  const open = (index: number) => {
    const execution = shown[index];
    if (execution) navigate(href(['executions', execution.name]));
  };
  const [selected, setSelected] = useRowSelection(shown.length, open);
  const setParams = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [name, value] of Object.entries(changes)) {
      if (value === '') next.delete(name);
      else next.set(name, value);
    }
    const text = next.toString();
    navigate(`#/executions${text ? `?${text}` : ''}`, true);
  };
  useKeys((event) => {
    if (event.key === '/') {
      event.preventDefault();
      searchBox.current?.focus();
    }
  });
  useEffect(() => setSelected(-1), [filter, search, setSelected]);

  return (
    <div class="page">
      <div class="toolbar">
        <fieldset class="segmented">
          <legend class="visually-hidden">Filter by status</legend>
          {FILTERS.map((candidate) => {
            const matches = executions.filter(
              (execution) =>
                candidate.statuses.length === 0 || candidate.statuses.includes(execution.status),
            ).length;
            return (
              <button
                type="button"
                key={candidate.id}
                class={candidate === filter ? 'active' : ''}
                aria-pressed={candidate === filter}
                data-filter={candidate.id || 'ALL'}
                onClick={() => setParams({ status: candidate.id })}
              >
                {candidate.label} <span class="count">{matches}</span>
              </button>
            );
          })}
        </fieldset>
        <input
          ref={searchBox}
          class="search"
          type="search"
          placeholder="Search by file or execution name  ( / )"
          aria-label="Search by file"
          value={search}
          onInput={(event) => setParams({ q: (event.target as HTMLInputElement).value })}
          onKeyDown={(event) => {
            if (event.key === 'Escape') (event.target as HTMLInputElement).blur();
          }}
        />
      </div>
      {shown.length === 0 ? (
        <div class="empty">
          {executions.length === 0
            ? 'No executions yet. Upload a file on the Files page (g f) and it shows here as it loads.'
            : 'No execution matches.'}
        </div>
      ) : (
        <table class="table executions" aria-label="Executions">
          <thead>
            <tr>
              <th>Status</th>
              <th>File</th>
              <th class="num">Rows written / total</th>
              <th>Chunks done / total</th>
              <th>Started</th>
              <th class="num">Duration</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((execution, index) => (
              <Row
                key={execution.executionArn}
                execution={execution}
                now={now}
                selected={index === selected}
                onHover={() => setSelected(index)}
              />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Row({
  execution,
  now,
  selected,
  onHover,
}: {
  execution: ExecutionSummary;
  now: number;
  selected: boolean;
  onHover: () => void;
}) {
  const link = href(['executions', execution.name]);
  const elapsed =
    execution.status === 'RUNNING'
      ? Math.max(execution.durationMs, now - Date.parse(execution.startDate))
      : execution.durationMs;
  return (
    <tr
      class={`clickable${selected ? ' selected' : ''}`}
      data-execution={execution.name}
      data-file={execution.file}
      data-status={execution.status}
      data-selected={selected ? 'true' : undefined}
      onMouseEnter={onHover}
      onClick={(event) => {
        if ((event.target as HTMLElement).closest('a')) return;
        navigate(link);
      }}
    >
      <td>
        <StatusBadge status={execution.status} />
      </td>
      <td class="file">
        <a href={link} title={execution.name}>
          {execution.file}
        </a>
        {execution.redriveOf ? <span class="tag">redrive</span> : null}
      </td>
      <td class="num mono" data-cell="rows">
        {count(execution.rowsWritten)}
        {execution.rowsTotal === undefined ? '' : ` / ${count(execution.rowsTotal)}`}
      </td>
      <td class="chunks" data-cell="chunks">
        <Progress done={execution.chunksDone} total={execution.chunksTotal} />
        <span class="mono">
          {execution.chunksTotal === undefined
            ? execution.status === 'RUNNING'
              ? 'planning'
              : '—'
            : `${execution.chunksDone} / ${execution.chunksTotal}`}
        </span>
      </td>
      <td class="mono" title={dateTime(execution.startDate)}>
        {clock(execution.startDate)}
      </td>
      <td class="num mono">{duration(elapsed)}</td>
      <td class="error" data-cell="error" title={execution.errorMessage}>
        {execution.error ? (
          <>
            <strong>{execution.error}</strong> {execution.errorMessage}
          </>
        ) : null}
      </td>
    </tr>
  );
}
