import {
  BatchWriteItemCommand,
  type BatchWriteItemCommandInput,
  type BatchWriteItemCommandOutput,
  type DynamoDBClient,
  PutItemCommand,
  type PutItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** A BatchWriteItem call's input, its items in DynamoDB's wire form. */
export type BatchWriteInput = BatchWriteItemCommandInput;
/** What the loader reads of a BatchWriteItem answer. */
export type BatchWriteOutput = Pick<BatchWriteItemCommandOutput, 'UnprocessedItems'>;
/** A (conditional) PutItem call's input, its item in DynamoDB's wire form. */
export type PutInput = PutItemCommandInput;

/**
 * The two calls the loader writes items with. Their inputs are already in DynamoDB's
 * JSON wire form (every value an AttributeValue), so a writer sends them as they
 * are. A refusal rejects with an error shaped as the SDK's (`name` the error code,
 * `$fault`, `$metadata.httpStatusCode`); no answer at all rejects with an error whose
 * `code` names the network failure (see unreachableCode), so batch-writer.ts
 * classifies both the same whichever writer sent the call.
 */
export interface ItemWriter {
  batchWriteItem(input: BatchWriteInput): Promise<BatchWriteOutput>;
  putItem(input: PutInput): Promise<void>;
}

/**
 * The calls through an SDK client (a low-level client, or a document client, which
 * sends low-level commands untouched): what the loader uses when it is given no
 * writer of its own, as in tests over aws-sdk-client-mock. The deployed loader
 * writes through http-item-writer.ts, which skips the SDK's per-call middleware.
 */
export function sdkItemWriter(client: DynamoDBClient | DynamoDBDocumentClient): ItemWriter {
  // A document client's send takes the low-level commands as they are.
  const sdk = client as DynamoDBClient;
  return {
    batchWriteItem: (input) => sdk.send(new BatchWriteItemCommand(input)),
    putItem: async (input) => {
      await sdk.send(new PutItemCommand(input));
    },
  };
}
