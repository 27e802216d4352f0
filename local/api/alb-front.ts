import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { ALBEvent, ALBResult } from 'aws-lambda';
import type { InvokeOutcome, LambdaRuntime, LocalFunction } from '../lambda/runtime.js';
import { listen, type PortSpec } from '../ports.js';
import type { TlsMaterial } from './certificate.js';

/** The ALB's limit on a request body forwarded to a Lambda target. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The ALB's limit on the response JSON a Lambda target returns; larger is a 502. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** A running HTTPS front. */
export interface AlbFront {
  readonly server: Server;
  readonly port: number;
}

/**
 * Starts an HTTPS server that does what an Application Load Balancer with a
 * Lambda target group does: it turns each request into an ALB target-group
 * event (multi-value headers on), invokes the function, and turns its result
 * back into the response. Bodies over 1 MB get 413; a function error, an
 * invalid result or a response JSON over 1 MB gets 502, as the ALB answers.
 */
export async function startAlbFront(
  runtime: LambdaRuntime,
  fn: LocalFunction,
  tls: TlsMaterial,
  port: PortSpec,
  targetGroupArn: string,
): Promise<AlbFront> {
  const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    void handle(req, res).catch(() => sendPlain(res, 502, 'Bad Gateway'));
  });
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) {
      sendPlain(res, 413, 'Request Entity Too Large');
      return;
    }
    const event = toAlbEvent(req, body, targetGroupArn, bound);
    const result = albResult(await runtime.invoke(fn, event));
    if (result === undefined) sendPlain(res, 502, 'Bad Gateway');
    else writeResult(res, result);
  };
  const bound = await listen(server, port);
  return { server, port: bound };
}

/**
 * Builds the target-group event an ALB sends for this request, with multi-value
 * headers on (as infra/api.ts configures the target group): every value of a
 * repeated header or query parameter, in order.
 */
export function toAlbEvent(
  req: IncomingMessage,
  body: Buffer,
  targetGroupArn: string,
  port: number,
): ALBEvent {
  // The ALB passes the path exactly as the client sent it: not normalised
  // (`//x`, `/a/../b` stay), still percent-encoded.
  const target = req.url ?? '/';
  const path = target.startsWith('/')
    ? (target.split('?')[0] ?? '/')
    : new URL(target, 'https://localhost').pathname;
  const headers: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]?.toLowerCase();
    const value = req.rawHeaders[i + 1];
    if (name !== undefined && value !== undefined) append(headers, name, value);
  }
  const forwardedFor = req.socket.remoteAddress ?? '127.0.0.1';
  headers['x-forwarded-for'] = [[...(headers['x-forwarded-for'] ?? []), forwardedFor].join(', ')];
  headers['x-forwarded-proto'] = ['https'];
  headers['x-forwarded-port'] = [String(port)];
  headers['x-amzn-trace-id'] = [
    `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`,
  ];

  const query: Record<string, string[]> = {};
  // The ALB passes query parameters still URL-encoded, as they arrived.
  const rawQuery = target.split('?')[1];
  if (rawQuery) {
    for (const pair of rawQuery.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      append(query, eq < 0 ? pair : pair.slice(0, eq), eq < 0 ? '' : pair.slice(eq + 1));
    }
  }
  // A text body travels as a JSON string, which cannot hold bytes that are not UTF-8:
  // those go base64-encoded like any binary body, so the function sees the very bytes sent.
  const text = isTextual(headers['content-type']?.at(-1)) && isUtf8(body);
  return {
    requestContext: { elb: { targetGroupArn } },
    httpMethod: req.method ?? 'GET',
    path,
    multiValueQueryStringParameters: query,
    multiValueHeaders: headers,
    body: body.length === 0 ? '' : text ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: body.length > 0 && !text,
  };
}

function append(map: Record<string, string[]>, name: string, value: string): void {
  const values = map[name];
  if (values) values.push(value);
  else map[name] = [value];
}

/**
 * Whether the ALB passes a body as it is: only for these content types; every
 * other body, one without a content type included, arrives base64-encoded.
 */
function isTextual(contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return (
    type.startsWith('text/') ||
    ['application/json', 'application/javascript', 'application/xml'].includes(type)
  );
}

/**
 * The response an invocation gives, or undefined where the ALB answers 502
 * itself: a function error, a result without a numeric statusCode, or a
 * response JSON over 1 MB.
 */
export function albResult(outcome: InvokeOutcome): ALBResult | undefined {
  if (!outcome.ok) return undefined;
  const result = outcome.result as ALBResult | null;
  if (!result || typeof result.statusCode !== 'number') return undefined;
  if (Buffer.byteLength(JSON.stringify(result)) > MAX_RESPONSE_BYTES) return undefined;
  return result;
}

function writeResult(res: ServerResponse, result: ALBResult): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    headers[name] = values.map(String);
  }
  const body = result.body
    ? Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8')
    : Buffer.alloc(0);
  headers['content-length'] = String(body.length);
  res.writeHead(result.statusCode, result.statusDescription?.replace(/^\d+\s*/, ''), headers);
  res.end(body);
}

function sendPlain(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `<html><body><h1>${status} ${text}</h1></body></html>`;
  res.writeHead(status, { 'content-type': 'text/html', 'content-length': String(body.length) });
  res.end(body);
}

/** Reads the body, or returns undefined as soon as it exceeds `limit` bytes. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) {
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
