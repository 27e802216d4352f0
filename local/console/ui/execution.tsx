import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ChunkView, ExecutionDetail, HistoryEventView } from '../model.js';
import { api } from './client.js';
import { Card, Progress, StatusBadge, useOpenRows, useTicker } from './components.js';
import { bytes, clock, count, dateTime, duration, nameOfArn } from './format.js';
import { WorkflowGraph } from './graph.js';
import { JsonText, JsonValue } from './json.js';
import { useKeys } from './keys.js';
import { href, navigate } from './router.js';
import { useConsoleEvent, useStore } from './store.js';

/** One execution: graph, Map progress and chunks, failure record, input/output, history. */
export function ExecutionPage({ name }: { name: string }) {
  const { config } = useStore();
  const [execution, setExecution] = useState<ExecutionDetail>();
  const [problem, setProblem] = useState<string>();
  const [selected, setSelected] = useState<string>();
  const loading = useRef<Promise<void> | undefined>(undefined);
  const again = useRef(false);

  // One request at a time; updates that arrive meanwhile ask for one more.
  const load = useCallback(() => {
    if (loading.current) {
      again.current = true;
      return;
    }
    loading.current = api
      .execution(name)
      .then(
        (detail) => {
          setExecution(detail);
          setProblem(undefined);
        },
        (error: Error) => setProblem(error.message),
      )
      .finally(() => {
        loading.current = undefined;
        if (again.current) {
          again.current = false;
          // A Map of many chunks sends many updates: refetch at most every 300 ms.
          setTimeout(load, 300);
        }
      });
  }, [name]);
  useEffect(load, [load]);
  useConsoleEvent('execution', (summary) => {
    if (summary.name === name) load();
  });
  useKeys((event) => {
    if (event.key === 'Escape') navigate(href(['executions']));
  });
  const now = useTicker(execution?.status === 'RUNNING');

  if (problem && !execution) return <div class="notice notice-error">{problem}</div>;
  if (!execution) return <div class="muted">Loading…</div>;

  const input = parseObject(execution.input);
  const file = parseObject(JSON.stringify(input?.file ?? {}));
  const upload = input?.upload;
  const focus =
    selected ??
    (execution.failure ? String(execution.failure.failure.state ?? '') : undefined) ??
    execution.map?.state;
  const elapsed =
    execution.status === 'RUNNING'
      ? Math.max(execution.durationMs, now - Date.parse(execution.startDate))
      : execution.durationMs;

  return (
    <div class="page execution" data-execution={execution.name} data-status={execution.status}>
      <nav class="crumbs">
        <a href={href(['executions'])}>Executions</a> <span>›</span> <span>{execution.file}</span>
      </nav>
      <header class="execution-header">
        <div class="title-line">
          <StatusBadge status={execution.status} />
          <h1>{execution.file}</h1>
        </div>
        <dl class="facts">
          <Fact label="Execution">
            <span class="mono">{execution.name}</span>
          </Fact>
          <Fact label="Started">
            <span class="mono" title={dateTime(execution.startDate)}>
              {clock(execution.startDate)}
            </span>
          </Fact>
          <Fact label="Duration">
            <span class="mono">{duration(elapsed)}</span>
          </Fact>
          <Fact label="Rows written">
            <span class="mono" data-fact="rows">
              {count(execution.rowsWritten)}
              {execution.rowsTotal === undefined ? '' : ` / ${count(execution.rowsTotal)}`}
            </span>
            {execution.rowsInFile !== undefined && execution.rowsInFile !== execution.rowsTotal ? (
              <span class="muted">
                {' '}
                ({count(execution.rowsInFile)} in the file,{' '}
                {count(execution.rowsInFile - (execution.rowsTotal ?? 0))} superseded by a later
                row)
              </span>
            ) : null}
          </Fact>
          <Fact label="Chunks">
            <span class="mono">
              {execution.chunksTotal === undefined
                ? '—'
                : `${execution.chunksDone} / ${execution.chunksTotal}`}
            </span>
          </Fact>
          {execution.redriveOf ? (
            <Fact label="Redrives">
              <a href={href(['executions', nameOfArn(execution.redriveOf)])}>
                {nameOfArn(execution.redriveOf)}
              </a>
            </Fact>
          ) : null}
        </dl>
        <KeyValues
          values={{ ...(file ?? {}), ...(isObject(upload) ? { upload } : {}) }}
          label="Input file"
        />
      </header>

      <div class="split">
        <Card title="Graph">
          <WorkflowGraph
            definition={config.definition}
            states={execution.states}
            {...(execution.map ? { map: execution.map } : {})}
            {...(focus ? { selected: focus } : {})}
            onSelect={setSelected}
          />
        </Card>
        <StepPanel execution={execution} definition={config.definition} state={focus} />
      </div>

      {execution.failure ? <FailureCard execution={execution} /> : null}
      {execution.map ? <MapCard execution={execution} eTag={String(file?.eTag ?? '')} /> : null}

      <div class="split even">
        <Card title="Input">
          <JsonText text={execution.input} open={2} />
        </Card>
        <Card title="Output">
          {execution.output ? (
            <JsonText text={execution.output} open={2} />
          ) : (
            <div class="muted">
              {execution.status === 'RUNNING' ? 'Not yet: the execution runs.' : 'None.'}
            </div>
          )}
        </Card>
      </div>

      <History events={execution.events} start={execution.startDate} />
    </div>
  );
}

function Fact({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** Fields of an object in a dense row (new input fields show up by themselves). */
function KeyValues({ values, label }: { values: Record<string, unknown>; label: string }) {
  const entries = Object.entries(values);
  if (entries.length === 0) return null;
  return (
    <dl class="kv" aria-label={label}>
      {entries.map(([key, value]) =>
        isObject(value) ? (
          Object.entries(value).map(([inner, innerValue]) => (
            <div class="kv-item" key={`${key}.${inner}`}>
              <dt>
                {key}.{inner}
              </dt>
              <dd class="mono">{String(innerValue)}</dd>
            </div>
          ))
        ) : (
          <div class="kv-item" key={key}>
            <dt>{key}</dt>
            <dd class="mono">
              {typeof value === 'number' && key === 'size' ? bytes(value) : String(value)}
            </dd>
          </div>
        ),
      )}
    </dl>
  );
}

/** The selected state: its status, definition, and latest input and output. */
function StepPanel({
  execution,
  definition,
  state,
}: {
  execution: ExecutionDetail;
  definition: string;
  state: string | undefined;
}) {
  const asl = useMemo(
    () => (state ? findState(JSON.parse(definition), state) : undefined),
    [definition, state],
  );
  if (!state || !asl)
    return (
      <Card title="Step">
        <div class="muted">Select a state in the graph (click, or Tab and Enter).</div>
      </Card>
    );
  let input: string | undefined;
  let output: string | undefined;
  for (const event of execution.events) {
    const entered = event.stateEnteredEventDetails as { name?: string; input?: string } | undefined;
    const exited = event.stateExitedEventDetails as { name?: string; output?: string } | undefined;
    if (entered?.name === state) input = entered.input;
    if (exited?.name === state) output = exited.output;
  }
  const status = execution.states[state] ?? 'NOT_STARTED';
  return (
    <Card title={`Step: ${state}`}>
      <div class="step" data-step={state}>
        <div class="step-line">
          <StatusBadge status={status} />
          <span class="muted">
            {String(asl.Type)} · entered {execution.entered[state] ?? 0}×
          </span>
        </div>
        {input !== undefined ? (
          <>
            <h3>Input (latest)</h3>
            <JsonText text={input} open={1} />
          </>
        ) : null}
        {output !== undefined ? (
          <>
            <h3>Output (latest)</h3>
            <JsonText text={output} open={1} />
          </>
        ) : null}
        <h3>Definition</h3>
        <JsonValue value={asl} open={1} />
      </div>
    </Card>
  );
}

/** The Map: iterations done, running, failed, retried, and each chunk with its lines. */
function MapCard({ execution, eTag }: { execution: ExecutionDetail; eTag: string }) {
  const map = execution.map;
  if (!map) return null;
  const summaryColumns = [
    ...new Set(execution.chunks.flatMap((chunk) => Object.keys(chunk.summary ?? {}))),
  ].filter((column) => column !== 'index');
  return (
    <Card
      title={`${map.state} (Map)`}
      actions={
        <span class="mono" data-testid="map-summary">
          {map.done}/{map.total ?? '?'} done · {map.running} running · {map.failed} failed ·{' '}
          {map.retried} retried
        </span>
      }
    >
      <Progress done={map.done} total={map.total} running={map.running} failed={map.failed} />
      {execution.chunks.length > 0 ? (
        <table class="table compact chunks-table" aria-label="Chunks">
          <thead>
            <tr>
              <th class="num">#</th>
              <th>Status</th>
              <th class="num">First line</th>
              <th class="num">Rows</th>
              <th class="num">Bytes</th>
              {summaryColumns.map((column) => (
                <th key={column} class="num">
                  {column}
                </th>
              ))}
              <th>Lines</th>
            </tr>
          </thead>
          <tbody>
            {execution.chunks.map((chunk) => (
              <ChunkRow
                key={chunk.index}
                chunk={chunk}
                columns={summaryColumns}
                file={execution.file}
                eTag={eTag}
              />
            ))}
          </tbody>
        </table>
      ) : null}
    </Card>
  );
}

function ChunkRow({
  chunk,
  columns,
  file,
  eTag,
}: {
  chunk: ChunkView;
  columns: readonly string[];
  file: string;
  eTag: string;
}) {
  const item = chunk.item;
  const start = typeof item.start === 'number' ? item.start : undefined;
  const end = typeof item.end === 'number' ? item.end : undefined;
  const firstLine = typeof item.firstLine === 'number' ? item.firstLine : undefined;
  return (
    <tr data-chunk={chunk.index} data-status={chunk.status}>
      <td class="num mono">{chunk.index}</td>
      <td>
        <StatusBadge status={chunk.status} />
      </td>
      <td class="num mono">{firstLine ?? ''}</td>
      <td class="num mono">{typeof item.rows === 'number' ? count(item.rows) : ''}</td>
      <td class="num mono">{start !== undefined && end !== undefined ? bytes(end - start) : ''}</td>
      {columns.map((column) => (
        <td key={column} class="num mono">
          {chunk.summary && column in chunk.summary ? cellText(chunk.summary[column]) : ''}
        </td>
      ))}
      <td>
        {start !== undefined ? (
          <a
            href={href(['lines'], { key: file, eTag, start, end, firstLine })}
            data-link="chunk-lines"
          >
            lines {firstLine ?? ''}…
          </a>
        ) : null}
      </td>
    </tr>
  );
}

/** The failure record the workflow sent to the DLQ, with links to the lines it names. */
function FailureCard({ execution }: { execution: ExecutionDetail }) {
  const failure = execution.failure;
  if (!failure) return null;
  const record = failure.failure;
  const input = parseObject(execution.input);
  const eTag = String((input?.file as { eTag?: string } | undefined)?.eTag ?? '');
  const lines = [
    ...new Set(
      [...failure.readableCause.matchAll(/\bline (\d+)\b/g)].map((match) => Number(match[1])),
    ),
  ];
  return (
    <Card
      title="Failure record"
      id="failure"
      actions={
        <span class={`pill ${failure.sentToDlq ? 'pill-ok' : 'pill-warn'}`}>
          {failure.sentToDlq ? 'sent to the DLQ' : 'not sent to the DLQ'}
        </span>
      }
    >
      <div class="failure" data-testid="failure">
        <dl class="kv">
          {Object.entries(record)
            .filter(([key]) => key !== 'cause')
            .map(([key, value]) => (
              <div class="kv-item" key={key}>
                <dt>{key}</dt>
                <dd class="mono">
                  {key === 'executionArn' && typeof value === 'string' ? (
                    <a href={href(['executions', nameOfArn(value)])}>{nameOfArn(value)}</a>
                  ) : Array.isArray(value) ? (
                    // `cut`: what BuildFailureRecord shortened to fit the message.
                    value.map(String).join('; ')
                  ) : (
                    String(value)
                  )}
                </dd>
              </div>
            ))}
        </dl>
        <h3>Cause</h3>
        <pre class="cause" data-testid="cause">
          {failure.readableCause}
        </pre>
        {lines.length > 0 ? (
          <div class="line-links">
            Show the file at{' '}
            {lines.slice(0, 20).map((line) => (
              <a
                key={line}
                href={href(['lines'], { key: execution.file, eTag, line })}
                data-link="failure-line"
              >
                line {line}
              </a>
            ))}
          </div>
        ) : null}
      </div>
    </Card>
  );
}

/** The history as GetExecutionHistory has it; a row opens its details as JSON. */
function History({ events, start }: { events: readonly HistoryEventView[]; start: string }) {
  const [open, toggle, setOpen] = useOpenRows<number>();
  const started = Date.parse(start);
  return (
    <Card
      title={`Event history (${events.length})`}
      actions={
        <>
          <button
            type="button"
            class="button small"
            onClick={() => setOpen(events.map((event) => event.id))}
          >
            Expand all
          </button>
          <button type="button" class="button small" onClick={() => setOpen([])}>
            Collapse all
          </button>
        </>
      }
    >
      <table class="table compact history" aria-label="Event history">
        <thead>
          <tr>
            <th class="num">ID</th>
            <th>Type</th>
            <th>Step</th>
            <th class="num">Started after</th>
            <th>Time</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => {
            const expanded = open.has(event.id);
            const { id, previousEventId: _previous, timestamp, type, ...details } = event;
            return [
              <tr
                key={id}
                class={`clickable event-${eventTone(type)}`}
                data-event={id}
                data-type={type}
                aria-expanded={expanded}
                tabIndex={0}
                onClick={() => toggle(id)}
                onKeyDown={(keyEvent) => {
                  if (keyEvent.key === 'Enter' || keyEvent.key === ' ') {
                    keyEvent.preventDefault();
                    toggle(id);
                  }
                }}
              >
                <td class="num mono">
                  <span class="caret">{expanded ? '▾' : '▸'}</span> {id}
                </td>
                <td class="mono">{type}</td>
                <td>{stepOf(event)}</td>
                <td class="num mono">{duration(Date.parse(timestamp) - started)}</td>
                <td class="mono" title={dateTime(timestamp)}>
                  {clock(timestamp)}
                </td>
              </tr>,
              expanded ? (
                <tr key={`${id}-details`} class="details-row">
                  <td colSpan={5}>
                    <JsonValue value={details} open={3} />
                  </td>
                </tr>
              ) : null,
            ];
          })}
        </tbody>
      </table>
    </Card>
  );
}

function cellText(value: unknown): string {
  return typeof value === 'number' ? count(value) : String(value);
}

function stepOf(event: HistoryEventView): string {
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith('EventDetails') && isObject(value) && typeof value.name === 'string') {
      return value.name;
    }
  }
  return '';
}

function eventTone(type: string): string {
  if (/Failed|TimedOut|Aborted/.test(type)) return 'bad';
  if (/Succeeded/.test(type)) return 'good';
  return 'plain';
}

function findState(definition: unknown, name: string): Record<string, unknown> | undefined {
  if (!isObject(definition) || !isObject(definition.States)) return undefined;
  const here = definition.States[name];
  if (isObject(here)) return here;
  for (const state of Object.values(definition.States)) {
    if (!isObject(state)) continue;
    for (const body of [
      state.ItemProcessor,
      state.Iterator,
      ...(Array.isArray(state.Branches) ? state.Branches : []),
    ]) {
      const found = findState(body, name);
      if (found) return found;
    }
  }
  return undefined;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
