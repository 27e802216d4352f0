import { Duration, RemovalPolicy, Tags, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { DatasetSchema } from '../handlers/shared/dataset.js';

/** One dataset's table settings. */
export interface DatasetTableProps {
  readonly schema: DatasetSchema;
  /** On-demand ceiling on write request units per second. @default unbounded */
  readonly maxWriteThroughput?: number;
}

/** Props of the storage layer. */
export interface StorageProps {
  /** The datasets, in configured order: one table each. */
  readonly datasets: readonly DatasetTableProps[];
  /** RETAIN keeps the table and buckets when the stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
  /** Days before a replaced or deleted object version is expired. */
  readonly noncurrentVersionExpirationDays: number;
}

/**
 * The data bucket (uploads), the log bucket (S3 and ALB access logs), one DynamoDB
 * table per dataset whose key comes from the dataset's schema, and the ingestion
 * control table (write leases and the newest upload per table, which keep an
 * older upload's write from ever winning over a newer one's).
 */
export class Storage extends Construct {
  readonly dataBucket: s3.Bucket;
  readonly logBucket: s3.Bucket;
  /** The table of each dataset, by dataset name, in configured order. */
  readonly tables: ReadonlyMap<string, dynamodb.TableV2>;
  readonly controlTable: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const destroy = props.removalPolicy === RemovalPolicy.DESTROY;

    // What every bucket here is: private, TLS only, no ACLs, emptied on delete only when
    // the stage destroys it. SSE-S3: ALB access logs cannot be written to a KMS-encrypted bucket.
    const baseline = {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: destroy,
    } satisfies s3.BucketProps;

    this.logBucket = new s3.Bucket(this, 'LogBucket', {
      ...baseline,
      lifecycleRules: [{ id: 'expire-logs', expiration: Duration.days(365) }],
    });
    Validations.of(this.logBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This is the access-log destination itself; logging it to itself would loop and another log bucket would only move the finding.',
    });

    this.dataBucket = new s3.Bucket(this, 'DataBucket', {
      ...baseline,
      // Versioning lets a loader pin the exact version it planned, and makes overwrites recoverable.
      versioned: true,
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionExpirationDays),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'data-bucket/',
    });

    const tables = new Map<string, dynamodb.TableV2>();
    props.datasets.forEach(({ schema, maxWriteThroughput }, index) => {
      // The first dataset's table keeps the id of the single-dataset stack, so adding a
      // dataset after it never replaces the table that holds its records.
      const id = index === 0 ? 'Table' : `Table-${schema.name}`;
      const table = new dynamodb.TableV2(this, id, {
        partitionKey: {
          name: schema.key,
          type:
            schema.keyType === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING,
        },
        billing: dynamodb.Billing.onDemand(
          maxWriteThroughput === undefined ? {} : { maxWriteRequestUnits: maxWriteThroughput },
        ),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: !destroy,
        removalPolicy: props.removalPolicy,
      });
      Tags.of(table).add('dataset', schema.name);
      tables.set(schema.name, table);
    });
    this.tables = tables;

    // Same lifecycle as the data: losing the newest-upload marks while the items keep
    // their provenance would let an older upload batch-write over newer values.
    this.controlTable = new dynamodb.TableV2(this, 'ControlTable', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      // Leases of crashed chunks expire by themselves (write-lease.ts sets expiresAt).
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: !destroy,
      removalPolicy: props.removalPolicy,
    });
  }
}
