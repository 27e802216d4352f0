import { fileURLToPath } from 'node:url';
import { type Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HANDLER_BUNDLING } from './bundling.js';
import type { HandlerName } from './config.js';

/** The repository root: entries, the lock file and esbuild are resolved from here. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Props of one handler Lambda. */
export interface HandlerFunctionProps {
  /** The folder under handlers/ whose index.ts exports `handler`. */
  readonly handler: HandlerName;
  readonly description: string;
  /** Memory in MB (also buys CPU: 1,769 MB is one vCPU). */
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  /** Retention of the function's own log group, in days. */
  readonly logRetentionDays: number;
  readonly removalPolicy: RemovalPolicy;
  /** Powertools log level; also the Lambda application log level filter. */
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** VPC placement. @default outside any VPC */
  readonly vpc?: lambda.FunctionOptions['vpc'];
  /** Subnets when `vpc` is set. @default the VPC's default selection */
  readonly vpcSubnets?: lambda.FunctionOptions['vpcSubnets'];
  /** Concurrency reserved for (and capping) this function. @default none: the account's shared pool */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * One handler as a Lambda function: Node.js 24 on arm64, bundled by esbuild as
 * minified ESM with source maps, X-Ray active, its own log group, and its own
 * role that may write only to that log group until the stack grants more.
 */
export class HandlerFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.removalPolicy,
    });

    // An own role instead of AWSLambdaBasicExecutionRole: logs go to this one group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.handler} Lambda`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    // Active tracing adds xray:PutTraceSegments/PutTelemetryRecords, which have no resource-level form.
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray PutTraceSegments and PutTelemetryRecords (added by active tracing) support only Resource "*".',
    });
    if (props.vpc !== undefined) {
      this.role.addManagedPolicy(
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'),
      );
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason:
          'The AWS-maintained minimum for a Lambda in a VPC: network interface create/describe/delete only, kept current by AWS as Lambda networking evolves.',
      });
    }

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: `${PROJECT_ROOT}handlers/${props.handler}/index.ts`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel[props.logLevel],
      // INFO keeps the platform's START/END/REPORT lines (duration, memory, init time).
      systemLogLevelV2: lambda.SystemLogLevel.INFO,
      tracing: lambda.Tracing.ACTIVE,
      // Stack traces point into the TypeScript sources through the bundled source maps.
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      ...(props.vpc === undefined ? {} : { vpc: props.vpc, vpcSubnets: props.vpcSubnets }),
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      bundling: nodejsBundling(),
    });
  }
}

const OUTPUT_FORMATS = { esm: nodejs.OutputFormat.ESM, cjs: nodejs.OutputFormat.CJS } as const;

/** HANDLER_BUNDLING as NodejsFunction bundling options (the platform is always node there). */
export function nodejsBundling(): nodejs.BundlingOptions {
  return {
    format: OUTPUT_FORMATS[HANDLER_BUNDLING.format],
    target: HANDLER_BUNDLING.target,
    minify: HANDLER_BUNDLING.minify,
    keepNames: HANDLER_BUNDLING.keepNames,
    sourceMap: HANDLER_BUNDLING.sourcemap,
    // esbuild's `sourcemap: true`: an external .map file linked from the bundle.
    sourceMapMode: nodejs.SourceMapMode.DEFAULT,
    sourcesContent: HANDLER_BUNDLING.sourcesContent,
    mainFields: [...HANDLER_BUNDLING.mainFields],
    externalModules: [...HANDLER_BUNDLING.external],
    banner: HANDLER_BUNDLING.banner,
  };
}
