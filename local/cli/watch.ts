import {
  DescribeExecutionCommand,
  type ExecutionListItem,
  ListExecutionsCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { LiveRowsReader } from './live-rows.js';
import type { ExecutionView } from './report.js';
import { allExecutions, describeExecution } from './sfn-views.js';

// `upload` follows the execution of each file version it uploaded: found by what it
// ingests (key and version), never by when it started.

/** One object version the CLI uploaded. */
export interface UploadedVersion {
  readonly key: string;
  /** S3's version id, when the bucket is versioned. */
  readonly versionId?: string;
  /** The ETag S3 answered the upload with (quoted or not). */
  readonly eTag: string;
}

/** An uploaded version and, once it has started, its execution. */
export interface WatchedUpload {
  readonly upload: UploadedVersion;
  readonly execution?: ExecutionView;
}

/** Whether an execution input ingests exactly this uploaded version. */
export function ingestsVersion(input: string, upload: UploadedVersion): boolean {
  let file: { key?: unknown; versionId?: unknown; eTag?: unknown } | undefined;
  try {
    file = (JSON.parse(input) as { file?: typeof file }).file;
  } catch {
    return false;
  }
  if (file?.key !== upload.key) return false;
  if (upload.versionId !== undefined) return file.versionId === upload.versionId;
  return file.eTag === upload.eTag.replaceAll('"', '');
}

/** The ARNs of every execution the state machine has so far. */
export async function executionArns(sfn: SFNClient, stateMachineArn: string): Promise<Set<string>> {
  const listed = await allExecutions(sfn, stateMachineArn);
  return new Set(listed.flatMap((item) => (item.executionArn ? [item.executionArn] : [])));
}

/** How `watchUploads` waits. */
export interface WatchOptions {
  /** Executions that existed before the uploads: none of them is an upload's. */
  readonly known: ReadonlySet<string>;
  /** How long an upload may wait for its execution to start, in ms. */
  readonly startTimeoutMs: number;
  /** Time between two looks, in ms. @default 500 */
  readonly pollMs?: number;
  /** Called after every look with the state of every upload. */
  readonly onUpdate?: (watched: readonly WatchedUpload[]) => void;
  /** Reads the rows loading chunks have reported, for progress between chunk ends. */
  readonly liveRows?: LiveRowsReader;
}

/** What `watchUploads` saw: every upload, with its closed execution or none if it never started. */
export interface WatchResult {
  readonly watched: readonly WatchedUpload[];
  /** Uploads whose execution did not start within `startTimeoutMs`. */
  readonly notStarted: readonly UploadedVersion[];
}

/**
 * Follows the execution of each uploaded version until it closes: finds it
 * among the executions started since the uploads (by key and version), then
 * reads its status and history until it is no longer RUNNING.
 */
export async function watchUploads(
  sfn: SFNClient,
  stateMachineArn: string,
  uploads: readonly UploadedVersion[],
  options: WatchOptions,
): Promise<WatchResult> {
  const pollMs = options.pollMs ?? 500;
  const deadline = Date.now() + options.startTimeoutMs;
  const arnOf = new Map<UploadedVersion, ExecutionListItem>();
  const views = new Map<UploadedVersion, ExecutionView>();
  // Inputs of new executions already read, so each is described once.
  const inputs = new Map<string, string>();
  const claimed = new Set<string>();
  const snapshot = (): WatchedUpload[] =>
    uploads.map((upload) => {
      const execution = views.get(upload);
      return execution ? { upload, execution } : { upload };
    });

  for (;;) {
    const waiting = uploads.filter((upload) => !arnOf.has(upload));
    if (waiting.length > 0) {
      // Newest first: the executions of these uploads are on the first page.
      const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 100 }));
      for (const item of page.executions ?? []) {
        const arn = item.executionArn ?? '';
        if (options.known.has(arn) || claimed.has(arn)) continue;
        let input = inputs.get(arn);
        if (input === undefined) {
          const described = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
          input = described.input ?? '{}';
          inputs.set(arn, input);
        }
        const upload = waiting.find(
          (candidate) => !arnOf.has(candidate) && ingestsVersion(input, candidate),
        );
        if (upload) {
          arnOf.set(upload, item);
          claimed.add(arn);
        }
      }
    }
    for (const [upload, item] of arnOf) {
      if (views.get(upload)?.status === 'RUNNING' || !views.has(upload)) {
        views.set(upload, await describeExecution(sfn, item, options.liveRows));
      }
    }
    options.onUpdate?.(snapshot());

    const started = uploads.filter((upload) => arnOf.has(upload));
    const allClosed = started.every((upload) => views.get(upload)?.status !== 'RUNNING');
    const late = Date.now() > deadline;
    if (allClosed && (started.length === uploads.length || late)) {
      return {
        watched: snapshot(),
        notStarted: uploads.filter((upload) => !arnOf.has(upload)),
      };
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
