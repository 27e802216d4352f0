import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_DATA_DIR, dataPaths } from './config.js';

/** The contract between a running local stack and tools: `.local/endpoints.json`. */
export interface Endpoints {
  readonly region: string;
  /** S3 endpoint (path-style). */
  readonly s3: string;
  readonly sqs: string;
  readonly dynamodb: string;
  readonly stepfunctions: string;
  /** HTTPS base URL of the API (self-signed certificate: caCertFile). */
  readonly api: string;
  readonly issuer: string;
  readonly tokenUrl: string;
  readonly jwksUri: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Every dataset's scope, space-separated: what the CLI's token asks for. */
  readonly scope: string;
  readonly audience: string;
  readonly bucket: string;
  /** The first dataset's table. */
  readonly table: string;
  /** The ingestion control table: write leases and the rows loads report as they write. */
  readonly controlTable: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly stateMachineArn: string;
  readonly caCertFile: string;
  /** The first dataset's resource name, key column and key type (DynamoDB S or N). */
  readonly dataset: DatasetEndpoint;
  /** Every dataset, in configured order, with its table and scope. */
  readonly datasets: readonly (DatasetEndpoint & {
    readonly table: string;
    readonly scope: string;
  })[];
  /** The console to open in a browser; the URL carries the token uploads and redrives need. */
  readonly console: string;
  /** Process id of the running stack. */
  readonly pid: number;
}

/** A dataset as tools see it: its name (the key prefix and API path), key column and key type. */
export interface DatasetEndpoint {
  readonly name: string;
  readonly key: string;
  readonly keyType: 'S' | 'N';
}

/** The local stack is not running (no endpoints.json, or one its stopped stack left). */
export class StackNotRunningError extends Error {
  constructor(file: string, stalePid?: number, hint = '') {
    super(
      (stalePid === undefined
        ? `The local stack is not running (${file} not found). Start it with: npm start`
        : `The local stack is not running: ${file} was left by process ${stalePid}, which has ` +
          'exited (killed?). Start the stack again with: npm start') + hint,
    );
    this.name = 'StackNotRunningError';
  }
}

/**
 * Reads endpoints.json of a running stack; throws StackNotRunningError when there is none.
 * `hint` ends that error's message (how the data directory was chosen).
 */
export async function readEndpoints(dataDir = DEFAULT_DATA_DIR, hint = ''): Promise<Endpoints> {
  const file = dataPaths(resolve(dataDir)).endpoints;
  let endpoints: Endpoints;
  try {
    endpoints = JSON.parse(await readFile(file, 'utf8')) as Endpoints;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StackNotRunningError(file, undefined, hint);
    }
    throw error;
  }
  if (!isRunning(endpoints.pid)) throw new StackNotRunningError(file, endpoints.pid, hint);
  return endpoints;
}

/**
 * The endpoints of the stack the CLI talks to: the one under LOCAL_DATA_DIR
 * (resolved against the working directory) when it is set, else under `.local/`.
 */
export function readEndpointsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  defaultDir = DEFAULT_DATA_DIR,
): Promise<Endpoints> {
  const dataDir = env.LOCAL_DATA_DIR || undefined;
  const hint =
    dataDir === undefined
      ? '.\nFor a stack started with --data-dir <dir>, set LOCAL_DATA_DIR=<dir> ' +
        '(npm start prints the line to copy).'
      : ` (the directory comes from LOCAL_DATA_DIR=${dataDir}).`;
  return readEndpoints(dataDir ?? defaultDir, hint);
}

/** Whether a process exists (signal 0 checks without sending anything). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
