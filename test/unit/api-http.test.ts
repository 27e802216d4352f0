import type { ALBEvent } from 'aws-lambda';
import { parseAlbEvent } from '../../handlers/api/http.js';
import { HttpProblemError } from '../../handlers/api/problems.js';

const base: ALBEvent = {
  requestContext: { elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:::targetgroup/api/1' } },
  httpMethod: 'get',
  path: '/books/1',
  body: '',
  isBase64Encoded: false,
};

const entries = (map: ReadonlyMap<string, readonly string[]>) => Object.fromEntries(map);

describe('parseAlbEvent', () => {
  it.each([
    [
      'single-value maps',
      {
        headers: { Accept: 'application/json', 'X-A': '1' },
        queryStringParameters: { 'a+b': 'x%20y+z', limit: '5' },
      },
      { accept: ['application/json'], 'x-a': ['1'] },
      { 'a b': ['x y z'], limit: ['5'] },
      false,
    ],
    [
      'multi-value maps',
      {
        multiValueHeaders: { Accept: ['a', 'b'], accept: ['c'], Empty: [] },
        multiValueQueryStringParameters: { limit: ['1', '2'], 'n%C3%A9': ['%C3%A9'] },
      },
      { accept: ['a', 'b', 'c'], empty: undefined },
      { limit: ['1', '2'], né: ['é'] },
      true,
    ],
    ['no maps at all', {}, {}, {}, false],
  ] as const)(
    'collects headers (lower-case names) and decoded query values from %s',
    (_case, maps, headers, query, multiValue) => {
      const request = parseAlbEvent({ ...base, ...maps } as ALBEvent);

      expect(entries(request.headers)).toEqual(
        Object.fromEntries(Object.entries(headers).filter(([, values]) => values !== undefined)),
      );
      expect(entries(request.query)).toEqual(query);
      expect(request.multiValue).toBe(multiValue);
      expect(request.method).toBe('GET');
    },
  );

  it.each([
    ['a value', { 'n%C3%A9': '%E0%A4%A' }, 'né'],
    ['a name', { '%ZZ': '1' }, '%ZZ'],
  ])(
    'returns 400 naming the parameter when %s is not valid percent-encoding',
    (_case, query, parameter) => {
      let thrown: unknown;
      try {
        parseAlbEvent({ ...base, queryStringParameters: query });
      } catch (error) {
        thrown = error;
      }

      expect(thrown).toBeInstanceOf(HttpProblemError);
      expect(thrown).toMatchObject({
        status: 400,
        code: 'invalid-query',
        options: { errors: [{ parameter }] },
      });
    },
  );

  it('decodes a base64 body to its bytes', () => {
    const request = parseAlbEvent({
      ...base,
      body: Buffer.from([0xff, 0x00]).toString('base64'),
      isBase64Encoded: true,
    });

    expect([...request.body]).toEqual([0xff, 0x00]);
  });
});
