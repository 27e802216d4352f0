import { readFile } from 'node:fs/promises';
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
  readonly scope: string;
  readonly audience: string;
  readonly bucket: string;
  readonly table: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly stateMachineArn: string;
  readonly caCertFile: string;
  /** The dataset's resource name, key column and key type (DynamoDB S or N). */
  readonly dataset: { readonly name: string; readonly key: string; readonly keyType: 'S' | 'N' };
  /** Process id of the running stack. */
  readonly pid: number;
}

/** The local stack is not running (no endpoints.json). */
export class StackNotRunningError extends Error {
  constructor(file: string) {
    super(`The local stack is not running (${file} not found). Start it with: npm start`);
    this.name = 'StackNotRunningError';
  }
}

/** Reads endpoints.json of a running stack. */
export async function readEndpoints(dataDir = DEFAULT_DATA_DIR): Promise<Endpoints> {
  const file = dataPaths(dataDir).endpoints;
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Endpoints;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new StackNotRunningError(file);
    throw error;
  }
}
