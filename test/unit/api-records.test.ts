import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, NumberValue } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { ParsedKey } from '../../handlers/api/keys.js';
import {
  batchGetRecords,
  createDocumentClient,
  ReadThrottledError,
  type RetryPolicy,
  type Table,
} from '../../handlers/api/records.js';
import { handleAlbEvent } from '../../handlers/api/routes.js';
import { parseDataset } from '../../handlers/shared/dataset.js';
import { apiDeps, apiEnv, LOCAL_ISSUER, localAuth } from '../support/api-deps.js';
import { albEvent, BOOKS_DATASET } from '../support/api-events.js';

const schema = parseDataset(BOOKS_DATASET);
const NOW = 1_800_000_000;

/**
 * A DynamoDB client whose HTTP handler answers from a table of canned wire
 * responses (by operation), so the real marshalling and unmarshalling run
 * with no network. Records every request body it receives.
 */
function wireClient(responses: Record<string, unknown>): {
  client: DynamoDBClient;
  requests: { operation: string; body: unknown }[];
} {
  const requests: { operation: string; body: unknown }[] = [];
  const client = new DynamoDBClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: {
      handle: async (request: { headers: Record<string, string>; body?: Uint8Array }) => {
        const operation = (request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
        requests.push({
          operation,
          body: JSON.parse(new TextDecoder().decode(request.body ?? new Uint8Array())),
        });
        return {
          response: {
            statusCode: 200,
            headers: { 'content-type': 'application/x-amz-json-1.0' },
            body: new TextEncoder().encode(JSON.stringify(responses[operation] ?? {})),
          },
        };
      },
    } as never,
  });
  return { client, requests };
}

describe('createDocumentClient', () => {
  it('carries numbers from the DynamoDB wire to the JSON response without losing a digit', async () => {
    const wire = wireClient({
      GetItem: {
        Item: {
          isbn: { N: '9780306406157' },
          big: { N: '-98765432109876543210987654321098765432' },
          price: { N: '19.990000000000000000000000000000000001' },
          title: { S: 'Exact' },
          tags: { SS: ['a', 'b'] },
        },
      },
    });
    const { getKey, token } = await localAuth(NOW);
    const deps = apiDeps(apiEnv(LOCAL_ISSUER), { nowSeconds: NOW, getKey });

    const result = await handleAlbEvent(
      albEvent('/books/9780306406157.00', {
        headers: { authorization: `Bearer ${await token()}` },
      }),
      { ...deps, client: createDocumentClient(wire.client) },
    );

    expect(result.body).toBe(
      '{"isbn":9780306406157,"big":-98765432109876543210987654321098765432,' +
        '"price":19.990000000000000000000000000000000001,"title":"Exact","tags":["a","b"]}',
    );
    expect(wire.requests).toEqual([
      {
        operation: 'GetItem',
        body: { TableName: 'books-table', Key: { isbn: { N: '9780306406157' } } },
      },
    ]);
  });
});

describe('batchGetRecords', () => {
  const table: Table = {
    client: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })),
    tableName: 'books-table',
    schema,
  };
  // Mock this instance only: the wire test above runs a real DocumentClient.
  const ddb = mockClient(table.client);
  const key = (isbn: string): ParsedKey => ({
    canonical: `${isbn}E${isbn.length - 1}`,
    attribute: NumberValue.from(isbn),
    asGiven: isbn,
  });

  beforeEach(() => ddb.reset());

  function policy(random: number, sleeps: number[]): RetryPolicy {
    return {
      maxAttempts: 8,
      baseDelayMs: 50,
      maxDelayMs: 2000,
      random: () => random,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    };
  }

  it.each([
    [0.999, [49, 99, 199, 399, 799, 1598, 1998]],
    [0, [0, 0, 0, 0, 0, 0, 0]],
  ])(
    'backs off with full jitter (random %d) capped at 2 s, then throws ReadThrottledError',
    async (random, expected) => {
      ddb.on(BatchGetCommand).resolves({
        UnprocessedKeys: { 'books-table': { Keys: [{ isbn: NumberValue.from('1') }] } },
      });
      const sleeps: number[] = [];

      const read = batchGetRecords(table, [key('1')], policy(random, sleeps));

      await expect(read).rejects.toThrow(ReadThrottledError);
      await expect(read).rejects.toThrow('1 of 1 keys still unprocessed after 8 attempts');
      expect(sleeps).toEqual(expected);
      expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(8);
    },
  );

  it('asks again only for the unprocessed keys and merges every answer', async () => {
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { 'books-table': [{ isbn: NumberValue.from('2') }] },
        UnprocessedKeys: {
          'books-table': {
            Keys: [{ isbn: NumberValue.from('1') }, { isbn: NumberValue.from('3') }],
          },
        },
      })
      .resolvesOnce({
        Responses: { 'books-table': [{ isbn: NumberValue.from('3') }] },
        UnprocessedKeys: { 'books-table': { Keys: [{ isbn: NumberValue.from('1') }] } },
      })
      .resolvesOnce({ Responses: { 'books-table': [] } });
    const sleeps: number[] = [];

    const result = await batchGetRecords(
      table,
      [key('1'), key('2'), key('3')],
      policy(0.5, sleeps),
    );

    expect(result.found.map((found) => found.item)).toEqual([
      { isbn: NumberValue.from('2') },
      { isbn: NumberValue.from('3') },
    ]);
    expect(result.found.map((found) => found.key.asGiven)).toEqual(['2', '3']);
    expect(result.missing.map((missing) => missing.asGiven)).toEqual(['1']);
    expect(sleeps).toEqual([25, 50]);
    expect(
      ddb
        .commandCalls(BatchGetCommand)
        .map((call) => call.args[0].input.RequestItems?.['books-table']?.Keys?.length),
    ).toEqual([3, 2, 1]);
  });
});
