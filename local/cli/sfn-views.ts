import {
  DescribeExecutionCommand,
  type ExecutionListItem,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { UsageError } from './args.js';
import type { LiveRowsReader } from './live-rows.js';
import { type ExecutionView, fileOf } from './report.js';

// The CLI's reads of the Step Functions API (any endpoint: local or AWS).

/**
 * The ARN of an execution given by ARN, by name, or by the S3 key it ingests
 * (the latest execution of that key, as `executions` lists files).
 */
export async function resolveExecution(
  sfn: SFNClient,
  stateMachineArn: string,
  nameArnOrKey: string,
): Promise<string> {
  if (nameArnOrKey.startsWith('arn:')) return nameArnOrKey;
  const listed = await allExecutions(sfn, stateMachineArn);
  const byName = listed.find((item) => item.name === nameArnOrKey);
  if (byName?.executionArn) return byName.executionArn;
  // Newest first: the first execution whose input names this key is the latest.
  for (const item of listed) {
    const described = await sfn.send(
      new DescribeExecutionCommand({ executionArn: item.executionArn }),
    );
    if (fileOf({ input: described.input ?? '{}', name: item.name ?? '' }) === nameArnOrKey) {
      return item.executionArn ?? '';
    }
  }
  throw new UsageError(
    `No execution named "${nameArnOrKey}" and none of a file with that key (npm run cli -- executions lists both)`,
  );
}

/** Every execution of a state machine, newest first, all pages. */
export async function allExecutions(
  sfn: SFNClient,
  stateMachineArn: string,
): Promise<ExecutionListItem[]> {
  const listed: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn,
        maxResults: 1000,
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    listed.push(...(page.executions ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return listed;
}

/** Every history event of an execution, all pages. */
export async function allEvents(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        maxResults: 1000,
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/**
 * What the views need of an execution: its description and its history, and while
 * it runs the rows its loading chunks have reported (when `liveRows` is given).
 */
export async function describeExecution(
  sfn: SFNClient,
  item: ExecutionListItem,
  liveRows?: LiveRowsReader,
): Promise<ExecutionView> {
  const arn = item.executionArn ?? '';
  const [described, events] = await Promise.all([
    sfn.send(new DescribeExecutionCommand({ executionArn: arn })),
    allEvents(sfn, arn),
  ]);
  const running = (described.status ?? 'RUNNING') === 'RUNNING';
  const live = running && liveRows ? await liveRows(described.input ?? '{}') : undefined;
  return {
    ...(live === undefined ? {} : { liveRows: live }),
    name: item.name ?? '',
    status: described.status ?? 'RUNNING',
    input: described.input ?? '{}',
    ...(described.output ? { output: described.output } : {}),
    ...(described.error ? { error: described.error } : {}),
    ...(described.cause ? { cause: described.cause } : {}),
    startDate: described.startDate ?? new Date(),
    ...(described.stopDate ? { stopDate: described.stopDate } : {}),
    events: events.map((event) => ({
      ...(event.type ? { type: event.type } : {}),
      ...(event.mapStateStartedEventDetails
        ? { mapStateStartedEventDetails: { length: event.mapStateStartedEventDetails.length ?? 0 } }
        : {}),
      ...(event.stateExitedEventDetails
        ? {
            stateExitedEventDetails: {
              name: event.stateExitedEventDetails.name ?? '',
              output: event.stateExitedEventDetails.output ?? '',
            },
          }
        : {}),
    })),
  };
}
