import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { FauxqsServer } from 'fauxqs';
import { DATASET_PLACEHOLDER, datasetScope } from '../handlers/api/config.js';
import {
  type AppConfig,
  apiEnvironment,
  FILE_EVENTS_VISIBILITY_TIMEOUT_SECONDS,
  failureRecordEnvironment,
  HANDLER_SIZING,
  loadAppConfig,
  loadChunkEnvironment,
  planFileEnvironment,
  STARTER_MAX_BATCHING_WINDOW_SECONDS,
  startIngestionEnvironment,
} from '../infra/config.js';
import { type AlbFront, startAlbFront } from './api/alb-front.js';
import { loadOrCreateCertificate } from './api/certificate.js';
import { type LocalIssuer, startIssuer } from './auth/issuer.js';
import { liveRowsReader } from './cli/live-rows.js';
import {
  DEFAULT_DATA_DIR,
  dataPaths,
  LOCAL_ACCOUNT,
  LOCAL_CLIENT,
  LOCAL_CREDENTIALS,
  PORTS,
  type PortName,
  PROJECT_ROOT,
  portSpec,
  type ResourceNames,
  resourceNames,
} from './config.js';
import { bundleUi } from './console/bundle.js';
import { type ConsoleServer, startConsole } from './console/server.js';
import { type AwsFront, startAwsFront } from './emulators/aws-front.js';
import {
  type DynamoDbEmulator,
  startDynamoDb,
  startDynamoDbProcess,
} from './emulators/dynamodb.js';
import {
  type DynamoDbFaultProxy,
  type DynamoDbFaults,
  startDynamoDbFaultProxy,
} from './emulators/dynamodb-faults.js';
import { startS3AndSqs } from './emulators/fauxqs.js';
import type { Endpoints } from './endpoints.js';
import { importWithLogsTo } from './lambda/log-capture.js';
import {
  applyFunctionEnvironment,
  type InvokeInterceptor,
  LambdaRuntime,
  type LocalFunction,
} from './lambda/runtime.js';
import { assertPortFree, close, type PortSpec } from './ports.js';
import { prepareDefinition } from './stepfunctions/definition.js';
import { type Execution, ExecutionService } from './stepfunctions/executions.js';
import { type StepFunctionsEndpoint, startStepFunctionsEndpoint } from './stepfunctions/server.js';
import { ExecutionStore } from './stepfunctions/store.js';
import { bindTasks } from './stepfunctions/tasks.js';
import { MessageMoveTasks, SqsApiError } from './wiring/message-moves.js';
import { type NotificationBridge, startNotificationBridge } from './wiring/s3-notifications.js';
import {
  type BatchOutcome,
  type EventSource,
  startEventSource,
} from './wiring/sqs-event-source.js';

/** Faults the stack can inject, for resilience tests; handler code is never changed. */
export interface LocalStackFaults {
  /** Throttle/partially fail DynamoDB BatchWriteItem through a proxy in front of dynalite. */
  readonly dynamodb?: DynamoDbFaults;
  /** The first load-chunk invocation does its work, then its sandbox dies (Sandbox.Timedout). */
  readonly crashLoadChunkOnce?: boolean;
}

/** How to start the local stack. */
/**
 * How long stopping the stack waits for running handlers (a Ctrl-C stays quick even
 * while ten loaders are each minutes into a chunk).
 */
export const DRAIN_MS = 5_000;

export interface LocalStackOptions {
  /** Port per server; 0 picks a free port. @default PORTS */
  readonly ports?: Partial<Record<PortName, number>>;
  /** Where data, certificate and endpoints.json live. @default <project>/.local */
  readonly dataDir?: string;
  /** Keep DynamoDB, S3 and SQS in memory instead of under dataDir. @default false */
  readonly inMemory?: boolean;
  /** Write `<dataDir>/endpoints.json` (and remove it on stop). @default true */
  readonly writeEndpointsFile?: boolean;
  /** cdk.json context overrides, as `cdk deploy -c name=value`. */
  readonly context?: Readonly<Record<string, unknown>>;
  /** Visibility timeout of the file-events queue. @default 6 × the starter's timeout, as AWS advises */
  readonly visibilityTimeoutSeconds?: number;
  /** Long-poll wait of the event source, in seconds. @default 20 */
  readonly pollWaitSeconds?: number;
  /** Run dynalite inside this process instead of a child process. @default false */
  readonly dynamoDbInProcess?: boolean;
  /** Powertools log level of the handlers. @default the configured logLevel */
  readonly logLevel?: string;
  readonly faults?: LocalStackFaults;
  /** Where the handlers' structured logs go (like CloudWatch Logs). @default the process's stdout */
  readonly handlerLogs?: Writable;
  /** Receives the stack's own diagnostics (poll errors, failed batches). */
  readonly onLog?: (message: string) => void;
  /**
   * Wraps every Lambda invocation (tests hold, reorder or fail invocations with it to
   * force an interleaving deterministically); `next` runs the real handler.
   */
  readonly interceptInvoke?: InvokeInterceptor;
  /**
   * How long stopping waits for running handlers before it stops the emulators under
   * them. @default DRAIN_MS
   */
  readonly drainMs?: number;
  /**
   * Called when an emulator died and cannot be brought back (dynalite in memory, or a
   * crash loop); the stack has been stopped by then. @default the error is only logged
   */
  readonly onFatal?: (error: Error) => void;
}

/** A running local stack. */
export interface LocalStack {
  readonly endpoints: Endpoints;
  readonly config: AppConfig;
  readonly names: ResourceNames;
  readonly executions: ExecutionService;
  readonly clients: {
    readonly s3: S3Client;
    readonly sqs: SQSClient;
    readonly dynamodb: DynamoDBClient;
    readonly sfn: SFNClient;
  };
  /** What the DynamoDB fault proxy did, when faults are on. */
  readonly faultCounters?: DynamoDbFaultProxy['counters'];
  /** The DynamoDB fault proxy, when faults are on: an outage on demand. */
  readonly dynamoDbFaults?: Pick<DynamoDbFaultProxy, 'refuseConnections' | 'acceptConnections'>;
  /** The emulators the stack supervises (dynalite's child process id, its restarts). */
  readonly emulators: { readonly dynamodb: DynamoDbEmulator };
  /**
   * Executions the last stack left running (stopped or killed mid-run), run again
   * from the start at this start, under their names. Empty in memory.
   */
  readonly resumed: readonly Execution[];
  /** Calls of the event source, for observers (the CLI's live view, tests). */
  onBatch(listener: (outcome: BatchOutcome) => void): void;
  /** Stops everything, in reverse order of start; data on disk stays intact. */
  stop(): Promise<void>;
}

/**
 * Starts the whole pipeline on this machine: emulators, the Step Functions
 * endpoint running the ASL file, the issuer, the HTTPS front, and the wiring
 * between them, with names and settings from the same configuration the CDK app
 * uses. Handler modules are imported once per process (they read their
 * configuration at import), so start one stack per process.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const config = loadAppConfig(undefined, options.context ?? {});
  const names = resourceNames(config);
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
  const paths = dataPaths(dataDir);
  const persist = !options.inMemory;
  const log = options.onLog ?? (() => undefined);
  const spec = (name: PortName): PortSpec => portSpec(name, options.ports?.[name]);

  // Fail fast, naming the port, before anything starts.
  for (const name of Object.keys(PORTS) as PortName[]) await assertPortFree(spec(name));
  await mkdir(dataDir, { recursive: true });
  // The console's page is bundled while the emulators boot (awaited when the console starts).
  const consolePage = bundleUi();
  consolePage.catch(() => undefined);

  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        log(`while stopping: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    stops.length = 0;
  };

  try {
    // --- emulators -------------------------------------------------------
    // fauxqs on a port of its own; the public S3 + SQS port is the front that adds
    // SQS's message move tasks (started below, once the SQS client exists).
    const fauxqs: FauxqsServer = await startS3AndSqs({
      port: 0,
      region,
      ...(persist ? { dataDir: paths.fauxqs } : {}),
    });
    stops.push(() => fauxqs.stop());
    // The stack's own clients and the handlers talk to fauxqs directly (no extra hop).
    const awsEndpoint = `http://127.0.0.1:${fauxqs.port}`;

    const dynamoOptions = {
      port: spec('dynamodb'),
      ...(persist ? { dataDir: paths.dynamodb } : {}),
    };
    const dynamo: DynamoDbEmulator = options.dynamoDbInProcess
      ? await startDynamoDb(dynamoOptions)
      : await startDynamoDbProcess(dynamoOptions, {
          onRestart: (message) => log(message),
          onFatal: (error) => {
            log(error.message);
            void stopAll().then(() => options.onFatal?.(error));
          },
        });
    stops.push(() => dynamo.stop());
    const dynamoEndpoint = `http://127.0.0.1:${dynamo.port}`;

    let faultProxy: DynamoDbFaultProxy | undefined;
    if (options.faults?.dynamodb) {
      faultProxy = await startDynamoDbFaultProxy(dynamo.port, options.faults.dynamodb, {
        service: 'DynamoDB fault proxy',
        port: 0,
        flag: '(a free port is chosen)',
      });
      const proxyServer: Server = faultProxy.server;
      stops.push(() => close(proxyServer));
    }
    const handlerDynamoEndpoint = faultProxy
      ? `http://127.0.0.1:${faultProxy.port}`
      : dynamoEndpoint;

    const s3 = new S3Client({
      region,
      endpoint: awsEndpoint,
      forcePathStyle: true,
      credentials: LOCAL_CREDENTIALS,
    });
    const sqs = new SQSClient({ region, endpoint: awsEndpoint, credentials: LOCAL_CREDENTIALS });
    const dynamodb = new DynamoDBClient({
      region,
      endpoint: dynamoEndpoint,
      credentials: LOCAL_CREDENTIALS,
    });

    // --- resources -------------------------------------------------------
    const queueArn = `arn:aws:sqs:${region}:${LOCAL_ACCOUNT}:${names.queue}`;
    const dlqArn = `arn:aws:sqs:${region}:${LOCAL_ACCOUNT}:${names.dlq}`;
    const visibilityTimeout =
      options.visibilityTimeoutSeconds ?? FILE_EVENTS_VISIBILITY_TIMEOUT_SECONDS;
    const setup = fauxqs.setup({
      queues: [
        { name: names.dlq, attributes: { MessageRetentionPeriod: '1209600' } },
        {
          name: names.queue,
          attributes: {
            VisibilityTimeout: String(visibilityTimeout),
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: dlqArn,
              maxReceiveCount: String(config.maxReceiveCount),
            }),
          },
        },
      ],
      buckets: [names.bucket],
    });
    for (const dataset of config.datasets) {
      await createTable(dynamodb, names.tables[dataset.name] ?? '', [
        [dataset.key, dataset.keyType],
      ]);
    }
    await createTable(dynamodb, names.controlTable, [
      ['pk', 'S'],
      ['sk', 'S'],
    ]);

    const moveTasks = new MessageMoveTasks(sqs);
    const awsFront: AwsFront = await startAwsFront(
      fauxqs.port,
      {
        StartMessageMoveTask: (request) => moveTasks.start(request),
        ListMessageMoveTasks: (request) => moveTasks.list(request),
        CancelMessageMoveTask: (request) => moveTasks.cancel(request),
      },
      (error): error is SqsApiError => error instanceof SqsApiError,
      spec('aws'),
    );
    stops.push(() => close(awsFront.server));
    stops.push(() => moveTasks.stop());
    const publicAwsEndpoint = `http://127.0.0.1:${awsFront.port}`;
    // Queue URLs as users see them (fauxqs finds a queue by its name whatever the port).
    const publicUrlOf = (name: string) =>
      (setup.queues.find((queue) => queue.name === name)?.url ?? '').replace(
        /:\d+\//,
        `:${awsFront.port}/`,
      );
    const queueUrl = publicUrlOf(names.queue);
    const dlqUrl = publicUrlOf(names.dlq);

    // --- issuer and TLS --------------------------------------------------
    // As Cognito: one resource server named after the first dataset, one scope per dataset.
    const audience = `${config.dataset.name}-api`;
    const scopeTemplate = `${audience}/${DATASET_PLACEHOLDER}.${config.cognitoScopeName}`;
    const scopes = config.datasets.map(({ name }) => datasetScope(scopeTemplate, name));
    const scope = scopes.join(' ');
    const issuer: LocalIssuer = await startIssuer(
      {
        ...LOCAL_CLIENT,
        audience,
        scopes,
        tokenTtlSeconds: config.accessTokenValidityMinutes * 60,
      },
      spec('auth'),
      persist ? paths.issuerKey : undefined,
    );
    stops.push(() => issuer.stop());
    const tls = await loadOrCreateCertificate(paths.tls);

    // --- functions -------------------------------------------------------
    const stateMachineArn = `arn:aws:states:${region}:${LOCAL_ACCOUNT}:stateMachine:${names.stateMachine}`;
    const functionArn = (name: string) =>
      `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${name}`;
    const fn = (
      handler: keyof typeof HANDLER_SIZING,
      env: Record<string, string>,
    ): LocalFunction => ({
      name: names.functions[handler],
      arn: functionArn(names.functions[handler]),
      module: join(PROJECT_ROOT, 'handlers', handler, 'index.ts'),
      ...HANDLER_SIZING[handler],
      env,
    });
    const functions = {
      starter: fn('start-ingestion', startIngestionEnvironment(config, { stateMachineArn })),
      planFile: fn('plan-file', planFileEnvironment(config)),
      loadChunk: fn(
        'load-chunk',
        loadChunkEnvironment(config, {
          tableNames: names.tables,
          controlTableName: names.controlTable,
        }),
      ),
      failureRecord: fn('failure-record', failureRecordEnvironment(config)),
      api: fn(
        'api',
        apiEnvironment(config, {
          tableNames: names.tables,
          auth: {
            issuer: issuer.issuer,
            audience,
            audienceClaim: 'aud',
            jwksUri: issuer.jwksUri,
            scope: scopeTemplate,
          },
        }),
      ),
    };
    const sfnPort = spec('stepfunctions');

    // --- Step Functions ---------------------------------------------------
    const prepared = await prepareDefinition(
      join(PROJECT_ROOT, 'statemachines', 'ingest-file.asl.json'),
      {
        PlanFileFunctionArn: functions.planFile.arn,
        LoadChunkFunctionArn: functions.loadChunk.arn,
        FailureRecordFunctionArn: functions.failureRecord.arn,
        DeadLetterQueueUrl: dlqUrl,
        MapMaxConcurrency: String(config.mapMaxConcurrency),
      },
    );
    const runtime = new LambdaRuntime(
      Object.values(functions),
      composeInterceptors(
        crashInterceptor(options.faults, functions.loadChunk),
        options.interceptInvoke,
      ),
    );
    // Stopped after the executions and before the emulators (stops run in reverse): a
    // handler about to finish gets a moment; a long load is cut off, as a crash would
    // (its execution resumes on the next start).
    stops.push(async () => {
      await runtime.drain(options.drainMs ?? DRAIN_MS);
    });
    const executions = new ExecutionService(
      {
        name: names.stateMachine,
        arn: stateMachineArn,
        roleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/${names.stateMachine}-role`,
        region,
        account: LOCAL_ACCOUNT,
        createdAt: new Date(),
      },
      prepared,
      bindTasks(prepared.tasks, runtime, sqs),
      persist ? new ExecutionStore(paths.executions) : undefined,
    );
    stops.push(() => executions.stop());
    const sfnEndpoint: StepFunctionsEndpoint = await startStepFunctionsEndpoint(
      executions,
      sfnPort,
    );
    stops.push(() => close(sfnEndpoint.server));
    const stepfunctions = `http://127.0.0.1:${sfnEndpoint.port}`;

    // Handlers read configuration and build SDK clients at import: environment first.
    applyFunctionEnvironment(Object.values(functions), {
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: awsEndpoint,
      AWS_ENDPOINT_URL_SQS: awsEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB: handlerDynamoEndpoint,
      AWS_ENDPOINT_URL_SFN: stepfunctions,
      S3_FORCE_PATH_STYLE: 'true',
      // One process, one logger: the handlers share a service name locally.
      POWERTOOLS_SERVICE_NAME: `${config.dataset.name}-local`,
      POWERTOOLS_LOG_LEVEL: options.logLevel ?? config.logLevel,
    });
    if (options.handlerLogs) {
      await importWithLogsTo(options.handlerLogs, () => runtime.warmUp());
    } else {
      await runtime.warmUp();
    }

    const sfn = new SFNClient({ region, endpoint: stepfunctions, credentials: LOCAL_CREDENTIALS });

    // --- HTTPS front -----------------------------------------------------
    const front: AlbFront = await startAlbFront(
      runtime,
      functions.api,
      tls,
      spec('api'),
      `arn:aws:elasticloadbalancing:${region}:${LOCAL_ACCOUNT}:targetgroup/${names.functions.api}/local`,
    );
    stops.push(() => close(front.server as unknown as Server));

    // --- wiring ----------------------------------------------------------
    const bridge: NotificationBridge = startNotificationBridge(
      fauxqs.spy,
      s3,
      sqs,
      { bucket: names.bucket, queueUrl, region },
      (error) =>
        log(`S3 notification bridge: ${error instanceof Error ? error.message : String(error)}`),
    );
    stops.push(() => bridge.stop());
    const batchListeners = new Set<(outcome: BatchOutcome) => void>();
    const source: EventSource = startEventSource(
      runtime,
      functions.starter,
      sqs,
      {
        queueUrl,
        queueArn,
        region,
        batchSize: config.starterBatchSize,
        maxConcurrency: config.starterMaxConcurrency,
        waitTimeSeconds: options.pollWaitSeconds ?? 20,
        // The CDK SqsEventSource's maxBatchingWindow (infra/stack.ts): the same constant.
        batchWindowSeconds: STARTER_MAX_BATCHING_WINDOW_SECONDS,
      },
      (outcome) => {
        if (outcome.failed > 0) {
          log(
            `start-ingestion: ${outcome.failed} of ${outcome.received} message(s) will be retried` +
              (outcome.functionError ? ` (${outcome.functionError})` : ''),
          );
        }
        for (const listener of batchListeners) listener(outcome);
      },
      (error) => log(`SQS poller: ${error instanceof Error ? error.message : String(error)}`),
    );
    stops.push(() => source.stop());

    const base: Omit<Endpoints, 'console'> = {
      region,
      s3: publicAwsEndpoint,
      sqs: publicAwsEndpoint,
      dynamodb: dynamoEndpoint,
      stepfunctions,
      api: `https://localhost:${front.port}`,
      issuer: issuer.issuer,
      tokenUrl: issuer.tokenUrl,
      jwksUri: issuer.jwksUri,
      clientId: LOCAL_CLIENT.clientId,
      clientSecret: LOCAL_CLIENT.clientSecret,
      scope,
      audience,
      bucket: names.bucket,
      table: names.table,
      controlTable: names.controlTable,
      queueUrl,
      dlqUrl,
      stateMachineArn,
      caCertFile: tls.certFile,
      dataset: {
        name: config.dataset.name,
        key: config.dataset.key,
        keyType: config.dataset.keyType,
      },
      datasets: config.datasets.map(({ name, key, keyType }) => ({
        name,
        key,
        keyType,
        table: names.tables[name] ?? '',
        scope: datasetScope(scopeTemplate, name),
      })),
      pid: process.pid,
    };

    // --- console ---------------------------------------------------------
    const liveRows = liveRowsReader(base);
    stops.push(async () => liveRows.close());
    const consoleServer: ConsoleServer = await startConsole(
      {
        executions,
        s3,
        sqs,
        sfn,
        endpoints: base,
        columns: Object.fromEntries(
          config.datasets.map(({ name, columns }) => [name, columns.map((column) => column.name)]),
        ),
        liveRows: liveRows.read,
      },
      spec('console'),
      { bundle: consolePage },
    );
    stops.push(() => consoleServer.stop());
    const endpoints: Endpoints = { ...base, console: consoleServer.url };

    if (options.writeEndpointsFile !== false) {
      // Written whole, then renamed: a tool reading it never sees half a file.
      const partial = `${paths.endpoints}.${process.pid}.tmp`;
      await writeFile(partial, `${JSON.stringify(endpoints, null, 2)}\n`);
      await rename(partial, paths.endpoints);
      stops.unshift(() => rm(paths.endpoints, { force: true }));
    }

    // Everything is wired: executions the last stack left running continue now.
    const resumed = executions.resumeInterrupted();

    return {
      endpoints,
      config,
      names,
      executions,
      resumed,
      clients: { s3, sqs, dynamodb, sfn },
      ...(faultProxy
        ? {
            faultCounters: faultProxy.counters,
            dynamoDbFaults: {
              refuseConnections: () => faultProxy.refuseConnections(),
              acceptConnections: () => faultProxy.acceptConnections(),
            },
          }
        : {}),
      emulators: { dynamodb: dynamo },
      onBatch: (listener) => {
        batchListeners.add(listener);
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** A table's keys: partition key, and sort key when it has one, with their types. */
type TableKeys = readonly (readonly [name: string, type: 'S' | 'N'])[];

/** Creates a table as the CDK stack defines it (on-demand, the given keys), if absent. */
async function createTable(client: DynamoDBClient, table: string, keys: TableKeys): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: keys.map(([name, type]) => ({
          AttributeName: name,
          AttributeType: type,
        })),
        KeySchema: keys.map(([name], index) => ({
          AttributeName: name,
          KeyType: index === 0 ? 'HASH' : 'RANGE',
        })),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const described = await client.send(new DescribeTableCommand({ TableName: table }));
    if (described.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`table ${table} did not become ACTIVE`);
}

/** One interceptor that applies `inner` first and `outer` around it; either may be absent. */
function composeInterceptors(
  inner: InvokeInterceptor | undefined,
  outer: InvokeInterceptor | undefined,
): InvokeInterceptor | undefined {
  if (inner === undefined || outer === undefined) return inner ?? outer;
  return (fn, event, next) => outer(fn, event, () => inner(fn, event, next));
}

/**
 * The "load-chunk crashes once" fault: the first invocation runs to completion
 * (its rows are written), then its sandbox is reported dead, as when Lambda
 * kills a function at its deadline. The workflow retries the chunk.
 */
function crashInterceptor(
  faults: LocalStackFaults | undefined,
  loadChunk: LocalFunction,
): InvokeInterceptor | undefined {
  if (!faults?.crashLoadChunkOnce) return undefined;
  let crashed = false;
  return async (fn, _event, next) => {
    const outcome = await next();
    if (fn.name !== loadChunk.name || crashed) return outcome;
    crashed = true;
    return {
      ok: false,
      error: {
        errorType: 'Sandbox.Timedout',
        errorMessage: `Task timed out after ${loadChunk.timeoutSeconds.toFixed(2)} seconds (injected crash)`,
        trace: [],
      },
    };
  };
}
