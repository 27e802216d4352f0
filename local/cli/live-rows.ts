import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { progressKey, rowsByChunk } from '../../handlers/shared/load-progress.js';
import type { UploadStamp } from '../../handlers/shared/upload-order.js';
import { LOCAL_CREDENTIALS } from '../config.js';
import type { Endpoints } from '../endpoints.js';

/** Reads the rows each loading chunk of an execution has reported, by chunk index. */
export type LiveRowsReader = (executionInput: string) => Promise<ReadonlyMap<number, number>>;

/**
 * The reader of the local stack's control table (handlers/shared/load-progress.ts):
 * the execution input's upload stamp names the progress item. An input without a
 * stamp, or a failed read, gives no live rows (progress then moves per chunk).
 */
export function liveRowsReader(e: Pick<Endpoints, 'region' | 'dynamodb' | 'controlTable'>): {
  readonly read: LiveRowsReader;
  readonly close: () => void;
} {
  const client = new DynamoDBClient({
    region: e.region,
    endpoint: e.dynamodb,
    credentials: LOCAL_CREDENTIALS,
  });
  const documents = DynamoDBDocumentClient.from(client);
  const read: LiveRowsReader = async (executionInput) => {
    const upload = uploadOf(executionInput);
    if (upload === undefined) return new Map();
    try {
      const { Item } = await documents.send(
        new GetCommand({ TableName: e.controlTable, Key: progressKey(upload) }),
      );
      return rowsByChunk(Item);
    } catch {
      return new Map();
    }
  };
  return { read, close: () => client.destroy() };
}

function uploadOf(executionInput: string): UploadStamp | undefined {
  try {
    const { upload } = JSON.parse(executionInput) as { upload?: Partial<UploadStamp> };
    if (
      typeof upload?.key === 'string' &&
      typeof upload.version === 'string' &&
      typeof upload.sequencer === 'string' &&
      typeof upload.uploadedAt === 'string'
    ) {
      return upload as UploadStamp;
    }
  } catch {
    // not JSON: no stamp
  }
  return undefined;
}
