import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { Message } from '@aws-sdk/client-sqs';
import { decodeS3Key } from '../../handlers/shared/s3-event.js';
import { readableCause } from './format.js';
import { parseFailure } from './report.js';

// The `--full` views of `dlq` and `history`: every field, every line of every
// cause, nothing cut. The tables stay one line per record; these are for reading.

/** The file a DLQ message is about (its first S3 record's key, decoded), if it names one. */
export function dlqFile(message: Message): string | undefined {
  const key = parseFailure(message.Body ?? '')?.Records[0]?.s3?.object?.key;
  return key === undefined ? undefined : decodeS3Key(key);
}

/** Every DLQ message in full: file, error, state, time, execution and the whole cause. */
export function dlqDetails(messages: readonly Message[]): string {
  if (messages.length === 0) return '(empty)';
  const sorted = [...messages].sort((a, b) => (dlqFile(a) ?? '').localeCompare(dlqFile(b) ?? ''));
  return sorted
    .map((message, index) => {
      const record = parseFailure(message.Body ?? '');
      const heading = `${index + 1}/${sorted.length}  ${dlqFile(message) ?? '(not a failure record)'}`;
      if (!record) return [heading, ...indent(message.Body ?? '', '  body   ')].join('\n');
      const failure = record.failure;
      if (!failure) {
        return [heading, '  error  never started (maxReceiveCount reached)'].join('\n');
      }
      return [
        heading,
        `  error      ${failure.error}`,
        `  state      ${failure.state}`,
        `  time       ${failure.time}`,
        `  execution  ${failure.executionArn}`,
        ...indent(readableCause(failure.cause), '  cause      '),
      ].join('\n');
    })
    .join('\n\n');
}

/** Every history event in full: id, time, type, state, then its whole detail. */
export function historyDetails(
  events: readonly HistoryEvent[],
  describe: (event: HistoryEvent) => { state: string; detail: string },
): string {
  return events
    .map((event) => {
      const { state, detail } = describe(event);
      const head = [
        String(event.id).padStart(4),
        event.timestamp?.toISOString() ?? '',
        event.type ?? '',
        state,
      ]
        .filter((part) => part !== '')
        .join('  ');
      return detail === '' ? head : [head, ...indent(detail, '      ')].join('\n');
    })
    .join('\n');
}

/** `text` with `first` before its first line and as many spaces before each other one. */
function indent(text: string, first: string): string[] {
  const pad = ' '.repeat(first.length);
  return text.split('\n').map((line, index) => `${index === 0 ? first : pad}${line}`);
}
