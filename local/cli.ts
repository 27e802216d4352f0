import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { type HistoryEvent, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Upload } from '@aws-sdk/lib-storage';
import { ApiClient, batchGetBody, fetchToken } from './cli/api-client.js';
import { parseArgs, UsageError } from './cli/args.js';
import { datasetNamed, uploadPrefix } from './cli/datasets.js';
import { count, duration, prettyJson, readableCause, table, truncate } from './cli/format.js';
import { dlqDetails, dlqFile, historyDetails } from './cli/full-views.js';
import { liveRowsReader } from './cli/live-rows.js';
import { progressFromHistory } from './cli/progress.js';
import {
  dlqTable,
  type ExecutionView,
  executionsTable,
  progressLine,
  rowsOf,
} from './cli/report.js';
import { allEvents, describeExecution, resolveExecution } from './cli/sfn-views.js';
import {
  executionArns,
  type UploadedVersion,
  type WatchedUpload,
  watchUploads,
} from './cli/watch.js';
import { LOCAL_CREDENTIALS } from './config.js';
import { type Endpoints, readEndpointsFromEnv } from './endpoints.js';
import { parseGenerateArgs, requestedSchema, writeGeneratedFile } from './generate-csv.js';
import { peekMessages, redrive } from './wiring/redrive.js';

const USAGE = `Usage: npm run cli -- <command> [arguments]

Works against the running local stack (npm start), found through .local/endpoints.json
(or <dir>/endpoints.json with LOCAL_DATA_DIR=<dir>, for a stack started with --data-dir <dir>;
npm start prints the line with the absolute directory).

Commands:
  upload <files...> [--dataset d] [--prefix p/] [--no-watch] [--wait-seconds N]
                                   upload files to the bucket (multipart, with progress), then
                                   follow each file's execution until it closes (--no-watch: don't);
                                   --dataset d: under d/, the key prefix that routes a file to
                                   dataset d (needed with several datasets unless --prefix starts
                                   with a dataset's name); N: how long to wait for an execution
                                   to start (default 120)
  executions [--watch]             list executions with progress; --watch refreshes every second
  history <execution | file> [--full]
                                   the history of one execution (name, ARN, or the latest of a
                                   file key); --full: every detail whole, nothing cut
  dlq [file] [--full]              the dead-letter queue: file, error, cause (of one file);
                                   --full: every record whole (state, time, execution, all the cause)
  redrive                          move every DLQ message back to the file-events queue
  token                            print an access token (client-credentials grant)
  get <key> [--dataset d]          read one item through the HTTPS API
  batch-get <keys...> [--dataset d]
                                   read up to 100 items through the HTTPS API
                                   (--dataset: which dataset; needed with several)
  generate <rows> <file> [--dataset d] [--datasets file] [--seed N] [--lf] [--bom]
           [--duplicate-every N]   write a synthetic CSV file of a dataset
                                   (--dataset: which one, needed with several;
                                   --datasets: the schemas of that file, as npm start
                                   takes them, instead of cdk.json's)
  help                             show this help
`;

const out = (text = '') => process.stdout.write(`${text}\n`);

type Command = (args: string[], endpoints: () => Promise<Endpoints>) => Promise<void>;

const commands: Record<string, Command> = {
  help: async () => {
    out(USAGE);
  },

  upload: async (argv, endpoints) => {
    const args = parseArgs(argv, ['prefix', 'wait-seconds', 'dataset']);
    if (args.positional.length === 0) throw new UsageError('upload needs at least one file');
    const waitSeconds = Number(args.flags.get('wait-seconds') ?? 120);
    if (!Number.isFinite(waitSeconds) || waitSeconds < 0) {
      throw new UsageError('--wait-seconds must be a number of seconds');
    }
    const e = await endpoints();
    const s3 = new S3Client({
      region: e.region,
      endpoint: e.s3,
      forcePathStyle: true,
      credentials: LOCAL_CREDENTIALS,
    });
    const sfn = sfnClient(e);
    const watch = args.flags.get('watch') !== false;
    // Executions from before the uploads: none of them is one of theirs.
    const known = watch ? await executionArns(sfn, e.stateMachineArn) : new Set<string>();
    const prefix = uploadPrefix(
      e,
      args.flags.get('dataset'),
      String(args.flags.get('prefix') ?? ''),
    );
    const uploads: UploadedVersion[] = [];
    for (const file of args.positional) {
      const size = (await stat(file)).size;
      const key = `${prefix}${basename(file)}`;
      const upload = new Upload({
        client: s3,
        params: {
          Bucket: e.bucket,
          Key: key,
          Body: createReadStream(file),
          ContentType: 'text/csv',
        },
        // 8 MiB parts, 4 in flight: large files go up as a multipart upload.
        partSize: 8 * 1024 * 1024,
        queueSize: 4,
      });
      const started = Date.now();
      upload.on('httpUploadProgress', (progress) => {
        if (process.stdout.isTTY) {
          const done = progress.loaded ?? 0;
          const percent = size > 0 ? Math.floor((done / size) * 100) : 100;
          process.stdout.write(`\r  ${key}  ${percent}%  ${count(done)} / ${count(size)} bytes`);
        }
      });
      const result = await upload.done();
      if (process.stdout.isTTY) process.stdout.write('\r\x1b[2K');
      out(`  s3://${e.bucket}/${key}  ${count(size)} bytes  ${duration(Date.now() - started)}`);
      uploads.push({
        key,
        eTag: result.ETag ?? '',
        ...(result.VersionId ? { versionId: result.VersionId } : {}),
      });
    }
    if (!watch) return;

    out();
    const width = Math.min(40, Math.max(...uploads.map((upload) => upload.key.length)));
    const live = liveRowsReader(e);
    const { watched, notStarted } = await watchUploads(sfn, e.stateMachineArn, uploads, {
      known,
      startTimeoutMs: waitSeconds * 1000,
      onUpdate: liveLines(width),
      liveRows: live.read,
    }).finally(live.close);
    for (const upload of notStarted) {
      process.stderr.write(
        `No execution started for s3://${e.bucket}/${upload.key} within ${waitSeconds}s: ` +
          'is npm start still serving? (npm run cli -- dlq lists messages that never started)\n',
      );
      process.exitCode = 1;
    }
    if (
      watched.some(
        ({ execution }) => execution?.status !== undefined && execution.status !== 'SUCCEEDED',
      )
    ) {
      out(
        'Whole causes: npm run cli -- dlq --full   ·   every step: npm run cli -- history <file> --full',
      );
      process.exitCode = 1;
    }
  },

  executions: async (argv, endpoints) => {
    const args = parseArgs(argv, []);
    const e = await endpoints();
    const sfn = sfnClient(e);
    const live = liveRowsReader(e);
    const render = async () => {
      const listed = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn: e.stateMachineArn, maxResults: 50 }),
      );
      return executionsTable(
        await Promise.all(
          (listed.executions ?? []).map((item) => describeExecution(sfn, item, live.read)),
        ),
      );
    };
    if (args.flags.get('watch') !== true) {
      out(await render().finally(live.close));
      return;
    }
    let drawn = 0;
    for (;;) {
      const text = await render();
      if (drawn > 0) process.stdout.write(`\x1b[${drawn}A\x1b[0J`);
      out(text);
      drawn = text.split('\n').length;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  },

  history: async (argv, endpoints) => {
    const args = parseArgs(argv, []);
    const [name] = args.positional;
    if (!name) throw new UsageError('history needs an execution name or ARN, or a file key');
    const e = await endpoints();
    const sfn = sfnClient(e);
    const arn = await resolveExecution(sfn, e.stateMachineArn, name);
    const events = await allEvents(sfn, arn);
    if (args.flags.get('full') === true) {
      out(
        historyDetails(events, (event) => ({
          state: stateName(event),
          detail: prettyJson(detail(event)),
        })),
      );
      return;
    }
    out(
      table(
        ['id', 'time', 'type', 'state', 'detail'],
        events.map((event) => [
          String(event.id),
          event.timestamp?.toISOString().slice(11, 23) ?? '',
          event.type ?? '',
          stateName(event),
          truncate(detail(event), 80),
        ]),
      ),
    );
  },

  dlq: async (argv, endpoints) => {
    const args = parseArgs(argv, []);
    const [file] = args.positional;
    const e = await endpoints();
    const messages = (await peekMessages(sqsClient(e), e.dlqUrl)).filter(
      (message) => file === undefined || dlqFile(message) === file,
    );
    if (file !== undefined && messages.length === 0) {
      out(`(no failure record of ${file})`);
      return;
    }
    out(args.flags.get('full') === true ? dlqDetails(messages) : dlqTable(messages));
  },

  redrive: async (_argv, endpoints) => {
    const e = await endpoints();
    const moved = await redrive(sqsClient(e), e.dlqUrl, e.queueUrl);
    out(`Moved ${moved} message(s) from the DLQ back to ${e.queueUrl}`);
  },

  token: async (_argv, endpoints) => {
    out((await fetchToken(await endpoints())).access_token);
  },

  get: async (argv, endpoints) => {
    const args = parseArgs(argv, ['dataset']);
    const [key] = args.positional;
    if (key === undefined) throw new UsageError('get needs a key');
    const e = await endpoints();
    const dataset = datasetNamed(e, args.flags.get('dataset'));
    await callApi(e, 'GET', `/${dataset.name}/${encodeURIComponent(key)}`);
  },

  'batch-get': async (argv, endpoints) => {
    const args = parseArgs(argv, ['dataset']);
    if (args.positional.length === 0) throw new UsageError('batch-get needs at least one key');
    const e = await endpoints();
    const dataset = datasetNamed(e, args.flags.get('dataset'));
    await callApi(
      e,
      'POST',
      `/${dataset.name}/batch-get`,
      batchGetBody(args.positional, dataset.keyType === 'N'),
    );
  },

  generate: async (argv) => {
    const { file, dataset, datasetsFile, ...options } = parseGenerateArgs(argv);
    const schema = await requestedSchema({ dataset, datasetsFile });
    const result = await writeGeneratedFile(file, { ...options, schema });
    out(
      `${file}: ${count(result.rows)} rows of dataset "${schema.name}", ${count(result.bytes)} bytes`,
    );
  },
};

/**
 * Shows one progress line per upload: redrawn in place on a terminal; elsewhere
 * printed again whenever its chunks, rows or status change.
 */
function liveLines(width: number): (watched: readonly WatchedUpload[]) => void {
  let drawn = 0;
  const printed = new Map<string, string>();
  return (watched) => {
    const lines = watched.map(({ upload, execution }) => ({
      key: upload.key,
      text: execution
        ? progressLine(execution, width)
        : `${truncate(upload.key, width).padEnd(width)} waiting for its execution to start…`,
      state: execution ? `${execution.status} ${chunksAndRows(execution)}` : 'waiting',
    }));
    if (process.stdout.isTTY) {
      if (drawn > 0) process.stdout.write(`\x1b[${drawn}A`);
      for (const line of lines) process.stdout.write(`\x1b[2K  ${line.text}\n`);
      drawn = lines.length;
      return;
    }
    for (const line of lines) {
      if (printed.get(line.key) === line.state) continue;
      printed.set(line.key, line.state);
      out(`  ${line.text}`);
    }
  };
}

function chunksAndRows(execution: ExecutionView): string {
  const progress = progressFromHistory(execution.events);
  return `${progress.chunksDone}/${progress.chunks ?? '?'} ${rowsOf(execution)}`;
}

async function callApi(
  e: Endpoints,
  method: 'GET' | 'POST',
  path: string,
  body?: string,
): Promise<void> {
  const token = (await fetchToken(e)).access_token;
  const client = await ApiClient.create(e);
  try {
    const response = await client.send(method, path, {
      token,
      ...(body === undefined ? {} : { body }),
    });
    out(`HTTP ${response.status}`);
    out(prettyJson(response.body));
    if (response.status >= 400) process.exitCode = 1;
  } finally {
    await client.close();
  }
}

function sfnClient(e: Endpoints): SFNClient {
  return new SFNClient({
    region: e.region,
    endpoint: e.stepfunctions,
    credentials: LOCAL_CREDENTIALS,
  });
}

function sqsClient(e: Endpoints): SQSClient {
  return new SQSClient({ region: e.region, endpoint: e.sqs, credentials: LOCAL_CREDENTIALS });
}

function stateName(event: HistoryEvent): string {
  return (
    event.stateEnteredEventDetails?.name ??
    event.stateExitedEventDetails?.name ??
    event.mapIterationStartedEventDetails?.name ??
    event.mapIterationSucceededEventDetails?.name ??
    event.mapIterationFailedEventDetails?.name ??
    ''
  );
}

function detail(event: HistoryEvent): string {
  const failed = event.taskFailedEventDetails ?? event.executionFailedEventDetails;
  if (failed) return `${failed.error ?? ''}: ${readableCause(failed.cause)}`;
  if (event.mapStateStartedEventDetails)
    return `${event.mapStateStartedEventDetails.length ?? 0} items`;
  const iteration =
    event.mapIterationStartedEventDetails ??
    event.mapIterationSucceededEventDetails ??
    event.mapIterationFailedEventDetails;
  if (iteration) return `index ${iteration.index ?? 0}`;
  return (
    event.stateExitedEventDetails?.output ?? event.executionSucceededEventDetails?.output ?? ''
  );
}

async function main(argv: readonly string[]): Promise<void> {
  const [name = 'help', ...rest] = argv;
  const command = commands[name];
  if (!command) throw new UsageError(`Unknown command "${name}".\n\n${USAGE}`);
  let cached: Promise<Endpoints> | undefined;
  await command(rest, () => {
    cached ??= readEndpointsFromEnv(process.env);
    return cached;
  });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
