import { type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { WorkflowLogLevel } from './config.js';
import { PROJECT_ROOT } from './handler-function.js';
import { stackIdSuffix } from './names.js';

/** The one definition of the workflow; the local stack runs this very file. */
export const DEFINITION_FILE = `${PROJECT_ROOT}statemachines/ingest-file.asl.json`;

/** Props of the ingest-file workflow. */
export interface IngestWorkflowProps {
  readonly planFile: lambda.IFunction;
  readonly loadChunk: lambda.IFunction;
  /** Builds the SQS-safe failure record (BuildFailureRecord). */
  readonly failureRecord: lambda.IFunction;
  /** Receives the failure record of every failed execution. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Chunks loaded in parallel (the Map's MaxConcurrency). */
  readonly mapMaxConcurrency: number;
  readonly logLevel: WorkflowLogLevel;
  /** Log state inputs and outputs (file names, counts; never rows). */
  readonly includeExecutionData: boolean;
  readonly logRetentionDays: number;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The "ingest-file" state machine, loaded from the ASL file with definition
 * substitutions, with exactly the grants its states need.
 */
export class IngestWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: IngestWorkflowProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // Under /aws/vendedlogs/ CloudWatch Logs needs no resource policy entry per log group
      // (the account's policies are limited to 5,120 characters), as AWS advises for Step Functions.
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-ingest-file-${stackIdSuffix()}`,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.removalPolicy,
    });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(DEFINITION_FILE),
      definitionSubstitutions: {
        PlanFileFunctionArn: props.planFile.functionArn,
        LoadChunkFunctionArn: props.loadChunk.functionArn,
        FailureRecordFunctionArn: props.failureRecord.functionArn,
        DeadLetterQueueUrl: props.deadLetterQueue.queueUrl,
        MapMaxConcurrency: String(props.mapMaxConcurrency),
      },
      logs: {
        destination: this.logGroup,
        level: sfn.LogLevel[props.logLevel],
        includeExecutionData: props.includeExecutionData,
      },
      tracingEnabled: true,
    });

    if (props.logLevel !== 'ALL') {
      Validations.of(this.stateMachine).acknowledge({
        id: 'AwsSolutions-SF1',
        reason:
          'ERROR logs every failure with its error and cause (what the FailureRecordLost alarm reads); ALL would add about seven events per chunk of every file at the vended-logs rate, and a Standard execution keeps its full history for 90 days anyway.',
      });
    }
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'CloudWatch Logs vended delivery (logs:CreateLogDelivery, PutResourcePolicy, ...) and X-Ray tracing (xray:PutTraceSegments, ...) support only Resource "*".',
    });

    // The ASL names the functions by unqualified ARN, so no version wildcard is granted.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [
          props.planFile.functionArn,
          props.loadChunk.functionArn,
          props.failureRecord.functionArn,
        ],
      }),
    );
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: [props.deadLetterQueue.queueArn],
      }),
    );
  }
}
