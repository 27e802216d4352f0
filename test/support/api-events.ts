import type { ALBEvent, ALBResult } from 'aws-lambda';

/** The default dataset schema (cdk.json context `dataset`), as the DATASET env var holds it. */
export const BOOKS_DATASET = {
  name: 'books',
  key: 'isbn',
  columns: [
    { name: 'isbn', type: 'number', required: true },
    { name: 'title', type: 'string', required: true, maxLength: 500 },
    { name: 'price', type: 'number', required: false },
  ],
};

/** A dataset keyed by a string, for string-key behaviour. */
export const SKU_DATASET = {
  name: 'parts',
  key: 'sku',
  columns: [
    { name: 'sku', type: 'string', required: true },
    { name: 'name', type: 'string', required: true },
  ],
};

interface EventOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly body?: string;
  readonly base64?: boolean;
}

/** An ALB event as a target group with single-value headers sends it. */
export function albEvent(path: string, options: EventOptions = {}): ALBEvent {
  const body = options.body ?? '';
  return {
    requestContext: {
      elb: {
        targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/abc',
      },
    },
    httpMethod: options.method ?? 'GET',
    path,
    queryStringParameters: options.query ?? {},
    headers: {
      host: 'api.example.com',
      'x-forwarded-proto': 'https',
      ...lowerCase(options.headers ?? {}),
    },
    body: options.base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: options.base64 ?? false,
  };
}

/** The same request as a target group with multi-value headers enabled sends it. */
export function multiValueAlbEvent(
  path: string,
  options: Omit<EventOptions, 'headers' | 'query'> & {
    headers?: Record<string, string[]>;
    query?: Record<string, string[]>;
  } = {},
): ALBEvent {
  const {
    headers: _single,
    queryStringParameters: _query,
    ...rest
  } = albEvent(path, {
    ...(options.method === undefined ? {} : { method: options.method }),
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(options.base64 === undefined ? {} : { base64: options.base64 }),
  });
  return {
    ...rest,
    multiValueQueryStringParameters: options.query ?? {},
    multiValueHeaders: {
      host: ['api.example.com'],
      ...Object.fromEntries(
        Object.entries(options.headers ?? {}).map(([name, values]) => [name.toLowerCase(), values]),
      ),
    },
  };
}

/** One response header (case-insensitive), from either header shape. */
export function header(result: ALBResult, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(result.headers ?? {})) {
    if (key.toLowerCase() === wanted) return String(value);
  }
  for (const [key, values] of Object.entries(result.multiValueHeaders ?? {})) {
    if (key.toLowerCase() === wanted) return values.map(String).join(', ');
  }
  return undefined;
}

/** The parsed JSON body of a result. */
export function body(result: ALBResult): Record<string, unknown> {
  return JSON.parse(result.body ?? '') as Record<string, unknown>;
}

function lowerCase(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
}
