import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import type { MessageSpyReader, SpyMessage } from 'fauxqs';

/** Where the bridge publishes notifications for which bucket. */
export interface NotificationTarget {
  readonly bucket: string;
  readonly queueUrl: string;
  readonly region: string;
}

/** A running bridge. */
export interface NotificationBridge {
  /** Stops listening; notifications already being sent finish first. */
  stop(): Promise<void>;
}

/**
 * Encodes an object key the way S3 writes it into event notifications
 * (form-URL-encoding: spaces as `+`, slashes kept).
 */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/[!'()~]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replaceAll('%20', '+')
    .replaceAll('%2F', '/');
}

let lastSequencer = 0n;

/**
 * S3's sequencer: a hex value that grows with every event on a key. Derived
 * from the clock, and strictly increasing within this process.
 */
export function nextSequencer(now = Date.now()): string {
  let value = BigInt(now) * 1_000_000n;
  if (value <= lastSequencer) value = lastSequencer + 1n;
  lastSequencer = value;
  return value.toString(16).toUpperCase().padStart(18, '0');
}

/** Builds the S3 ObjectCreated event record exactly as S3 sends it. */
export function objectCreatedRecord(input: {
  readonly region: string;
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  /** ETag as S3 returns it on HeadObject (quoted); the event carries it unquoted. */
  readonly eTag: string;
  readonly versionId?: string;
  readonly sequencer: string;
  readonly eventTime: Date;
}): S3EventRecord {
  const eTag = input.eTag.replaceAll('"', '');
  // A multipart upload's ETag is "<md5>-<parts>"; S3 names that event accordingly.
  const eventName = /-\d+$/.test(eTag)
    ? 'ObjectCreated:CompleteMultipartUpload'
    : 'ObjectCreated:Put';
  const requestId = crypto.randomUUID().replaceAll('-', '').slice(0, 16).toUpperCase();
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: input.region,
    eventTime: input.eventTime.toISOString(),
    eventName,
    userIdentity: { principalId: 'AWS:LOCALSTACKUSER' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: {
      'x-amz-request-id': requestId,
      'x-amz-id-2': Buffer.from(crypto.randomUUID()).toString('base64'),
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'file-events',
      bucket: {
        name: input.bucket,
        ownerIdentity: { principalId: 'LOCALOWNER' },
        arn: `arn:aws:s3:::${input.bucket}`,
      },
      object: {
        key: encodeEventKey(input.key),
        size: input.size,
        eTag,
        ...(input.versionId ? { versionId: input.versionId } : {}),
        sequencer: input.sequencer,
      },
    },
  } as S3EventRecord;
}

/**
 * Bridges S3 ObjectCreated notifications, which fauxqs does not implement: it
 * follows fauxqs's record of completed uploads (PutObject and
 * CompleteMultipartUpload), reads the new object's size and ETag, and sends the
 * S3-shaped event to the file-events queue, one record per message as S3 does.
 */
export function startNotificationBridge(
  spy: MessageSpyReader,
  s3: S3Client,
  sqs: SQSClient,
  target: NotificationTarget,
  onError: (error: unknown) => void,
): NotificationBridge {
  const seen = new WeakSet<SpyMessage>();
  let stopped = false;
  let chain: Promise<void> = Promise.resolve();

  const isUpload = (message: SpyMessage) =>
    message.service === 's3' &&
    message.status === 'uploaded' &&
    message.bucket === target.bucket &&
    !seen.has(message);

  const notify = async (key: string, eventTime: Date) => {
    const head = await s3.send(new HeadObjectCommand({ Bucket: target.bucket, Key: key }));
    const record = objectCreatedRecord({
      region: target.region,
      bucket: target.bucket,
      key,
      size: head.ContentLength ?? 0,
      eTag: head.ETag ?? '',
      ...(head.VersionId ? { versionId: head.VersionId } : {}),
      sequencer: nextSequencer(eventTime.getTime()),
      eventTime,
    });
    const event: S3Event = { Records: [record] };
    await sqs.send(
      new SendMessageCommand({ QueueUrl: target.queueUrl, MessageBody: JSON.stringify(event) }),
    );
  };

  const loop = async () => {
    while (!stopped) {
      let message: SpyMessage;
      try {
        // Resolves at once for an upload already in the spy's buffer, else at the next one.
        message = await spy.waitForMessage(isUpload);
      } catch {
        return; // the spy was cleared: the server is stopping
      }
      seen.add(message);
      if (message.service !== 's3') continue;
      const key = message.key;
      const eventTime = new Date(message.timestamp);
      // Notifications go out in upload order, like S3's per-key ordering.
      chain = chain.then(() => notify(key, eventTime)).catch(onError);
    }
  };
  // The loop ends when fauxqs stops (its spy is cleared); nothing waits for it.
  void loop();

  return {
    async stop() {
      stopped = true;
      await chain;
    },
  };
}
