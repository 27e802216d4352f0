import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { build } from 'esbuild';
import { HANDLER_ESBUILD_OPTIONS } from '../../infra/bundling.js';
import { CFN_LINT_REASONS_KEY } from '../../infra/cfn-lint.js';
import { DEFAULTS, STARTER_MAX_BATCHING_WINDOW_SECONDS } from '../../infra/config.js';
import { PROJECT_ROOT } from '../../infra/handler-function.js';
import { FAILURE_RECORD_LOST_ERROR } from '../../infra/operations.js';
import { DEFINITION_FILE } from '../../infra/workflow.js';
import {
  type CfnResourceJson,
  dispose,
  type FlatStatement,
  resourceByPrefix,
  type Synthesized,
  statementsOfRole,
  synthesize,
} from './synth.js';

// The default deployment (cdk.json as committed): Cognito, dev stage, bundled handlers.
// Synthesizing bundles five handlers with esbuild, so it happens once for the file.
let synthesized: Synthesized;
let template: Template;
beforeAll(() => {
  synthesized = synthesize();
  template = synthesized.template;
}, 120_000);
afterAll(() => dispose(synthesized));

const ref = (logicalId: string) => ({ Ref: logicalId });
const arnOf = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const id = (type: string, prefix: string) => resourceByPrefix(template, type, prefix)[0];

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged finding', () => {
    const report = new AwsSolutionsChecks().validateScope(synthesized.app);
    const findings = report.violations.map(
      (violation) =>
        `${violation.ruleName}: ${violation.violatingResources.map((resource) => resource.constructPath ?? resource.resourceLogicalId).join(', ')}`,
    );

    expect(findings).toEqual([]);
  });

  it('gives every acknowledgement a written reason, scoped below the stack', () => {
    const acknowledgements: { path: string; id: string; reason: string }[] = [];
    const visit = (construct: IConstruct) => {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [rule, reason] of Object.entries(entry.data as Record<string, string>)) {
          // CDK acknowledges some of its own CloudFormation-Validate rules; ours are cdk-nag's.
          if (rule.includes('AwsSolutions-')) {
            acknowledgements.push({ path: construct.node.path, id: rule, reason });
          }
        }
      }
      for (const child of construct.node.children) visit(child);
    };
    visit(synthesized.app);

    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const acknowledgement of acknowledgements) {
      expect(acknowledgement.reason.length).toBeGreaterThan(40);
      // Never on the app or the whole stack: on the construct that has the finding.
      expect(acknowledgement.path).toMatch(/^CsvIngestion-dev\/.+/);
    }
  });
});

describe('cfn-lint', () => {
  it('gives every per-resource cfn-lint exception a written reason', () => {
    const exceptions = Object.entries(
      template.toJSON().Resources as Record<string, { Metadata?: Record<string, unknown> }>,
    ).flatMap(([logicalId, resource]) => {
      const lint = resource.Metadata?.['cfn-lint'] as
        | { config: { ignore_checks: string[] } }
        | undefined;
      const reasons = (resource.Metadata?.[CFN_LINT_REASONS_KEY] ?? {}) as Record<string, string>;
      return (lint?.config.ignore_checks ?? []).map((rule) => ({
        logicalId,
        rule,
        reason: reasons[rule] ?? '',
      }));
    });

    expect(exceptions).toEqual([
      {
        logicalId: id('AWS::Cognito::UserPool', 'IdentityUserPool'),
        rule: 'E3002',
        reason: expect.stringContaining('IssuerConfiguration'),
      },
    ]);
  });

  it.each(['AWS::ElasticLoadBalancingV2::Listener', 'AWS::CloudWatch::Dashboard'])(
    'puts no Tags on %s, which the installed cfn-lint schema rejects',
    (type) => {
      const resources = Object.values(template.findResources(type));
      expect(resources.length).toBeGreaterThan(0);
      for (const resource of resources) expect(resource.Properties.Tags).toBeUndefined();
    },
  );

  it('still tags the resources that take tags', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Tags: Match.arrayWith([{ Key: 'project', Value: 'csv-ingestion' }]),
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      Tags: Match.arrayWith([{ Key: 'stage', Value: 'dev' }]),
    });
  });
});

describe('storage', () => {
  it('keeps the data bucket private, encrypted, SSL-only, versioned and access-logged', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
        ],
      },
      LoggingConfiguration: {
        DestinationBucketName: ref(id('AWS::S3::Bucket', 'StorageLogBucket')),
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            NoncurrentVersionExpiration: {
              NoncurrentDays: DEFAULTS.noncurrentVersionExpirationDays,
            },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: ref(id('AWS::S3::Bucket', 'StorageDataBucket')),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('keys the table by the dataset key, on demand, with point-in-time recovery', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: 'isbn', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'isbn', AttributeType: 'N' }],
      BillingMode: 'PAY_PER_REQUEST',
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: false,
        }),
      ],
    });
  });

  it('lets a dev stage delete its data with the stack', () => {
    template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Delete' });
  });

  it("keeps write leases and the newest upload per table in a control table with the data's lifecycle, leases expiring by TTL", () => {
    const [, control] = resourceByPrefix(
      template,
      'AWS::DynamoDB::GlobalTable',
      'StorageControlTable',
    );
    expect(control.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      Replicas: [
        expect.objectContaining({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      ],
    });
    expect(control.DeletionPolicy).toBe('Delete');
  });
});

describe('file events', () => {
  it('sends every ObjectCreated event of the data bucket to the file-events queue', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: ref(id('AWS::S3::Bucket', 'StorageDataBucket')),
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            QueueArn: arnOf(id('AWS::SQS::Queue', 'FileEventsQueue')),
          },
        ],
      },
    });
  });

  it('gives the queue six times the starter timeout and redrives to the DLQ', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 6 * 30,
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: arnOf(id('AWS::SQS::Queue', 'FileEventsDeadLetterQueue')),
        maxReceiveCount: DEFAULTS.maxReceiveCount,
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 14 * 24 * 3600,
      SqsManagedSseEnabled: true,
    });
  });

  it('allows 15 receives before the DLQ, room for throttled starter invocations', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 15 }),
    });
  });

  it("admits S3 to the queue only for the data bucket of this stack's account", () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(id('AWS::SQS::Queue', 'FileEventsQueue'))],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Condition: {
              ArnLike: { 'aws:SourceArn': arnOf(id('AWS::S3::Bucket', 'StorageDataBucket')) },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          }),
        ]),
      },
    });
  });

  it('enforces SSL on both queues', () => {
    for (const queue of ['FileEventsQueue', 'FileEventsDeadLetterQueue']) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(id('AWS::SQS::Queue', queue))],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('feeds start-ingestion with partial batch responses and bounded concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(id('AWS::SQS::Queue', 'FileEventsQueue')),
      FunctionName: ref(id('AWS::Lambda::Function', 'StartIngestionFunction')),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: DEFAULTS.starterBatchSize,
      MaximumBatchingWindowInSeconds: STARTER_MAX_BATCHING_WINDOW_SECONDS,
      ScalingConfig: { MaximumConcurrency: DEFAULTS.starterMaxConcurrency },
    });
  });
});

describe('handler functions', () => {
  it.each([
    ['StartIngestion', 256, 30, ['STATE_MACHINE_ARN']],
    [
      'PlanFile',
      1769,
      900,
      [
        'MAX_FILE_BYTES',
        'CHUNK_TARGET_BYTES',
        'MAX_CHUNKS',
        'MAP_MAX_CONCURRENCY',
        'MAX_RECORD_BYTES',
        'UNREACHABLE_BUDGET_MS',
      ],
    ],
    [
      'LoadChunk',
      1024,
      300,
      [
        'TABLE_NAMES',
        'CONTROL_TABLE_NAME',
        'WRITE_CONCURRENCY',
        'MAX_RECORD_BYTES',
        'UNREACHABLE_BUDGET_MS',
      ],
    ],
    ['FailureRecord', 256, 10, []],
    [
      'Api',
      512,
      15,
      [
        'TABLE_NAMES',
        'AUTH_ISSUER',
        'AUTH_AUDIENCE',
        'AUTH_AUDIENCE_CLAIM',
        'AUTH_JWKS_URI',
        'AUTH_REQUIRED_SCOPE',
        'AUTH_ALGORITHMS',
        'AUTH_CLOCK_TOLERANCE_SECONDS',
      ],
    ],
  ])(
    'runs %s on Node.js 24 arm64 with X-Ray, its own log group and its settings',
    (name, memory, timeout, variables) => {
      const [, fn] = resourceByPrefix(template, 'AWS::Lambda::Function', `${name}Function`);
      const { Variables: environment } = fn.Properties.Environment as {
        Variables: Record<string, unknown>;
      };

      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: memory,
        Timeout: timeout,
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: {
          LogFormat: 'JSON',
          LogGroup: ref(id('AWS::Logs::LogGroup', `${name}Logs`)),
        },
        Role: arnOf(id('AWS::IAM::Role', `${name}Role`)),
      });
      expect(Object.keys(environment).sort()).toEqual(
        [
          'DATASETS',
          'POWERTOOLS_SERVICE_NAME',
          'POWERTOOLS_LOG_LEVEL',
          'NODE_OPTIONS',
          ...variables,
        ].sort(),
      );
      expect(JSON.parse(environment.DATASETS as string)).toEqual([
        expect.objectContaining({ name: 'books', key: 'isbn' }),
      ]);
    },
  );

  it.each([
    ['Api', 20],
    ['LoadChunk', 40],
  ])(
    'reserves %s concurrency, which an account of the default quota can hold',
    (name, reserved) => {
      const [, fn] = resourceByPrefix(template, 'AWS::Lambda::Function', `${name}Function`);
      expect(fn.Properties.ReservedConcurrentExecutions).toBe(reserved);
    },
  );

  it('leaves the starter and the planner in the shared pool, and warns about nothing', () => {
    for (const name of ['StartIngestion', 'PlanFile']) {
      const [, fn] = resourceByPrefix(template, 'AWS::Lambda::Function', `${name}Function`);
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
    expect(Annotations.fromStack(synthesized.stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  it('keeps every handler log group for the configured retention', () => {
    for (const name of ['StartIngestion', 'PlanFile', 'LoadChunk', 'FailureRecord', 'Api']) {
      const [, group] = resourceByPrefix(template, 'AWS::Logs::LogGroup', `${name}Logs`);
      expect(group.Properties).toMatchObject({ RetentionInDays: DEFAULTS.logRetentionDays });
    }
  });

  it('bundles minified ESM with a source map', () => {
    const outdir = synthesized.app.outdir;
    const [, fn] = resourceByPrefix(template, 'AWS::Lambda::Function', 'StartIngestionFunction');
    const zip = (fn.Properties.Code as { S3Key: string }).S3Key;
    const bundle = readFileSync(`${outdir}/asset.${zip.replace(/\.zip$/, '')}/index.mjs`, 'utf8');

    expect(bundle).toContain('createRequire');
    expect(bundle).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
    // Minified: long lines (only template literals keep their line breaks).
    expect(bundle.length / bundle.split('\n').length).toBeGreaterThan(1000);
  });

  it('deploys exactly the bundle an esbuild build with HANDLER_ESBUILD_OPTIONS produces', async () => {
    const outdir = synthesized.app.outdir;
    const [, fn] = resourceByPrefix(template, 'AWS::Lambda::Function', 'ApiFunction');
    const zip = (fn.Properties.Code as { S3Key: string }).S3Key;
    const deployed = readFileSync(`${outdir}/asset.${zip.replace(/\.zip$/, '')}/index.mjs`, 'utf8');

    const result = await build({
      ...HANDLER_ESBUILD_OPTIONS,
      entryPoints: [`${PROJECT_ROOT}handlers/api/index.ts`],
      outfile: join(outdir, 'esbuild-check', 'index.mjs'),
      absWorkingDir: PROJECT_ROOT,
      write: false,
      logLevel: 'silent',
    });
    const built = result.outputFiles.find((file) => file.path.endsWith('index.mjs'))?.text;

    expect(built).toBe(deployed);
  });
});

describe('workflow', () => {
  it('loads the one ASL file and substitutes the three function ARNs, DLQ URL and Map concurrency', () => {
    const [, machine] = resourceByPrefix(
      template,
      'AWS::StepFunctions::StateMachine',
      'WorkflowStateMachine',
    );

    // The definition is shipped as an asset: the very bytes of the ASL file.
    const { Key } = machine.Properties.DefinitionS3Location as { Key: string };
    expect(readFileSync(`${synthesized.app.outdir}/asset.${Key}`, 'utf8')).toBe(
      readFileSync(DEFINITION_FILE, 'utf8'),
    );
    expect(machine.Properties.DefinitionSubstitutions).toEqual({
      PlanFileFunctionArn: arnOf(id('AWS::Lambda::Function', 'PlanFileFunction')),
      LoadChunkFunctionArn: arnOf(id('AWS::Lambda::Function', 'LoadChunkFunction')),
      FailureRecordFunctionArn: arnOf(id('AWS::Lambda::Function', 'FailureRecordFunction')),
      DeadLetterQueueUrl: ref(id('AWS::SQS::Queue', 'FileEventsDeadLetterQueue')),
      MapMaxConcurrency: String(DEFAULTS.mapMaxConcurrency),
    });
  });

  it('logs to a log group under /aws/vendedlogs/states/, named after the stack', () => {
    const [, group] = resourceByPrefix(template, 'AWS::Logs::LogGroup', 'WorkflowLogs');
    expect(group.Properties.LogGroupName).toEqual({
      'Fn::Join': ['', ['/aws/vendedlogs/states/CsvIngestion-dev-ingest-file-', expect.anything()]],
    });
  });

  it('logs every event without execution data and traces with X-Ray', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [
          {
            CloudWatchLogsLogGroup: {
              LogGroupArn: arnOf(id('AWS::Logs::LogGroup', 'WorkflowLogs')),
            },
          },
        ],
      },
      TracingConfiguration: { Enabled: true },
    });
  });
});

describe('least privilege', () => {
  const XRAY = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
  const statements = (role: string) => statementsOfRole(template, id('AWS::IAM::Role', role));
  const grants = (list: FlatStatement[]) =>
    list.flatMap((statement) =>
      statement.actions.map((action) => `${action} → ${statement.resources.join(' | ')}`),
    );
  const json = (value: unknown) => JSON.stringify(value);
  const objects = () =>
    json({ 'Fn::Join': ['', [arnOf(id('AWS::S3::Bucket', 'StorageDataBucket')), '/*']] });
  const table = () => json(arnOf(id('AWS::DynamoDB::GlobalTable', 'StorageTable')));
  /** What every function's role holds: X-Ray tracing, and writing to its own log group only. */
  const functionBasics = (fn: string) => {
    const logs = json(arnOf(id('AWS::Logs::LogGroup', `${fn}Logs`)));
    return [
      ...XRAY.map((action) => `${action} → *`),
      `logs:CreateLogStream → ${logs}`,
      `logs:PutLogEvents → ${logs}`,
    ];
  };

  it('lets start-ingestion consume the queue and start executions, nothing else', () => {
    const queue = json(arnOf(id('AWS::SQS::Queue', 'FileEventsQueue')));
    expect(grants(statements('StartIngestionRole')).sort()).toEqual(
      [
        ...functionBasics('StartIngestion'),
        `states:StartExecution → ${json(ref(id('AWS::StepFunctions::StateMachine', 'WorkflowStateMachine')))}`,
        `sqs:ChangeMessageVisibility → ${queue}`,
        `sqs:DeleteMessage → ${queue}`,
        `sqs:GetQueueAttributes → ${queue}`,
        `sqs:GetQueueUrl → ${queue}`,
        `sqs:ReceiveMessage → ${queue}`,
      ].sort(),
    );
  });

  it('lets plan-file read objects of the data bucket only', () => {
    expect(grants(statements('PlanFileRole')).sort()).toEqual(
      [
        ...functionBasics('PlanFile'),
        `s3:GetObject → ${objects()}`,
        `s3:GetObjectVersion → ${objects()}`,
        `s3:ListBucket → ${json(arnOf(id('AWS::S3::Bucket', 'StorageDataBucket')))}`,
      ].sort(),
    );
  });

  it('lets load-chunk read objects, write the table (batched or conditional) and keep its leases in the control table only', () => {
    const control = json(arnOf(id('AWS::DynamoDB::GlobalTable', 'StorageControlTable')));
    expect(grants(statements('LoadChunkRole')).sort()).toEqual(
      [
        ...functionBasics('LoadChunk'),
        `s3:GetObject → ${objects()}`,
        `s3:GetObjectVersion → ${objects()}`,
        `dynamodb:BatchWriteItem → ${table()}`,
        `dynamodb:PutItem → ${table()}`,
        `dynamodb:PutItem → ${control}`,
        `dynamodb:UpdateItem → ${control}`,
        `dynamodb:DeleteItem → ${control}`,
        `dynamodb:Query → ${control}`,
      ].sort(),
    );
  });

  it('lets failure-record call nothing at all (it only rewrites its input)', () => {
    expect(grants(statements('FailureRecordRole')).sort()).toEqual(
      functionBasics('FailureRecord').sort(),
    );
  });

  it('lets the API read the table only', () => {
    expect(grants(statements('ApiRole')).sort()).toEqual(
      [
        ...functionBasics('Api'),
        `dynamodb:BatchGetItem → ${table()}`,
        `dynamodb:GetItem → ${table()}`,
        `dynamodb:Scan → ${table()}`,
      ].sort(),
    );
  });

  it('lets the workflow invoke exactly its three functions and send to the DLQ', () => {
    const workflow = statements('WorkflowStateMachineRole');
    const invoke = workflow.find((statement) =>
      statement.actions.includes('lambda:InvokeFunction'),
    );
    const send = workflow.find((statement) => statement.actions.includes('sqs:SendMessage'));

    expect(invoke).toEqual({
      actions: ['lambda:InvokeFunction'],
      resources: [
        json(arnOf(id('AWS::Lambda::Function', 'LoadChunkFunction'))),
        json(arnOf(id('AWS::Lambda::Function', 'PlanFileFunction'))),
        json(arnOf(id('AWS::Lambda::Function', 'FailureRecordFunction'))),
      ].sort(),
    });
    expect(send).toEqual({
      actions: ['sqs:SendMessage'],
      resources: [json(arnOf(id('AWS::SQS::Queue', 'FileEventsDeadLetterQueue')))],
    });
  });

  it('grants "*" only for actions without resource-level permissions', () => {
    const noResourceLevel =
      /^(xray:|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups))/;
    for (const role of [
      'StartIngestionRole',
      'PlanFileRole',
      'LoadChunkRole',
      'FailureRecordRole',
      'ApiRole',
      'WorkflowStateMachineRole',
    ]) {
      for (const statement of statements(role)) {
        for (const action of statement.actions) expect(action).not.toContain('*');
        if (statement.resources.includes('*')) {
          for (const action of statement.actions) expect(action).toMatch(noResourceLevel);
        }
      }
    }
  });
});

describe('load-balanced API', () => {
  const loadBalancer = () =>
    ref(id('AWS::ElasticLoadBalancingV2::LoadBalancer', 'PublicApiLoadBalancer'));

  it('serves HTTPS on 443 with the certificate parameter and a TLS 1.2+ policy', () => {
    template.hasParameter('CertificateArn', { Type: 'String' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      LoadBalancerArn: loadBalancer(),
      Port: 443,
      Protocol: 'HTTPS',
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-PQ-2025-09',
      Certificates: [{ CertificateArn: ref('CertificateArn') }],
      DefaultActions: [
        {
          Type: 'forward',
          TargetGroupArn: ref(id('AWS::ElasticLoadBalancingV2::TargetGroup', 'PublicApiTarget')),
        },
      ],
    });
  });

  it('redirects port 80 to HTTPS permanently', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      LoadBalancerArn: loadBalancer(),
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [
        {
          Type: 'redirect',
          RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' },
        },
      ],
    });
  });

  it('drops invalid header fields and writes access logs to the log bucket', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
        { Key: 'access_logs.s3.enabled', Value: 'true' },
        { Key: 'access_logs.s3.bucket', Value: ref(id('AWS::S3::Bucket', 'StorageLogBucket')) },
      ]),
    });
  });

  it('lets only the ELB log delivery write, and only under alb/AWSLogs/<account>/', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: ref(id('AWS::S3::Bucket', 'StorageLogBucket')),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 's3:PutObject',
            Principal: Match.objectLike({
              Service: 'logdelivery.elasticloadbalancing.amazonaws.com',
            }),
            Resource: {
              'Fn::Join': [
                '',
                [
                  arnOf(id('AWS::S3::Bucket', 'StorageLogBucket')),
                  '/alb/AWSLogs/',
                  { Ref: 'AWS::AccountId' },
                  '/*',
                ],
              ],
            },
          }),
        ]),
      },
    });
  });

  it('admits 443 and 80 from the allowed CIDR only', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: [
        Match.objectLike({ CidrIp: DEFAULTS.allowedCidr, FromPort: 443, ToPort: 443 }),
        Match.objectLike({ CidrIp: DEFAULTS.allowedCidr, FromPort: 80, ToPort: 80 }),
      ],
    });
  });

  it('targets the API Lambda with a /health check', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetType: 'lambda',
      HealthCheckEnabled: true,
      HealthCheckPath: '/health',
      Targets: [{ Id: arnOf(id('AWS::Lambda::Function', 'ApiFunction')) }],
    });
  });

  it('passes every value of repeated headers and query parameters to the API (multi-value headers)', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetType: 'lambda',
      TargetGroupAttributes: Match.arrayWith([
        { Key: 'lambda.multi_value_headers.enabled', Value: 'true' },
      ]),
    });
  });

  it("lets the load balancer invoke the API only from this account's target groups", () => {
    const permissions = Object.entries(
      template.findResources('AWS::Lambda::Permission', {
        Properties: { Principal: 'elasticloadbalancing.amazonaws.com' },
      }) as Record<string, CfnResourceJson>,
    );

    expect(permissions).toHaveLength(1);
    const [logicalId, permission] = permissions[0] as [string, CfnResourceJson];
    expect(permission.Properties).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: arnOf(id('AWS::Lambda::Function', 'ApiFunction')),
      Principal: 'elasticloadbalancing.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':elasticloadbalancing:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':targetgroup/*',
          ],
        ],
      },
    });
    // The target is registered with the target group, after the permission exists.
    const [, targetGroup] = resourceByPrefix(
      template,
      'AWS::ElasticLoadBalancingV2::TargetGroup',
      'PublicApiTarget',
    );
    expect((targetGroup as { DependsOn?: string[] }).DependsOn).toContain(logicalId);
  });

  it('keeps the Lambdas outside the VPC and the VPC without NAT', () => {
    for (const [, fn] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.VpcConfig).toBeUndefined();
    }
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
  });
});

describe('identity (Cognito by default)', () => {
  it("creates a confidential client limited to the client-credentials grant and the dataset's read scope", () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: true,
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['client_credentials'],
      AllowedOAuthScopes: [
        {
          'Fn::Join': [
            '',
            [
              ref(id('AWS::Cognito::UserPoolResourceServer', 'IdentityUserPoolResourceServer')),
              '/books.read',
            ],
          ],
        },
      ],
      ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
      AccessTokenValidity: DEFAULTS.accessTokenValidityMinutes,
    });
  });

  it('creates a user pool nobody can sign up to, with a domain and the resource server', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
    template.resourceCountIs('AWS::Cognito::UserPoolDomain', 1);
    template.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', {
      Identifier: 'books-api',
      Scopes: [Match.objectLike({ ScopeName: 'books.read' })],
    });
  });

  it('pins the ORIGINAL issuer, whose iss is the ProviderURL the API and the ALB verify', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      IssuerConfiguration: { Type: 'ORIGINAL' },
    });
  });

  it('names the hosted domain after dataset, stage and the stack id, never the account id', () => {
    const [, domain] = resourceByPrefix(
      template,
      'AWS::Cognito::UserPoolDomain',
      'IdentityUserPoolDomain',
    );
    expect(domain.Properties.Domain).toEqual({
      'Fn::Join': [
        '-',
        [
          'books-dev',
          {
            'Fn::Select': [
              0,
              {
                'Fn::Split': [
                  '-',
                  { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] },
                ],
              },
            ],
          },
        ],
      ],
    });
    expect(JSON.stringify(template.findOutputs('TokenUrl'))).not.toContain('AWS::AccountId');
  });

  it('wires the pool as issuer and the client id as the client_id audience of the API', () => {
    const [, api] = resourceByPrefix(template, 'AWS::Lambda::Function', 'ApiFunction');
    const { Variables: variables } = api.Properties.Environment as {
      Variables: Record<string, unknown>;
    };
    const pool = id('AWS::Cognito::UserPool', 'IdentityUserPool');

    expect(variables).toMatchObject({
      AUTH_AUDIENCE: ref(id('AWS::Cognito::UserPoolClient', 'IdentityUserPoolApiClient')),
      AUTH_AUDIENCE_CLAIM: 'client_id',
      AUTH_REQUIRED_SCOPE: 'books-api/{dataset}.read',
      AUTH_ALGORITHMS: 'RS256',
    });
    expect(JSON.stringify(variables.AUTH_ISSUER)).toContain(`"ProviderURL"`);
    expect(JSON.stringify(variables.AUTH_ISSUER)).toContain(pool);
  });
});

describe('operations', () => {
  const topic = () => ref(id('AWS::SNS::Topic', 'OperationsAlarmTopic'));

  it.each([
    ['DLQ messages visible', 'ApproximateNumberOfMessagesVisible', 'AWS/SQS'],
    ['age of the oldest file event', 'ApproximateAgeOfOldestMessage', 'AWS/SQS'],
    ['failed executions', 'ExecutionsFailed', 'AWS/States'],
    ['timed-out executions', 'ExecutionsTimedOut', 'AWS/States'],
    ['throttled executions', 'ExecutionThrottled', 'AWS/States'],
    ['aborted executions', 'ExecutionsAborted', 'AWS/States'],
    ['failures whose record never reached the DLQ', 'FailureRecordsLost', 'CsvIngestion/dev'],
    ['Lambda errors', 'Errors', 'AWS/Lambda'],
    ['Lambda throttles', 'Throttles', 'AWS/Lambda'],
    ['ALB 5xx', 'HTTPCode_ELB_5XX_Count', 'AWS/ApplicationELB'],
    ['API 5xx', 'HTTPCode_Target_5XX_Count', 'AWS/ApplicationELB'],
  ])('alarms on %s and notifies the topic', (_what, metricName, namespace) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: metricName,
      Namespace: namespace,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [topic()],
    });
  });

  it('alarms on DynamoDB read and write throttling', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ MetricName: 'ReadThrottleEvents' }),
          }),
        }),
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ MetricName: 'WriteThrottleEvents' }),
          }),
        }),
      ]),
      AlarmActions: [topic()],
    });
  });

  it('counts ExecutionFailed events with FailureRecordLostError in the workflow log', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: ref(id('AWS::Logs::LogGroup', 'WorkflowLogs')),
      FilterPattern: `{ ($.type = "ExecutionFailed") && ($.details.error = "${FAILURE_RECORD_LOST_ERROR}") }`,
      MetricTransformations: [
        Match.objectLike({
          MetricName: 'FailureRecordsLost',
          MetricNamespace: 'CsvIngestion/dev',
          MetricValue: '1',
        }),
      ],
    });
    expect(FAILURE_RECORD_LOST_ERROR).toBe('FailureRecordLostError');
  });

  it('sends every alarm and its recovery to the topic', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    // Errors and throttles of each of the five functions, and the queue, workflow, table and ALB alarms.
    expect(alarms).toHaveLength(20);
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({ AlarmActions: [topic()], OKActions: [topic()] });
    }
  });

  it('has an SSL-only topic and a dashboard', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
    // Dashboards are global to the account: the name says which region's stack it shows.
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: { 'Fn::Join': ['', ['books-ingestion-dev-', { Ref: 'AWS::Region' }]] },
    });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it("lets CloudWatch publish this account's alarms to the topic its policy replaces", () => {
    const topic = ref(id('AWS::SNS::Topic', 'OperationsAlarmTopic'));
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topic],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowAlarmsOfThisAccount',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: topic,
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
            },
          },
        ]),
      },
    });
  });
});

describe('outputs', () => {
  it.each([
    'ApiUrl',
    'TokenUrl',
    'ClientId',
    'ClientSecretCommand',
    'BucketName',
    'TableName',
    'StateMachineArn',
    'DeadLetterQueueUrl',
    'FileEventsQueueArn',
  ])('outputs %s', (name) => {
    template.hasOutput(name, {});
  });

  it('prints the client secret with a command instead of an output value', () => {
    const output = JSON.stringify(template.findOutputs('ClientSecretCommand'));
    expect(output).toContain('aws cognito-idp describe-user-pool-client');
    expect(output).toContain('UserPoolClient.ClientSecret');
  });
});
