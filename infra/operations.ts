import { Aws, Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { pascal } from './names.js';

/**
 * The error an execution fails with when its failure record could not be sent to the
 * DLQ (SendToDeadLetterQueue failed after its retries): the ASL's last Fail state names it.
 */
export const FAILURE_RECORD_LOST_ERROR = 'FailureRecordLostError';

/** Props of the alarms and dashboard. */
export interface OperationsProps {
  /** Dashboard name: unique per account (dashboards are global), so it names the region. */
  readonly dashboardName: string;
  /** Namespace of the metrics this construct derives from logs (one per stack). */
  readonly metricNamespace: string;
  readonly fileEvents: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly stateMachine: sfn.IStateMachine;
  /** The state machine's log group (level ERROR or ALL), read for lost failure records. */
  readonly workflowLogGroup: logs.ILogGroup;
  /** The handler functions by name, for error and throttle alarms. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** The table of each dataset, by dataset name: a throttling alarm and a widget each. */
  readonly tables: ReadonlyMap<string, dynamodb.ITableV2>;
  readonly loadBalancer: elbv2.IApplicationLoadBalancer & {
    readonly metrics: elbv2.IApplicationLoadBalancerMetrics;
  };
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** Subscribed to the alarm topic by e-mail. @default no subscription */
  readonly alarmEmail?: string;
  /** Age of the oldest file event that raises an alarm. @default 15 minutes */
  readonly maxFileEventAge?: Duration;
}

/**
 * How an operator learns that something went wrong without looking: alarms on
 * every failure path (DLQ, stuck queue, failed, timed-out, throttled and aborted
 * executions, failures whose record never reached the DLQ, Lambda errors and
 * throttles, DynamoDB throttling, ALB 5xx) to one SNS topic, and a dashboard.
 */
export class Operations extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);

    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'CSV ingestion alarms',
      enforceSSL: true,
    });
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry alarm names and states only, no customer data; CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, and a customer key would cost more than the data warrants.',
    });
    // The SSL-only statement replaces SNS's default access policy, whose allow is what let
    // CloudWatch publish: without this one every alarm notification would fail silently.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: {
            'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`,
          },
        },
      }),
    );
    if (props.alarmEmail !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }

    const fiveMinutes = Duration.minutes(5);
    const oneMinute = Duration.minutes(1);

    this.alarm('DeadLetterQueueNotEmpty', {
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: oneMinute,
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 0,
      description: 'A file could not be loaded: read the DLQ message for why, fix, then redrive.',
    });
    this.alarm('FileEventsStuck', {
      metric: props.fileEvents.metricApproximateAgeOfOldestMessage({
        period: oneMinute,
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: (props.maxFileEventAge ?? Duration.minutes(15)).toSeconds(),
      evaluationPeriods: 3,
      description: 'File events wait unprocessed: start-ingestion is failing or throttled.',
    });
    this.alarm('ExecutionsFailed', {
      metric: props.stateMachine.metricFailed({
        period: fiveMinutes,
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 0,
      description: 'An ingestion failed; its failure record is in the DLQ.',
    });
    this.alarm('ExecutionsTimedOut', {
      metric: props.stateMachine.metricTimedOut({
        period: fiveMinutes,
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 0,
      description: 'An ingestion timed out.',
    });
    this.alarm('ExecutionsThrottled', {
      metric: props.stateMachine.metricThrottled({
        period: fiveMinutes,
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 0,
      description:
        'Step Functions throttled state transitions or starts of ingest-file: raise the Step Functions quotas or upload more slowly.',
    });
    this.alarm('ExecutionsAborted', {
      metric: props.stateMachine.metricAborted({
        period: fiveMinutes,
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 0,
      description:
        'An ingestion was stopped (StopExecution) before it finished: its file left no failure record; upload it again or redrive its file event.',
    });
    // An execution that failed AND lost its failure record leaves nothing in the DLQ, so the
    // DLQ alarm stays quiet: count those failures from the workflow's own ExecutionFailed events.
    const lostRecords = new logs.MetricFilter(this, 'FailureRecordsLostFilter', {
      logGroup: props.workflowLogGroup,
      filterPattern: logs.FilterPattern.all(
        logs.FilterPattern.stringValue('$.type', '=', 'ExecutionFailed'),
        logs.FilterPattern.stringValue('$.details.error', '=', FAILURE_RECORD_LOST_ERROR),
      ),
      metricNamespace: props.metricNamespace,
      metricName: 'FailureRecordsLost',
      metricValue: '1',
    });
    this.alarm('FailureRecordLost', {
      metric: lostRecords.metric({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
      threshold: 0,
      description: `A file failed and its failure record could not be sent to the DLQ (${FAILURE_RECORD_LOST_ERROR}): find the execution in the workflow log group, fix the DLQ, then upload the file again.`,
    });
    for (const [name, fn] of Object.entries(props.functions)) {
      const label = pascal(name);
      this.alarm(`${label}Errors`, {
        metric: fn.metricErrors({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
        threshold: 0,
        description: `The ${name} Lambda reported errors.`,
      });
      this.alarm(`${label}Throttles`, {
        metric: fn.metricThrottles({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
        threshold: 0,
        description: `The ${name} Lambda was throttled.`,
      });
    }
    [...props.tables].forEach(([dataset, table], index) => {
      // The first dataset's alarm keeps the single-dataset stack's id.
      this.alarm(index === 0 ? 'TableThrottled' : `TableThrottled${pascal(dataset)}`, {
        metric: new cloudwatch.MathExpression({
          expression: 'FILL(reads, 0) + FILL(writes, 0)',
          label: `Throttle events (${dataset})`,
          period: fiveMinutes,
          usingMetrics: {
            reads: table.metric('ReadThrottleEvents', { statistic: cloudwatch.Stats.SUM }),
            writes: table.metric('WriteThrottleEvents', { statistic: cloudwatch.Stats.SUM }),
          },
        }),
        threshold: 0,
        description: `DynamoDB throttled requests on the ${dataset} table: lower writeConcurrency x mapMaxConcurrency or raise the dataset's maxWriteThroughput.`,
      });
    });
    this.alarm('LoadBalancer5xx', {
      metric: props.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, {
        period: fiveMinutes,
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 0,
      description: 'The load balancer answered 5xx (target unreachable or failing).',
    });
    this.alarm('Api5xx', {
      metric: props.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
        period: fiveMinutes,
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 0,
      description: 'The API Lambda answered 5xx.',
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
    });
    const graph = (title: string, metrics: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left: metrics, width: 8 });
    const fns = Object.entries(props.functions);
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }),
    );
    this.dashboard.addWidgets(
      graph('Executions', [
        props.stateMachine.metricStarted(),
        props.stateMachine.metricSucceeded(),
        props.stateMachine.metricFailed(),
        props.stateMachine.metricTimedOut(),
        props.stateMachine.metricAborted(),
        props.stateMachine.metricThrottled(),
      ]),
      graph('File events and DLQ', [
        props.fileEvents.metricApproximateNumberOfMessagesVisible(),
        props.fileEvents.metricApproximateAgeOfOldestMessage(),
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible(),
      ]),
    );
    this.dashboard.addWidgets(
      ...[...props.tables].map(([dataset, table]) =>
        graph(`Table ${dataset}`, [
          table.metricConsumedWriteCapacityUnits(),
          table.metricConsumedReadCapacityUnits(),
          table.metric('WriteThrottleEvents', { statistic: cloudwatch.Stats.SUM }),
        ]),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Lambda duration p99',
        fns.map(([name, fn]) => fn.metricDuration({ statistic: 'p99', label: name })),
      ),
      graph(
        'Lambda errors',
        fns.map(([name, fn]) => fn.metricErrors({ label: name })),
      ),
      graph(
        'Lambda concurrency',
        fns.map(([name, fn]) =>
          fn.metric('ConcurrentExecutions', { statistic: 'Maximum', label: name }),
        ),
      ),
    );
    this.dashboard.addWidgets(
      graph('API requests', [props.loadBalancer.metrics.requestCount()]),
      graph('API latency', [
        props.loadBalancer.metrics.targetResponseTime({ statistic: 'p50' }),
        props.loadBalancer.metrics.targetResponseTime({ statistic: 'p99' }),
      ]),
      graph('API errors', [
        props.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT),
        props.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_4XX_COUNT),
        props.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT),
      ]),
    );
  }

  /** An alarm on "above threshold", missing data not breaching, notifying the topic both ways. */
  private alarm(
    id: string,
    options: {
      metric: cloudwatch.IMetric;
      threshold: number;
      description: string;
      evaluationPeriods?: number;
    },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    const action = new actions.SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
    return alarm;
  }
}
