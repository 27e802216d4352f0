import { NamedError } from '../shared/errors.js';

/**
 * RFC 9457 problem details. Every problem uses `type: "about:blank"` with the
 * HTTP status phrase as `title` (RFC 9457 §4.2.1), plus a stable `code`
 * extension member that clients can branch on without parsing `detail`.
 */

/** Machine-readable problem codes, documented in docs/api.md. */
export type ProblemCode =
  | 'not-found'
  | 'method-not-allowed'
  | 'unauthorized'
  | 'invalid-token'
  | 'invalid-authorization'
  | 'insufficient-scope'
  | 'invalid-key'
  | 'invalid-body'
  | 'too-many-keys'
  | 'invalid-query'
  | 'invalid-cursor'
  | 'invalid-path'
  | 'body-too-large'
  | 'unsupported-media-type'
  | 'auth-unavailable'
  | 'throttled'
  | 'timeout'
  | 'record-too-large'
  | 'internal-error';

/** One field-level problem: where (a JSON Pointer or a query parameter) and what. */
export interface InvalidParam {
  readonly pointer?: string;
  readonly parameter?: string;
  readonly detail: string;
}

/** The RFC 9457 body. */
export interface ProblemBody {
  readonly type: 'about:blank';
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ProblemCode;
  readonly errors?: readonly InvalidParam[];
  readonly correlationId?: string;
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The reason phrase of a status code the API uses. */
export function statusText(status: number): string {
  return TITLES[status] ?? (status < 400 ? 'OK' : 'Error');
}

/** An expected failure that maps to one HTTP problem response; thrown by the core, rendered by the router. */
export class HttpProblemError extends NamedError {
  constructor(
    readonly status: number,
    readonly code: ProblemCode,
    readonly detail: string,
    readonly options: {
      readonly headers?: Readonly<Record<string, string>>;
      readonly errors?: readonly InvalidParam[];
      /** The underlying failure, for the log only; never rendered. */
      readonly cause?: unknown;
    } = {},
  ) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
  }

  /** The problem+json body of this error. */
  body(): ProblemBody {
    return {
      type: 'about:blank',
      title: statusText(this.status),
      status: this.status,
      detail: this.detail,
      code: this.code,
      ...(this.options.errors && this.options.errors.length > 0
        ? { errors: this.options.errors }
        : {}),
    };
  }
}

/** 400 with a code and, optionally, the field-level problems. */
export function badRequest(
  code: ProblemCode,
  detail: string,
  errors?: readonly InvalidParam[],
): HttpProblemError {
  return new HttpProblemError(400, code, detail, errors ? { errors } : {});
}

/** 404 for a path or record that does not exist. */
export function notFound(detail: string): HttpProblemError {
  return new HttpProblemError(404, 'not-found', detail);
}

/** 405 listing the methods the path does support. */
export function methodNotAllowed(method: string, allowed: readonly string[]): HttpProblemError {
  return new HttpProblemError(
    405,
    'method-not-allowed',
    `${method} is not supported here; use ${allowed.join(' or ')}.`,
    { headers: { Allow: allowed.join(', ') } },
  );
}

/** 503 asking the client to retry after `seconds`. */
export function unavailable(
  code: ProblemCode,
  detail: string,
  retryAfterSeconds: number,
  cause?: unknown,
): HttpProblemError {
  return new HttpProblemError(503, code, detail, {
    headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    cause,
  });
}

/** The 500 body: no detail about the cause, only the id under which it was logged. */
export function internalError(correlationId: string): ProblemBody {
  return {
    type: 'about:blank',
    title: statusText(500),
    status: 500,
    detail: `An unexpected error occurred. Quote correlation id ${correlationId} when reporting it.`,
    code: 'internal-error',
    correlationId,
  };
}
