import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Props of the file-event queues. */
export interface FileEventsProps {
  /** The bucket whose ObjectCreated events start ingestions. */
  readonly bucket: s3.Bucket;
  /** Visibility timeout of the queue: at least six times the consumer's (start-ingestion's) timeout. */
  readonly visibilityTimeout: Duration;
  /** Deliveries before a message moves to the DLQ. */
  readonly maxReceiveCount: number;
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
    });

    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      // Shorter than the DLQ's: a standard queue's DLQ keeps the original enqueue time.
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });

    props.bucket.addEventNotification(
      s3.EventType.OBJECT_CREATED,
      new s3n.SqsDestination(this.queue),
    );
    acknowledgeNotificationHandler(Stack.of(this));
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
