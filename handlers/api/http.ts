import { NumberValue } from '@aws-sdk/lib-dynamodb';
import type { ALBEvent, ALBResult } from 'aws-lambda';
import { badRequest, statusText } from './problems.js';

/** An ALB request, normalised: lower-case header names, decoded query, decoded body bytes. */
export interface ApiRequest {
  readonly method: string;
  /** The path exactly as the client sent it (still percent-encoded). */
  readonly path: string;
  /** Every value of every header, by lower-case name. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  /** Every value of every query parameter, percent-decoded, by name. */
  readonly query: ReadonlyMap<string, readonly string[]>;
  /** The body bytes (base64 already decoded); empty when there is none. */
  readonly body: Buffer;
  /** Whether the target group has multi-value headers on: the response must use the same shape. */
  readonly multiValue: boolean;
}

/** What a route returns; `toAlbResult` turns it into the ALB shape. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Headers on every response, success or problem. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
  // The API only ever returns JSON: nothing in it may load or frame anything.
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
};

/**
 * Normalises an ALB target-group event. ALB passes the path and query string
 * exactly as received (percent-encoded); query values are decoded here and a
 * malformed escape is a 400.
 */
export function parseAlbEvent(event: ALBEvent): ApiRequest {
  const multiValue = isMultiValue(event);
  const headers = multimap(event.multiValueHeaders, event.headers, (name, value) => [
    name.toLowerCase(),
    value,
  ]);
  const query = multimap(
    event.multiValueQueryStringParameters,
    event.queryStringParameters,
    (name, value) => {
      const key = decodeQueryComponent(name, name);
      return [key, decodeQueryComponent(value, key)];
    },
  );

  const rawBody = event.body ?? '';
  return {
    method: event.httpMethod.toUpperCase(),
    path: event.path,
    headers,
    query,
    body: event.isBase64Encoded ? Buffer.from(rawBody, 'base64') : Buffer.from(rawBody, 'utf8'),
    multiValue,
  };
}

/** Whether the target group has multi-value headers enabled (the event then carries only multi-value maps). */
export function isMultiValue(event: ALBEvent): boolean {
  return (
    event.multiValueHeaders !== undefined || event.multiValueQueryStringParameters !== undefined
  );
}

/**
 * Every name/value pair of an ALB map (the multi-value form when the event has it,
 * else the single-value one), grouped by `entry`'s name in arrival order.
 */
function multimap(
  multiValues: Readonly<Record<string, string[] | undefined>> | undefined,
  singleValues: Readonly<Record<string, string | undefined>> | undefined,
  entry: (name: string, value: string) => readonly [string, string],
): Map<string, string[]> {
  const pairs = multiValues
    ? Object.entries(multiValues).flatMap(([name, values]) =>
        (values ?? []).map((value) => [name, value] as const),
      )
    : Object.entries(singleValues ?? {}).flatMap(([name, value]) =>
        value === undefined ? [] : [[name, value] as const],
      );
  const map = new Map<string, string[]>();
  for (const [rawName, rawValue] of pairs) {
    const [name, value] = entry(rawName, rawValue);
    const values = map.get(name);
    if (values) values.push(value);
    else map.set(name, [value]);
  }
  return map;
}

function decodeQueryComponent(text: string, parameter: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    throw badRequest(
      'invalid-query',
      `Query parameter "${parameter}" is not valid percent-encoding.`,
      [{ parameter, detail: 'not valid percent-encoding' }],
    );
  }
}

/** Shapes a response for ALB, with multi-value headers when the request used them. */
export function toAlbResult(response: ApiResponse, multiValue: boolean): ALBResult {
  const headers = { ...response.headers, ...SECURITY_HEADERS };
  const common = {
    statusCode: response.status,
    statusDescription: `${response.status} ${statusText(response.status)}`,
    body: response.body,
    isBase64Encoded: false,
  };
  if (multiValue) {
    return {
      ...common,
      multiValueHeaders: Object.fromEntries(
        Object.entries(headers).map(([name, value]) => [name, [value]]),
      ),
    };
  }
  return { ...common, headers };
}

/** A JSON response with the given status. */
export function jsonResponse(status: number, value: unknown): ApiResponse {
  return jsonTextResponse(status, toJson(value));
}

/** A JSON response whose body is already serialised. */
export function jsonTextResponse(status: number, body: string): ApiResponse {
  return { status, headers: { 'Content-Type': 'application/json' }, body };
}

// JSON.rawJSON ships in Node 24 (V8 "JSON.parse source text access") but not yet in
// TypeScript's ES2024 lib; this is the slice of it we use.
interface RawJsonApi {
  rawJSON(text: string): unknown;
}
const rawJson = (JSON as unknown as RawJsonApi).rawJSON;

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** JSON text for a number given as decimal text, emitted verbatim so no digit is lost. */
export function exactNumber(text: string): unknown {
  // DynamoDB never returns anything else, but never let a malformed value break the JSON.
  return JSON_NUMBER.test(text) ? rawJson(text) : text;
}

/**
 * Serialises a value to JSON, writing DynamoDB numbers (`NumberValue`, read with
 * `wrapNumbers`) as their exact decimal text instead of rounding them through a
 * float, sets as arrays and binary values as base64.
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, current: unknown) => {
    if (current instanceof NumberValue) return exactNumber(current.value);
    if (current instanceof Set) return [...current];
    if (current instanceof Uint8Array) return Buffer.from(current).toString('base64');
    return current;
  });
}

/** The values of one header (lower-case name), in order; empty when absent. */
export function headerValues(request: ApiRequest, name: string): readonly string[] {
  return request.headers.get(name) ?? [];
}
