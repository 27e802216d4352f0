import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/** The credentials a request is signed with (an SDK credential provider's answer). */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** A request to sign: its method, host, path, headers (lower-case names) and body. */
export interface SignableRequest {
  readonly method: string;
  /** `host[:port]`, as the Host header carries it. */
  readonly host: string;
  /** The path as sent (no query string), e.g. `/`. */
  readonly path: string;
  /** Headers to sign besides host, x-amz-date and x-amz-security-token; names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/**
 * AWS Signature Version 4 for one service in one region, for requests without a query
 * string (DynamoDB's JSON protocol: a POST to the endpoint's path). Synchronous, with
 * the day's signing key kept (as a KeyObject: Node checks a Buffer key anew on every
 * HMAC, which cost more than the digests) until the date or the secret changes, so a
 * signature costs two SHA-256 digests and one HMAC. test/unit/sign-request.test.ts checks every
 * header it produces against @smithy/signature-v4, the SDK's own signer.
 */
export class RequestSigner {
  private key:
    | { readonly day: string; readonly secret: string; readonly key: KeyObject }
    | undefined;
  /** The last second signed in, and its SigV4 form. */
  private time: { readonly second: number; readonly amzDate: string } | undefined;

  constructor(
    private readonly region: string,
    private readonly service: string,
  ) {}

  /** The headers to send: the request's own, host, x-amz-date, the token if any, and authorization. */
  sign(
    request: SignableRequest,
    credentials: SigningCredentials,
    at: Date,
  ): Record<string, string> {
    const amzDate = this.amzDate(at);
    const day = amzDate.slice(0, 8);
    const headers: Record<string, string> = {
      ...request.headers,
      host: request.host,
      'x-amz-date': amzDate,
    };
    if (credentials.sessionToken !== undefined) {
      headers['x-amz-security-token'] = credentials.sessionToken;
    }
    const names = Object.keys(headers).sort();
    const signedHeaders = names.join(';');
    const canonicalHeaders = names
      .map((name) => `${name}:${canonicalValue(headers[name])}\n`)
      .join('');
    const canonicalRequest = [
      request.method,
      canonicalPath(request.path),
      '',
      canonicalHeaders,
      signedHeaders,
      sha256Hex(request.body),
    ].join('\n');
    const scope = `${day}/${this.region}/${this.service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const signature = createHmac('sha256', this.signingKey(day, credentials.secretAccessKey))
      .update(stringToSign)
      .digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }

  private signingKey(day: string, secret: string): KeyObject {
    const { key } = this;
    if (key !== undefined && key.day === day && key.secret === secret) return key.key;
    const bytes = [day, this.region, this.service, 'aws4_request'].reduce<Buffer | string>(
      (previous, part) => createHmac('sha256', previous).update(part).digest(),
      `AWS4${secret}`,
    ) as Buffer;
    this.key = { day, secret, key: createSecretKey(bytes) };
    return this.key.key;
  }

  /** `20261202T074512Z`: SigV4's form of a time (made once per second). */
  private amzDate(at: Date): string {
    const second = Math.floor(at.getTime() / 1000);
    if (this.time?.second !== second) {
      const amzDate = at
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '');
      this.time = { second, amzDate };
    }
    return this.time.amzDate;
  }
}

/** A header's value as SigV4 signs it: line breaks and runs of blanks as one space, no blank at either end. */
function canonicalValue(value = ''): string {
  return value
    .replace(/[\r\n]/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
}

function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The path as SigV4 canonicalizes it for services other than S3: dot segments
 * resolved, then every character outside the unreserved set percent-encoded (the
 * slashes kept), which encodes an already-encoded path once more.
 */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const joined = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return joined
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join('/');
}
