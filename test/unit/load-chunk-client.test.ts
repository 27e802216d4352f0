import { Readable } from 'node:stream';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, NumberValue } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../handlers/load-chunk/client.js';

/**
 * The document client over the real SDK middleware (serialization included), with
 * a request handler that answers in-process: what would go on the wire is captured.
 */
function clientAnswering(responseBody: unknown) {
  const { config, requests } = answering(responseBody);
  return { dynamo: createDocumentClient(new DynamoDBClient(config)), requests };
}

/** Client settings whose request handler records each request's parsed body, text and headers. */
function answering(responseBody: unknown) {
  const requests: unknown[] = [];
  const raw: { body: string; headers: Record<string, string> }[] = [];
  const config: DynamoDBClientConfig = {
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    requestHandler: {
      handle: async (request: { body?: unknown; headers: Record<string, string> }) => {
        const { body } = request;
        const text = typeof body === 'string' ? body : new TextDecoder().decode(body as Uint8Array);
        requests.push(JSON.parse(text));
        raw.push({ body: text, headers: request.headers });
        return {
          response: {
            statusCode: 200,
            headers: { 'content-type': 'application/x-amz-json-1.0' },
            body: Readable.from([Buffer.from(JSON.stringify(responseBody))]),
          },
        };
      },
    } as never,
  };
  return { config, requests, raw };
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
