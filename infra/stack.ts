import {
  Annotations,
  Aws,
  CfnOutput,
  CfnParameter,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Tags,
  Validations,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type { CfnBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { datasetScope } from '../handlers/api/config.js';
import { LoadBalancedApi } from './api.js';
import { planConcurrency } from './concurrency.js';
import {
  type AppConfig,
  apiEnvironment,
  FILE_EVENTS_VISIBILITY_TIMEOUT_SECONDS,
  failureRecordEnvironment,
  HANDLER_SIZING,
  type HandlerName,
  loadChunkEnvironment,
  planFileEnvironment,
  STARTER_MAX_BATCHING_WINDOW_SECONDS,
  startIngestionEnvironment,
} from './config.js';
import { FileEvents } from './events.js';
import { HandlerFunction } from './handler-function.js';
import { clientSecretCommand, defaultDomainPrefix, Identity } from './identity.js';
import { pascal } from './names.js';
import { Network } from './network.js';
import { Operations } from './operations.js';
import { Storage } from './storage.js';
import { IngestWorkflow } from './workflow.js';

/** Props of the ingestion stack. */
export interface IngestionStackProps extends StackProps {
  /** The validated configuration (see infra/config.ts). */
  readonly config: AppConfig;
}

/**
 * Resource types the stack's tags skip: the schemas of the installed cfn-lint (1.51)
 * have no `Tags` on them in every region, and a region whose CloudFormation lacks the
 * property would fail the deployment over a tag.
 */
export const UNTAGGED_RESOURCE_TYPES = [
  'AWS::ElasticLoadBalancingV2::Listener',
  'AWS::ElasticLoadBalancingV2::ListenerRule',
  'AWS::CloudWatch::Dashboard',
];

/** Memory and timeout of one handler, from HANDLER_SIZING. */
function sizing(handler: HandlerName): { memorySize: number; timeout: Duration } {
  const { memoryMb, timeoutSeconds } = HANDLER_SIZING[handler];
  return { memorySize: memoryMb, timeout: Duration.seconds(timeoutSeconds) };
}

/**
 * The whole system in one stack: storage, file events, the five handlers, the
 * workflow, identity, the load-balanced API and operations.
 */
export class IngestionStack extends Stack {
  constructor(scope: Construct, id: string, props: IngestionStackProps) {
    super(scope, id, props);
    const { config } = props;
    // Only a dev stage may lose data when the stack is deleted.
    const removalPolicy = config.stage === 'dev' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const tagProps = { excludeResourceTypes: UNTAGGED_RESOURCE_TYPES };
    Tags.of(this).add('project', 'csv-ingestion', tagProps);
    Tags.of(this).add('stage', config.stage, tagProps);
    // Each table carries its own `dataset` tag (infra/storage.ts).
    const concurrency = planConcurrency(config);
    for (const warning of concurrency.warnings) {
      Annotations.of(this).addWarningV2(warning.id, warning.message);
    }

    const storage = new Storage(this, 'Storage', {
      datasets: config.datasets.map((schema) => {
        const maxWriteThroughput = config.datasetMaxWriteThroughput[schema.name];
        return { schema, ...(maxWriteThroughput === undefined ? {} : { maxWriteThroughput }) };
      }),
      removalPolicy,
      noncurrentVersionExpirationDays: config.noncurrentVersionExpirationDays,
    });
    const tables = [...storage.tables.values()];
    const tableNames = Object.fromEntries(
      [...storage.tables].map(([name, table]) => [name, table.tableName]),
    );

    const events = new FileEvents(this, 'FileEvents', {
      bucket: storage.dataBucket,
      visibilityTimeout: Duration.seconds(FILE_EVENTS_VISIBILITY_TIMEOUT_SECONDS),
      maxReceiveCount: config.maxReceiveCount,
      removalPolicy,
    });

    const network = new Network(this, 'Network', {
      privateSubnets: config.apiInVpc,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
    });

    const identity = new Identity(this, 'Identity', {
      ...(config.auth === undefined ? {} : { external: config.auth }),
      resourceServerId: `${config.dataset.name}-api`,
      scopeName: config.cognitoScopeName,
      datasets: config.datasets.map((dataset) => dataset.name),
      domainPrefix:
        config.cognitoDomainPrefix ?? defaultDomainPrefix(config.dataset.name, config.stage),
      accessTokenValidity: Duration.minutes(config.accessTokenValidityMinutes),
      removalPolicy,
    });

    const common = {
      logRetentionDays: config.logRetentionDays,
      logLevel: config.logLevel,
      removalPolicy,
    };
    const planFile = new HandlerFunction(this, 'PlanFile', {
      ...common,
      ...sizing('plan-file'),
      handler: 'plan-file',
      description: 'Validates a whole CSV object and plans its chunks',
      environment: planFileEnvironment(config),
    });
    const loadChunk = new HandlerFunction(this, 'LoadChunk', {
      ...common,
      ...sizing('load-chunk'),
      handler: 'load-chunk',
      description: 'Loads one planned chunk into DynamoDB',
      environment: loadChunkEnvironment(config, {
        tableNames,
        controlTableName: storage.controlTable.tableName,
      }),
      ...(concurrency.loaderReserved === undefined
        ? {}
        : { reservedConcurrentExecutions: concurrency.loaderReserved }),
    });

    const failureRecord = new HandlerFunction(this, 'FailureRecord', {
      ...common,
      ...sizing('failure-record'),
      handler: 'failure-record',
      description: "Makes a failed file's record safe to send to the dead-letter queue",
      environment: failureRecordEnvironment(config),
    });

    const workflow = new IngestWorkflow(this, 'Workflow', {
      planFile: planFile.function,
      loadChunk: loadChunk.function,
      failureRecord: failureRecord.function,
      deadLetterQueue: events.deadLetterQueue,
      mapMaxConcurrency: config.mapMaxConcurrency,
      logLevel: config.workflowLogLevel,
      includeExecutionData: config.workflowIncludeExecutionData,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
    });

    const starter = new HandlerFunction(this, 'StartIngestion', {
      ...common,
      ...sizing('start-ingestion'),
      handler: 'start-ingestion',
      description: 'Starts one ingest-file execution per uploaded object version',
      environment: startIngestionEnvironment(config, {
        stateMachineArn: workflow.stateMachine.stateMachineArn,
      }),
    });
    starter.function.addEventSource(
      new sources.SqsEventSource(events.queue, {
        batchSize: config.starterBatchSize,
        maxBatchingWindow: Duration.seconds(STARTER_MAX_BATCHING_WINDOW_SECONDS),
        reportBatchItemFailures: true,
        maxConcurrency: config.starterMaxConcurrency,
      }),
    );

    const api = new HandlerFunction(this, 'Api', {
      ...common,
      ...sizing('api'),
      handler: 'api',
      description: 'Read API behind the load balancer',
      environment: apiEnvironment(config, {
        tableNames,
        auth: identity.auth,
      }),
      ...(config.apiInVpc
        ? { vpc: network.vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } }
        : {}),
      ...(concurrency.apiReserved === undefined
        ? {}
        : { reservedConcurrentExecutions: concurrency.apiReserved }),
    });

    // Least privilege, statement by statement: each handler gets exactly the calls it makes.
    starter.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [workflow.stateMachine.stateMachineArn],
      }),
    );
    const objects = storage.dataBucket.arnForObjects('*');
    // ListBucket turns HeadObject on a vanished key into 404 instead of 403, a terminal error.
    planFile.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [storage.dataBucket.bucketArn],
      }),
    );
    for (const reader of [planFile, loadChunk]) {
      reader.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject', 's3:GetObjectVersion'],
          resources: [objects],
        }),
      );
      Validations.of(reader.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(
          storage.dataBucket.node.defaultChild as CfnBucket,
        )}.Arn>/*]`,
        reason:
          'Reads whichever object was uploaded, so the key is only known at run time; read-only, and only objects of the data bucket.',
      });
    }
    loadChunk.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // PutItem: the conditional writes used when a newer or overlapping upload exists.
        actions: ['dynamodb:BatchWriteItem', 'dynamodb:PutItem'],
        resources: tables.map((table) => table.tableArn),
      }),
    );
    loadChunk.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // Write leases and the newest upload per table (handlers/load-chunk/write-lease.ts),
        // and the rows each chunk has written so far (handlers/load-chunk/progress.ts).
        actions: [
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
        ],
        resources: [storage.controlTable.tableArn],
      }),
    );
    api.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Scan'],
        resources: tables.map((table) => table.tableArn),
      }),
    );

    const certificateArn =
      config.certificateArn ??
      new CfnParameter(this, 'CertificateArn', {
        type: 'String',
        description:
          'ACM certificate ARN for the HTTPS listener (or set the certificateArn context instead)',
        allowedPattern: '^arn:aws[a-z-]*:acm:[a-z0-9-]+:\\d{12}:certificate/[A-Za-z0-9-]+$',
        constraintDescription: 'must be an ACM certificate ARN',
      }).valueAsString;

    const loadBalanced = new LoadBalancedApi(this, 'PublicApi', {
      vpc: network.vpc,
      apiFunction: api.function,
      certificateArn,
      allowedCidr: config.allowedCidr,
      accessLogBucket: storage.logBucket,
      ...(config.albJwtVerification && identity.auth.jwksUri !== undefined
        ? {
            jwtVerification: {
              ...identity.auth,
              jwksUri: identity.auth.jwksUri,
              datasetScopes: Object.fromEntries(
                config.datasets.map(({ name }) => [name, datasetScope(identity.auth.scope, name)]),
              ),
            },
          }
        : {}),
    });

    const operations = new Operations(this, 'Operations', {
      dashboardName: `${config.dataset.name}-ingestion-${config.stage}-${Aws.REGION}`,
      metricNamespace: `CsvIngestion/${config.stage}`,
      fileEvents: events.queue,
      deadLetterQueue: events.deadLetterQueue,
      stateMachine: workflow.stateMachine,
      workflowLogGroup: workflow.logGroup,
      functions: {
        'start-ingestion': starter.function,
        'plan-file': planFile.function,
        'load-chunk': loadChunk.function,
        'failure-record': failureRecord.function,
        api: api.function,
      },
      tables: storage.tables,
      loadBalancer: loadBalanced.loadBalancer,
      targetGroup: loadBalanced.targetGroup,
      ...(config.alarmEmail === undefined ? {} : { alarmEmail: config.alarmEmail }),
    });

    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output('ApiUrl', loadBalanced.url, 'Base URL of the read API (the ALB DNS name)');
    output('BucketName', storage.dataBucket.bucketName, 'Upload CSV files here');
    for (const [index, [name, table]] of [...storage.tables].entries()) {
      // The first dataset's outputs keep their single-dataset names.
      const suffix = index === 0 ? '' : pascal(name);
      output(`TableName${suffix}`, table.tableName, `DynamoDB table of the ${name} records`);
      output(
        `Scope${suffix}`,
        datasetScope(identity.auth.scope, name),
        `Scope a token needs to read ${name}`,
      );
    }
    output('StateMachineArn', workflow.stateMachine.stateMachineArn, 'The ingest-file workflow');
    output('DeadLetterQueueUrl', events.deadLetterQueue.queueUrl, 'Files that could not load');
    output('DeadLetterQueueArn', events.deadLetterQueue.queueArn, 'Source of a DLQ redrive');
    output('FileEventsQueueArn', events.queue.queueArn, 'Destination of a DLQ redrive');
    output('AlarmTopicArn', operations.topic.topicArn, 'Alarm notifications');
    output('Issuer', identity.auth.issuer, 'Issuer the API trusts');
    if (identity.tokenUrl !== undefined) {
      output('TokenUrl', identity.tokenUrl, 'OAuth 2.0 token endpoint (client credentials)');
    }
    if (identity.clientId !== undefined) {
      output('ClientId', identity.clientId, 'Machine client id');
    }
    const secretCommand = clientSecretCommand(identity);
    if (secretCommand !== undefined) {
      output('ClientSecretCommand', secretCommand, 'Prints the machine client secret');
    }
  }
}
