import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Kept here too for callers that imported the defaults from this module. */
export { DEFAULT_LOADER_SETTINGS } from './config.js';

/**
 * The document client of the loader's control-table calls (write leases, progress
 * reports): exact numbers both ways (NumberValue in, `wrapNumbers` out) and omitted
 * empty optional attributes. The items themselves are written through an ItemWriter
 * (http-item-writer.ts).
 */
export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: true },
  });
}
