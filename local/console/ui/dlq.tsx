import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { DlqMessageView, DlqView } from '../model.js';
import { api } from './client.js';
import { Card, useOpenRows } from './components.js';
import { clock, dateTime, nameOfArn } from './format.js';
import { JsonText } from './json.js';
import { href } from './router.js';
import { useConsoleEvent, useStore } from './store.js';

/** What a confirmed redrive will move. */
interface Pending {
  readonly messages: readonly DlqMessageView[];
  readonly all: boolean;
}

/** The dead-letter queue: each failure record in full, redrive one or all. */
export function DlqPage() {
  const { config } = useStore();
  const [view, setView] = useState<DlqView>();
  const [problem, setProblem] = useState<string>();
  const [open, toggle] = useOpenRows<string>();
  const [pending, setPending] = useState<Pending>();
  const [notice, setNotice] = useState<string>();
  const [busy, setBusy] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);

  const load = useCallback(() => {
    api.dlq().then(
      (result) => {
        setView(result);
        setProblem(undefined);
      },
      (error: Error) => setProblem(error.message),
    );
  }, []);
  useEffect(load, [load]);
  useConsoleEvent('dlq', load);
  useEffect(() => {
    if (pending) dialog.current?.showModal();
    else dialog.current?.close();
  }, [pending]);

  const queueName = (url: string) => url.slice(url.lastIndexOf('/') + 1);
  const confirm = async () => {
    if (!pending) return;
    setBusy(true);
    try {
      const result = await api.redrive(
        pending.all ? undefined : pending.messages.map((message) => message.messageId),
      );
      setNotice(
        result.moved === 0
          ? 'Nothing was moved: the message is no longer in the DLQ (redriven elsewhere?).'
          : `Moved ${result.moved} message(s) to ${queueName(view?.sourceQueueUrl ?? config.queueUrl)}: ` +
              'each starts one new execution (see Executions).',
      );
    } catch (error) {
      setNotice(`Redrive failed: ${(error as Error).message}`);
    } finally {
      setBusy(false);
      setPending(undefined);
      load();
    }
  };

  const messages = view?.messages ?? [];
  return (
    <div class="page dlq">
      {notice ? (
        <div class="notice" data-testid="redrive-notice">
          {notice}{' '}
          <button type="button" class="link" onClick={() => setNotice(undefined)}>
            dismiss
          </button>
        </div>
      ) : null}
      <Card
        title={`Dead-letter queue · ${queueName(config.dlqUrl)} (${messages.length})`}
        actions={
          <>
            <button type="button" class="button small" onClick={load}>
              Refresh
            </button>
            <button
              type="button"
              class="button small danger"
              disabled={!config.canChange || messages.length === 0}
              title={config.canChange ? '' : 'Needs the token: open the URL npm start printed'}
              data-action="redrive-all"
              onClick={() => setPending({ messages, all: true })}
            >
              Redrive all ({messages.length})
            </button>
          </>
        }
      >
        {problem ? <div class="notice notice-error">{problem}</div> : null}
        {!view ? (
          <div class="muted">Reading the queue…</div>
        ) : messages.length === 0 ? (
          <div class="empty">
            The dead-letter queue is empty: no file failed (or all were redriven).
          </div>
        ) : (
          <table class="table compact" aria-label="Dead-letter queue">
            <thead>
              <tr>
                <th>File</th>
                <th>Error</th>
                <th>Cause</th>
                <th>State</th>
                <th>Failed at</th>
                <th>Execution</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {messages.map((message) => {
                const expanded = open.has(message.messageId);
                return [
                  <tr
                    key={message.messageId}
                    class="clickable"
                    data-message={message.messageId}
                    data-file={message.file}
                    aria-expanded={expanded}
                    onClick={(event) => {
                      if (!(event.target as HTMLElement).closest('a,button'))
                        toggle(message.messageId);
                    }}
                  >
                    <td class="mono">
                      <span class="caret">{expanded ? '▾' : '▸'}</span>{' '}
                      {message.file ?? '(not a failure record)'}
                    </td>
                    <td>
                      <strong>{message.error ?? 'never started'}</strong>
                    </td>
                    <td class="error">
                      {message.error
                        ? message.problem
                        : `the starter failed ${message.receiveCount ?? '?'} time(s) (maxReceiveCount)`}
                    </td>
                    <td>{message.state ?? ''}</td>
                    <td class="mono" title={dateTime(message.time ?? message.sentAt)}>
                      {clock(message.time ?? message.sentAt)}
                    </td>
                    <td>
                      {message.executionArn ? (
                        <a href={href(['executions', nameOfArn(message.executionArn)])}>
                          {nameOfArn(message.executionArn).slice(0, 28)}…
                        </a>
                      ) : null}
                    </td>
                    <td>
                      <button
                        type="button"
                        class="button small"
                        disabled={!config.canChange}
                        data-action="redrive"
                        onClick={() => setPending({ messages: [message], all: false })}
                      >
                        Redrive
                      </button>
                    </td>
                  </tr>,
                  expanded ? (
                    <tr key={`${message.messageId}-details`} class="details-row">
                      <td colSpan={7}>
                        <h3>Cause (in full)</h3>
                        <pre class="cause" data-testid="dlq-cause">
                          {message.readableCause ?? ''}
                        </pre>
                        <h3>Message body</h3>
                        <JsonText text={message.body} open={2} />
                      </td>
                    </tr>
                  ) : null,
                ];
              })}
            </tbody>
          </table>
        )}
      </Card>

      <dialog
        ref={dialog}
        class="dialog"
        onClose={() => setPending(undefined)}
        data-testid="redrive-dialog"
      >
        {pending ? (
          <form
            method="dialog"
            onSubmit={(event) => {
              event.preventDefault();
              void confirm();
            }}
          >
            <h2>
              Redrive {pending.all ? `all ${pending.messages.length}` : '1'} failure record
              {pending.messages.length === 1 ? '' : 's'}?
            </h2>
            <p data-testid="redrive-explanation">
              {pending.all ? 'Every message now in' : 'The message for '}
              {pending.all ? null : (
                <strong>{pending.messages[0]?.file ?? '(unknown file)'}</strong>
              )}
              {pending.all ? ` ${queueName(config.dlqUrl)}` : ` leaves ${queueName(config.dlqUrl)}`}{' '}
              and goes back to <strong>{queueName(config.queueUrl)}</strong>. For each, the starter
              starts <strong>exactly one new execution</strong> (named <code>redrive-…</code>) that
              reads the object in s3://{config.bucket}/ as it is now. If the file is still invalid,
              that execution fails again and a new failure record comes back here.
            </p>
            {pending.all ? (
              <ul class="redrive-list">
                {pending.messages.map((message) => (
                  <li key={message.messageId}>
                    <span class="mono">{message.file ?? message.messageId}</span>{' '}
                    <span class="muted">{message.error}</span>
                  </li>
                ))}
              </ul>
            ) : null}
            <div class="dialog-actions">
              <button type="button" class="button" onClick={() => setPending(undefined)}>
                Cancel
              </button>
              <button
                type="submit"
                class="button primary"
                disabled={busy}
                data-action="confirm-redrive"
              >
                {busy ? 'Redriving…' : `Redrive ${pending.all ? pending.messages.length : 1}`}
              </button>
            </div>
          </form>
        ) : null}
      </dialog>
    </div>
  );
}
