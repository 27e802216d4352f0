import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, NumberValue } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../handlers/load-chunk/client.js';

/**
 * The document client over the real SDK middleware (serialization included), with
 * a request handler that answers in-process: what would go on the wire is captured.
 */
function clientAnswering(responseBody: unknown) {
  const requests: unknown[] = [];
  const low = new DynamoDBClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    requestHandler: {
      handle: async (request: { body?: unknown }) => {
        const { body } = request;
        const text = typeof body === 'string' ? body : new TextDecoder().decode(body as Uint8Array);
        requests.push(JSON.parse(text));
        return {
          response: {
            statusCode: 200,
            headers: { 'content-type': 'application/x-amz-json-1.0' },
            body: Readable.from([Buffer.from(JSON.stringify(responseBody))]),
          },
        };
      },
    } as never,
  });
  return { dynamo: createDocumentClient(low), requests };
}

describe('createDocumentClient', () => {
  it('sends numbers as their exact decimal text and omits undefined attributes', async () => {
    const { dynamo, requests } = clientAnswering({ UnprocessedItems: {} });
    await dynamo.send(
      new BatchWriteCommand({
        RequestItems: {
          books: [
            {
              PutRequest: {
                Item: {
                  isbn: NumberValue.from('1234567890123456789'),
                  price: NumberValue.from('0.1'),
                  title: 'T',
                  pages: undefined,
                },
              },
            },
          ],
        },
      }),
    );
    expect(requests).toEqual([
      {
        RequestItems: {
          books: [
            {
              PutRequest: {
                Item: {
                  isbn: { N: '1234567890123456789' },
                  price: { N: '0.1' },
                  title: { S: 'T' },
                },
              },
            },
          ],
        },
      },
    ]);
  });

  it('returns UnprocessedItems with exact numbers (NumberValue), never floats', async () => {
    const { dynamo } = clientAnswering({
      UnprocessedItems: {
        books: [
          { PutRequest: { Item: { isbn: { N: '1234567890123456789' }, price: { N: '0.1' } } } },
        ],
      },
    });
    const output = await dynamo.send(new BatchWriteCommand({ RequestItems: { books: [] } }));
    const item = output.UnprocessedItems?.books?.[0]?.PutRequest?.Item ?? {};
    expect(item.isbn).toBeInstanceOf(NumberValue);
    expect(String(item.isbn)).toBe('1234567890123456789');
    expect(String(item.price)).toBe('0.1');
  });
});
