import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';
import {
  RequestSigner,
  type SignableRequest,
  type SigningCredentials,
} from '../../handlers/load-chunk/sign-request.js';

// The loader's SigV4 signer against the SDK's own (@smithy/signature-v4): the same
// request, credentials and time must give the very same headers.

/** Node's SHA-256 in the shape @smithy/signature-v4 takes (a hash, or an HMAC given a key). */
class NodeSha256 {
  private readonly hash;
  constructor(key?: SourceData) {
    this.hash = key === undefined ? createHash('sha256') : createHmac('sha256', bytes(key));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function bytes(data: SourceData): string | Buffer {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data)
    ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    : Buffer.from(data);
}

async function sdkHeaders(
  request: SignableRequest,
  credentials: SigningCredentials,
  at: Date,
  region = 'eu-west-1',
): Promise<Record<string, string>> {
  const [hostname, port] = request.host.split(':');
  const signer = new SignatureV4({
    credentials,
    region,
    service: 'dynamodb',
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'https:',
      hostname: hostname ?? '',
      ...(port === undefined ? {} : { port: Number(port) }),
      path: request.path,
      query: {},
      headers: { ...request.headers, host: request.host },
      body: request.body,
    },
    { signingDate: at },
  );
  return signed.headers;
}

const credentials: SigningCredentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const withToken: SigningCredentials = {
  ...credentials,
  sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE//////////token+with/odd=chars',
};

function request(overrides: Partial<SignableRequest> = {}): SignableRequest {
  return {
    method: 'POST',
    host: 'dynamodb.eu-west-1.amazonaws.com',
    path: '/',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'DynamoDB_20120810.BatchWriteItem',
    },
    body: Buffer.from('{"RequestItems":{"books":[{"PutRequest":{"Item":{"isbn":{"N":"1"}}}}]}}'),
    ...overrides,
  };
}

const at = new Date('2026-12-02T07:45:12.345Z');

describe('RequestSigner', () => {
  it.each([
    ['a BatchWriteItem with long-term keys', request(), credentials],
    ['the same with a session token (as Lambda has)', request(), withToken],
    [
      'a PutItem whose body holds non-ASCII text',
      request({
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.PutItem',
        },
        body: Buffer.from('{"Item":{"title":{"S":"Émile — «quoted» 💡"}}}'),
      }),
      credentials,
    ],
    ['an empty body', request({ body: Buffer.alloc(0) }), credentials],
    ['a local endpoint with a port', request({ host: '127.0.0.1:8000' }), credentials],
    [
      'a path with segments to normalise and characters to encode',
      request({ path: '/proxy/./a b/../dynamo(db)*/' }),
      credentials,
    ],
    [
      'header values with runs of blanks',
      request({
        headers: {
          'content-type': '  application/x-amz-json-1.0 ',
          'x-amz-target': 'DynamoDB_20120810.BatchWriteItem',
          'x-extra': 'a \t  b',
        },
      }),
      credentials,
    ],
  ])('signs %s exactly as the SDK does', async (_name, input, who) => {
    const ours = new RequestSigner('eu-west-1', 'dynamodb').sign(input, who, at);
    expect(ours).toEqual(await sdkHeaders(input, who, at));
  });

  it('names the token, the date and every signed header in the authorization', () => {
    const headers = new RequestSigner('eu-west-1', 'dynamodb').sign(request(), withToken, at);
    expect(headers['x-amz-date']).toBe('20261202T074512Z');
    expect(headers['x-amz-security-token']).toBe(withToken.sessionToken);
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261202\/eu-west-1\/dynamodb\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/,
    );
  });

  it('keeps signing correctly across a change of day and of secret (the cached key is renewed)', async () => {
    const signer = new RequestSigner('eu-west-1', 'dynamodb');
    const rotated = { ...credentials, secretAccessKey: 'another/secret+key' };
    const times = [
      at,
      new Date('2026-12-02T23:59:59.999Z'),
      new Date('2026-12-03T00:00:00.000Z'),
      new Date('2026-12-03T00:00:00.500Z'),
    ];
    for (const time of times) {
      for (const who of [credentials, rotated, credentials]) {
        expect(signer.sign(request(), who, time)).toEqual(await sdkHeaders(request(), who, time));
      }
    }
  });

  it('signs for its own region and service', async () => {
    const signer = new RequestSigner('us-gov-west-1', 'dynamodb');
    const input = request({ host: 'dynamodb.us-gov-west-1.amazonaws.com' });
    expect(signer.sign(input, credentials, at)).toEqual(
      await sdkHeaders(input, credentials, at, 'us-gov-west-1'),
    );
  });
});
