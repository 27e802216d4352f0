import {
  type ConsoleConfig,
  type ConsoleEvent,
  type DlqView,
  type ExecutionDetail,
  type ExecutionSummary,
  type LinesView,
  type ObjectsPage,
  type RecordsResult,
  type RedriveResult,
  TOKEN_HEADER,
  type UploadResult,
} from '../model.js';

// The page's calls to the console server. Every request carries the token from
// the URL npm start printed (the server needs it for uploads and redrives).

/** This start's token, from `?token=` in the page's URL. */
export const token = new URLSearchParams(location.search).get('token') ?? '';

/** An answer of the console server that is not 2xx, with its message. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: {
      [TOKEN_HEADER]: token,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // the text is the message
    }
    throw new RequestError(response.status, message || `HTTP ${response.status}`);
  }
  return JSON.parse(text) as T;
}

const query = (params: Record<string, string | number | undefined>) => {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params))
    if (value !== undefined && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
};

export const api = {
  config: () => call<ConsoleConfig>('GET', '/api/config'),
  executions: () => call<ExecutionSummary[]>('GET', '/api/executions'),
  execution: (name: string) =>
    call<ExecutionDetail>('GET', `/api/executions/${encodeURIComponent(name)}`),
  objects: (after?: string) => call<ObjectsPage>('GET', `/api/objects${query({ after })}`),
  lines: (params: Record<string, string | number | undefined>) =>
    call<LinesView>('GET', `/api/lines${query(params)}`),
  dlq: () => call<DlqView>('GET', '/api/dlq'),
  redrive: (messageIds?: readonly string[]) =>
    call<RedriveResult>('POST', '/api/dlq/redrive', messageIds ? { messageIds } : {}),
  record: (dataset: string, key: string) =>
    call<RecordsResult>('GET', `/api/records${query({ dataset, key })}`),
  records: (dataset: string, limit: number, cursor?: string) =>
    call<RecordsResult>('GET', `/api/records${query({ dataset, limit, cursor })}`),
};

/**
 * Uploads one file with its bytes as the request body (the server streams it to
 * S3, in parts when it is large). XMLHttpRequest, because fetch reports no
 * upload progress.
 */
export function upload(
  file: File,
  key: string,
  onProgress: (sent: number, total: number) => void,
): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('PUT', `/api/objects${query({ key })}`);
    request.setRequestHeader(TOKEN_HEADER, token);
    request.setRequestHeader('content-type', 'text/csv');
    request.upload.onprogress = (event) => onProgress(event.loaded, event.total || file.size);
    request.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        body = undefined;
      }
      if (request.status >= 200 && request.status < 300) resolve(body as UploadResult);
      else
        reject(
          new RequestError(
            request.status,
            (body as { message?: string } | undefined)?.message ?? `HTTP ${request.status}`,
          ),
        );
    };
    request.onerror = () => reject(new RequestError(0, 'the console did not answer (stopped?)'));
    request.send(file);
  });
}

/** Server-sent events, with the connection's state. */
export type Connection = 'connecting' | 'live' | 'reconnecting';

/**
 * Follows the console's event stream. EventSource reconnects by itself; after a
 * reconnect `onReconnect` runs so the caller can refetch what it missed.
 */
export function follow(
  onEvent: (event: ConsoleEvent) => void,
  onConnection: (state: Connection) => void,
  onReconnect: () => void,
): () => void {
  const source = new EventSource('/api/events');
  let opened = false;
  onConnection('connecting');
  source.onopen = () => {
    onConnection('live');
    if (opened) onReconnect();
    opened = true;
  };
  source.onerror = () => onConnection('reconnecting');
  for (const type of ['execution', 'dlq', 'objects'] as const) {
    source.addEventListener(type, (message) => {
      onEvent({ type, data: JSON.parse((message as MessageEvent<string>).data) } as ConsoleEvent);
    });
  }
  return () => source.close();
}
