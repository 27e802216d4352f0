import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Kept here too for callers that imported the defaults from this module. */
export { DEFAULT_LOADER_SETTINGS } from './config.js';

/**
 * The document client the loader needs: exact numbers both ways (NumberValue in,
 * `wrapNumbers` out, so UnprocessedItems never come back as floats) and omitted
 * empty optional attributes.
 */
export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: true },
  });
}
