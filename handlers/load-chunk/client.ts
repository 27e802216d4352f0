import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sendWireFormAsIs } from './wire-form.js';

/** Kept here too for callers that imported the defaults from this module. */
export { DEFAULT_LOADER_SETTINGS } from './config.js';
export { createWriterClient, inWireForm } from './wire-form.js';

/**
 * The document client the loader needs: exact numbers both ways (NumberValue in,
 * `wrapNumbers` out) and omitted empty optional attributes for the control-table
 * calls, and the loader's item writes (low-level BatchWriteItem and PutItem commands
 * whose input is already in DynamoDB's wire form, see `inWireForm`) sent with a
 * request body built in one native `JSON.stringify` instead of the SDK's per-value
 * serializer. The low-level client gets the same middleware, so it can be shared.
 */
export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  sendWireFormAsIs(client);
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: true },
  });
}
