import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ExecutionSummary, ObjectView } from '../model.js';
import { api, upload } from './client.js';
import { Card, Progress, StatusBadge } from './components.js';
import { bytes, clock, count, dateTime, duration } from './format.js';
import { useKeys } from './keys.js';
import { href } from './router.js';
import { useConsoleEvent, useStore } from './store.js';

interface UploadState {
  readonly id: number;
  readonly key: string;
  readonly size: number;
  readonly startedAt: number;
  sent: number;
  state: 'uploading' | 'stored' | 'failed';
  parts?: number;
  message?: string;
  durationMs?: number;
}

/** Upload files (drag and drop, or choose), and the bucket's objects with their latest execution. */
export function FilesPage() {
  const { config, executions } = useStore();
  const [uploads, setUploads] = useState<UploadState[]>([]);
  const [objects, setObjects] = useState<readonly ObjectView[]>();
  const [next, setNext] = useState<string>();
  const [problem, setProblem] = useState<string>();
  const [prefix, setPrefix] = useState('');
  const [over, setOver] = useState(false);
  const chooser = useRef<HTMLInputElement>(null);
  const counter = useRef(0);

  const load = useCallback(() => {
    api.objects().then(
      (page) => {
        setObjects(page.objects);
        setNext(page.next);
      },
      (error: Error) => setProblem(error.message),
    );
  }, []);
  useEffect(load, [load]);
  useConsoleEvent('objects', load);
  useKeys((event) => {
    if (event.key === 'u' && config.canChange) {
      event.preventDefault();
      chooser.current?.click();
    }
  });

  const start = (files: readonly File[]) => {
    if (!config.canChange) return;
    for (const file of files) {
      counter.current += 1;
      const id = counter.current;
      const key = `${prefix.replace(/^\/+/, '')}${file.name}`;
      const entry: UploadState = {
        id,
        key,
        size: file.size,
        startedAt: Date.now(),
        sent: 0,
        state: 'uploading',
      };
      const update = (change: Partial<UploadState>) =>
        setUploads((list) => list.map((item) => (item.id === id ? { ...item, ...change } : item)));
      setUploads((list) => [entry, ...list]);
      upload(file, key, (sent) => update({ sent })).then(
        (result) =>
          update({
            state: 'stored',
            sent: result.size,
            parts: result.parts,
            durationMs: result.durationMs,
          }),
        (error: Error) => update({ state: 'failed', message: error.message }),
      );
    }
  };

  const latestOf = (key: string, since = 0): ExecutionSummary | undefined =>
    executions.find(
      (execution) => execution.file === key && Date.parse(execution.startDate) >= since - 1000,
    );

  return (
    <div class="page files">
      {/* biome-ignore lint/a11y/noStaticElementInteractions: a drop target; the button inside is the keyboard way */}
      <div
        class={`dropzone${over ? ' over' : ''}${config.canChange ? '' : ' disabled'}`}
        data-testid="dropzone"
        onDragOver={(event) => {
          event.preventDefault();
          if (config.canChange) setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(event) => {
          event.preventDefault();
          setOver(false);
          start([...(event.dataTransfer?.files ?? [])]);
        }}
      >
        {config.canChange ? (
          <>
            <div class="dropzone-title">Drop CSV files here to ingest them</div>
            <div class="dropzone-actions">
              <button type="button" class="button primary" onClick={() => chooser.current?.click()}>
                Choose files… <kbd>u</kbd>
              </button>
              <label class="inline">
                key prefix
                <input
                  type="text"
                  class="prefix"
                  placeholder="(none)"
                  value={prefix}
                  onInput={(event) => setPrefix((event.target as HTMLInputElement).value)}
                />
              </label>
            </div>
            <div class="muted">
              Each file goes to s3://{config.bucket}/ (files over {bytes(config.partSize)} as a
              multipart upload); the upload starts its ingestion.
            </div>
          </>
        ) : (
          <div class="muted">
            Uploading needs the token: open the console with the URL that <code>npm start</code>{' '}
            printed (it ends with <code>?token=…</code>).
          </div>
        )}
        <input
          ref={chooser}
          type="file"
          multiple
          accept=".csv,text/csv"
          hidden
          data-testid="file-input"
          onChange={(event) => {
            const input = event.target as HTMLInputElement;
            start([...(input.files ?? [])]);
            input.value = '';
          }}
        />
      </div>

      {uploads.length > 0 ? (
        <Card title="Uploads">
          <table class="table compact" aria-label="Uploads">
            <thead>
              <tr>
                <th>Key</th>
                <th class="num">Size</th>
                <th>Upload</th>
                <th>Ingestion</th>
              </tr>
            </thead>
            <tbody>
              {uploads.map((item) => {
                const execution =
                  item.state === 'stored' ? latestOf(item.key, item.startedAt) : undefined;
                return (
                  <tr key={item.id} data-upload={item.key} data-state={item.state}>
                    <td class="mono">{item.key}</td>
                    <td class="num mono">{bytes(item.size)}</td>
                    <td class="upload-progress">
                      <Progress done={item.sent} total={item.size || 1} />
                      <span class="mono">
                        {item.state === 'uploading'
                          ? `${item.size ? Math.floor((item.sent / item.size) * 100) : 100}%`
                          : item.state === 'stored'
                            ? `stored${item.parts && item.parts > 1 ? ` in ${item.parts} parts` : ''} · ${duration(item.durationMs)}`
                            : ''}
                      </span>
                      {item.state === 'failed' ? <span class="error">{item.message}</span> : null}
                    </td>
                    <td>
                      {execution ? (
                        <a href={href(['executions', execution.name])}>
                          <StatusBadge status={execution.status} />
                        </a>
                      ) : item.state === 'stored' ? (
                        <span class="muted">waiting for the notification…</span>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </Card>
      ) : null}

      <Card
        title={`s3://${config.bucket}/`}
        actions={
          <button type="button" class="button small" onClick={load}>
            Refresh
          </button>
        }
      >
        {problem ? <div class="notice notice-error">{problem}</div> : null}
        {!objects ? (
          <div class="muted">Loading…</div>
        ) : objects.length === 0 ? (
          <div class="empty">The bucket is empty.</div>
        ) : (
          <table class="table compact" aria-label="Objects">
            <thead>
              <tr>
                <th>Key</th>
                <th class="num">Size</th>
                <th>Last modified</th>
                <th>ETag</th>
                <th>Latest ingestion</th>
              </tr>
            </thead>
            <tbody>
              {objects.map((object) => {
                const execution = latestOf(object.key);
                return (
                  <tr key={object.key} data-object={object.key}>
                    <td class="mono">{object.key}</td>
                    <td class="num mono" title={`${count(object.size)} bytes`}>
                      {bytes(object.size)}
                    </td>
                    <td class="mono" title={dateTime(object.lastModified)}>
                      {clock(object.lastModified)}
                    </td>
                    <td class="mono muted">{object.eTag}</td>
                    <td>
                      {execution ? (
                        <a href={href(['executions', execution.name])}>
                          <StatusBadge status={execution.status} />
                        </a>
                      ) : (
                        <span class="muted">—</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {next ? <div class="muted">The first 1,000 objects are shown.</div> : null}
      </Card>
    </div>
  );
}
