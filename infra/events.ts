import { Aws, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { aws_s3 as s3Refs } from 'aws-cdk-lib/interfaces';
import { Construct } from 'constructs';

/** Props of the file-event queues. */
export interface FileEventsProps {
  /** The bucket whose ObjectCreated events start ingestions. */
  readonly bucket: s3.Bucket;
  /** Visibility timeout of the queue: at least six times the consumer's (start-ingestion's) timeout. */
  readonly visibilityTimeout: Duration;
  /** Deliveries before a message moves to the DLQ. */
  readonly maxReceiveCount: number;
  /** RETAIN keeps both queues (and the failure records in the DLQ) when the stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * S3 ObjectCreated → the file-events queue, redriven to the dead-letter queue
 * after `maxReceiveCount` deliveries. The workflow also sends its failure
 * records to the same DLQ, so one queue holds every file that did not load.
 */
export class FileEvents extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: FileEventsProps) {
    super(scope, id);

    // SSE-SQS rather than KMS: S3 can publish to it without a key policy (a common deploy failure).
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    });

    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      // Shorter than the DLQ's: a standard queue's DLQ keeps the original enqueue time.
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
      removalPolicy: props.removalPolicy,
    });

    props.bucket.addEventNotification(
      s3.EventType.OBJECT_CREATED,
      new SourceScopedQueueDestination(this.queue),
    );
    acknowledgeNotificationHandler(Stack.of(this));
  }
}

/**
 * S3 notifications into a queue whose policy admits S3 only for this bucket of this
 * account: `aws:SourceArn` names the bucket and `aws:SourceAccount` the bucket's owner,
 * as AWS advises against the confused deputy (CDK's SqsDestination sets only the ARN,
 * and bucket names can move to another account once deleted).
 */
class SourceScopedQueueDestination implements s3.IBucketNotificationDestination {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(_scope: Construct, bucket: s3Refs.IBucketRef): s3.BucketNotificationDestinationConfig {
    this.queue.grantSendMessages(
      new iam.ServicePrincipal('s3.amazonaws.com', {
        conditions: {
          ArnLike: { 'aws:SourceArn': bucket.bucketRef.bucketArn },
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        },
      }),
    );
    return {
      arn: this.queue.queueArn,
      type: s3.BucketNotificationDestinationType.QUEUE,
      // S3 tests the destination when the notification is written: the policy must exist.
      dependencies: [this.queue],
    };
  }
}

/**
 * CDK configures bucket notifications through one stack-level custom resource
 * Lambda; its findings are acknowledged on that construct alone.
 */
function acknowledgeNotificationHandler(stack: Stack): void {
  for (const child of stack.node.children) {
    if (!child.node.id.startsWith('BucketNotificationsHandler')) continue;
    Validations.of(child).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        'CDK-owned custom resource that writes the bucket notification configuration during deployments; the managed policy only lets it write its own logs.',
    });
  }
}
