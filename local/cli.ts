import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { type HistoryEvent, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Upload } from '@aws-sdk/lib-storage';
import { ApiClient, batchGetBody, fetchToken } from './cli/api-client.js';
import { parseArgs, UsageError } from './cli/args.js';
import { count, duration, prettyJson, readableCause, table, truncate } from './cli/format.js';
import { dlqTable, executionsTable } from './cli/report.js';
import { allEvents, describeExecution, resolveExecution } from './cli/sfn-views.js';
import { LOCAL_CREDENTIALS } from './config.js';
import { type Endpoints, readEndpoints } from './endpoints.js';
import { generateCsv, parseGenerateArgs } from './generate-csv.js';
import { peekMessages, redrive } from './wiring/redrive.js';

const USAGE = `Usage: npm run cli -- <command> [arguments]

Works against the running local stack (npm start), found through .local/endpoints.json
(or <dir>/endpoints.json with LOCAL_DATA_DIR=<dir>, for a stack started with --data-dir).

Commands:
  upload <files...> [--prefix p/]  upload files to the bucket (multipart, with progress)
  executions [--watch]             list executions with progress; --watch refreshes every second
  history <execution | file>       the history of one execution (name, ARN, or the latest of a file key)
  dlq                              the dead-letter queue: file, error, cause
  redrive                          move every DLQ message back to the file-events queue
  token                            print an access token (client-credentials grant)
  get <key>                        read one item through the HTTPS API
  batch-get <keys...>              read up to 100 items through the HTTPS API
  generate <rows> <file> [--seed N] [--lf] [--bom] [--duplicate-every N]
                                   write a synthetic CSV file of the dataset
  help                             show this help
`;

const out = (text = '') => process.stdout.write(`${text}\n`);

type Command = (args: string[], endpoints: () => Promise<Endpoints>) => Promise<void>;

const commands: Record<string, Command> = {
  help: async () => {
    out(USAGE);
  },

  upload: async (argv, endpoints) => {
    const args = parseArgs(argv, ['prefix']);
    if (args.positional.length === 0) throw new UsageError('upload needs at least one file');
    const e = await endpoints();
    const s3 = new S3Client({
      region: e.region,
      endpoint: e.s3,
      forcePathStyle: true,
      credentials: LOCAL_CREDENTIALS,
    });
    const prefix = String(args.flags.get('prefix') ?? '');
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
      await upload.done();
      if (process.stdout.isTTY) process.stdout.write('\r\x1b[2K');
      out(`  s3://${e.bucket}/${key}  ${count(size)} bytes  ${duration(Date.now() - started)}`);
    }
  },

  executions: async (argv, endpoints) => {
    const args = parseArgs(argv, []);
    const e = await endpoints();
    const sfn = sfnClient(e);
    const render = async () => {
      const listed = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn: e.stateMachineArn, maxResults: 50 }),
      );
      return executionsTable(
        await Promise.all((listed.executions ?? []).map((item) => describeExecution(sfn, item))),
      );
    };
    if (args.flags.get('watch') !== true) {
      out(await render());
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
    const [name] = argv;
    if (!name) throw new UsageError('history needs an execution name or ARN, or a file key');
    const e = await endpoints();
    const sfn = sfnClient(e);
    const arn = await resolveExecution(sfn, e.stateMachineArn, name);
    const events = await allEvents(sfn, arn);
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

  dlq: async (_argv, endpoints) => {
    const e = await endpoints();
    out(dlqTable(await peekMessages(sqsClient(e), e.dlqUrl)));
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
    const [key] = argv;
    if (key === undefined) throw new UsageError('get needs a key');
    const e = await endpoints();
    await callApi(e, 'GET', `/${e.dataset.name}/${encodeURIComponent(key)}`);
  },

  'batch-get': async (argv, endpoints) => {
    if (argv.length === 0) throw new UsageError('batch-get needs at least one key');
    const e = await endpoints();
    await callApi(
      e,
      'POST',
      `/${e.dataset.name}/batch-get`,
      batchGetBody(argv, e.dataset.keyType === 'N'),
    );
  },

  generate: async (argv) => {
    const { file, ...options } = parseGenerateArgs(argv);
    const output = createWriteStream(file);
    const result = await generateCsv(options, output);
    output.end();
    await once(output, 'finish');
    out(`${file}: ${count(result.rows)} rows, ${count(result.bytes)} bytes`);
  },
};

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
    cached ??= readEndpoints(process.env.LOCAL_DATA_DIR || undefined);
    return cached;
  });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
