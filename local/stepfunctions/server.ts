import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listen, type PortSpec } from '../ports.js';
import {
  type Execution,
  type ExecutionService,
  type ExecutionStatus,
  SfnApiError,
} from './executions.js';

/** A running Step Functions endpoint. */
export interface StepFunctionsEndpoint {
  readonly server: Server;
  readonly port: number;
}

type Request = Record<string, unknown>;
type Operation = (request: Request) => unknown;

const STATUSES: readonly ExecutionStatus[] = [
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
];

/**
 * Serves the Step Functions API over the AWS JSON 1.0 protocol
 * (`X-Amz-Target: AWSStepFunctions.<Operation>`), so any AWS SDK or the AWS CLI
 * can use it with `--endpoint-url`. Errors have AWS's shape and codes.
 */
export async function startStepFunctionsEndpoint(
  service: ExecutionService,
  port: PortSpec,
): Promise<StepFunctionsEndpoint> {
  const operations = buildOperations(service);
  const server = createServer((req, res) => {
    void handle(operations, req, res);
  });
  const bound = await listen(server, port);
  return { server, port: bound };
}

async function handle(
  operations: Record<string, Operation>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const target = String(req.headers['x-amz-target'] ?? '');
  const [prefix, operation = ''] = target.split('.');
  if (req.method !== 'POST' || prefix !== 'AWSStepFunctions') {
    sendError(res, 400, 'UnknownOperationException', `Unknown target: '${target}'`);
    return;
  }
  const run = operations[operation];
  if (!run) {
    sendError(
      res,
      400,
      'UnknownOperationException',
      `Operation ${operation} is not supported by the local stack`,
    );
    return;
  }
  let request: Request;
  try {
    const text = Buffer.concat(chunks).toString('utf8');
    request = text.trim() === '' ? {} : (JSON.parse(text) as Request);
  } catch {
    sendError(res, 400, 'SerializationException', 'Request body is not valid JSON');
    return;
  }
  try {
    const body = JSON.stringify((await run(request)) ?? {});
    res.writeHead(200, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': String(Buffer.byteLength(body)),
      'x-amzn-requestid': crypto.randomUUID(),
    });
    res.end(body);
  } catch (error) {
    if (error instanceof SfnApiError) sendError(res, 400, error.name, error.message);
    else
      sendError(
        res,
        500,
        'InternalFailure',
        error instanceof Error ? error.message : String(error),
      );
  }
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ __type: code, message });
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': String(Buffer.byteLength(body)),
    'x-amzn-errortype': code,
    'x-amzn-requestid': crypto.randomUUID(),
  });
  res.end(body);
}

// The JSON protocol carries timestamps as epoch seconds.
const epoch = (date: Date | undefined) => (date === undefined ? undefined : date.getTime() / 1000);

function required(request: Request, field: string): string {
  const value = request[field];
  if (typeof value !== 'string' || value === '') {
    throw new SfnApiError(
      'ValidationException',
      `1 validation error detected: '${field}' must not be null`,
    );
  }
  return value;
}

function optional(request: Request, field: string, maxLength: number): string | undefined {
  const value = request[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > maxLength) {
    throw new SfnApiError(
      'ValidationException',
      `1 validation error detected: '${field}' must be a string of at most ${maxLength} characters`,
    );
  }
  return value;
}

function page(request: Request, defaultSize: number): { offset: number; size: number } {
  const size =
    typeof request.maxResults === 'number' && request.maxResults > 0
      ? Math.min(request.maxResults, 1000)
      : defaultSize;
  const token = request.nextToken;
  if (token === undefined || token === null) return { offset: 0, size };
  const offset = Number.parseInt(String(token), 10);
  if (!Number.isInteger(offset) || offset < 0)
    throw new SfnApiError('InvalidToken', `Invalid Token: '${String(token)}'`);
  return { offset, size };
}

function summary(execution: Execution) {
  return {
    executionArn: execution.executionArn,
    stateMachineArn: execution.stateMachineArn,
    name: execution.name,
    status: execution.status,
    startDate: epoch(execution.startDate),
    ...(execution.stopDate ? { stopDate: epoch(execution.stopDate) } : {}),
  };
}

function buildOperations(service: ExecutionService): Record<string, Operation> {
  const { info } = service;
  return {
    StartExecution: (request) => {
      const execution = service.start(
        required(request, 'stateMachineArn'),
        typeof request.name === 'string' ? request.name : undefined,
        typeof request.input === 'string' ? request.input : undefined,
      );
      return { executionArn: execution.executionArn, startDate: epoch(execution.startDate) };
    },
    StopExecution: async (request) => {
      const error = optional(request, 'error', 256);
      const cause = optional(request, 'cause', 32_768);
      const execution = await service.stopExecution(
        required(request, 'executionArn'),
        error,
        cause,
      );
      return { stopDate: epoch(execution.stopDate ?? new Date()) };
    },
    DescribeExecution: (request) => {
      const execution = service.get(required(request, 'executionArn'));
      return {
        ...summary(execution),
        input: execution.input,
        inputDetails: { included: true },
        ...(execution.output === undefined
          ? {}
          : { output: execution.output, outputDetails: { included: true } }),
        ...(execution.error === undefined ? {} : { error: execution.error }),
        ...(execution.cause === undefined ? {} : { cause: execution.cause }),
        redriveCount: 0,
        redriveStatus: 'NOT_REDRIVABLE',
      };
    },
    ListExecutions: (request) => {
      if (required(request, 'stateMachineArn') !== info.arn) {
        throw new SfnApiError(
          'StateMachineDoesNotExist',
          `State Machine Does Not Exist: '${String(request.stateMachineArn)}'`,
        );
      }
      const filter = request.statusFilter;
      if (filter !== undefined && !STATUSES.includes(filter as ExecutionStatus)) {
        throw new SfnApiError('ValidationException', `Invalid statusFilter: '${String(filter)}'`);
      }
      const all = service.list(filter as ExecutionStatus | undefined);
      const { offset, size } = page(request, 100);
      const next = offset + size < all.length ? String(offset + size) : undefined;
      return {
        executions: all.slice(offset, offset + size).map(summary),
        ...(next ? { nextToken: next } : {}),
      };
    },
    GetExecutionHistory: (request) => {
      const execution = service.get(required(request, 'executionArn'));
      const includeData = request.includeExecutionData !== false;
      const ordered =
        request.reverseOrder === true ? [...execution.events].reverse() : execution.events;
      const { offset, size } = page(request, 100);
      const next = offset + size < ordered.length ? String(offset + size) : undefined;
      return {
        events: ordered.slice(offset, offset + size).map((event) => ({
          ...(includeData ? event : stripData(event)),
          timestamp: epoch(event.timestamp),
        })),
        ...(next ? { nextToken: next } : {}),
      };
    },
    DescribeStateMachine: (request) => {
      if (required(request, 'stateMachineArn') !== info.arn) {
        throw new SfnApiError(
          'StateMachineDoesNotExist',
          `State Machine Does Not Exist: '${String(request.stateMachineArn)}'`,
        );
      }
      return {
        stateMachineArn: info.arn,
        name: info.name,
        status: 'ACTIVE',
        definition: service.prepared.text,
        roleArn: info.roleArn,
        type: 'STANDARD',
        creationDate: epoch(info.createdAt),
        loggingConfiguration: { level: 'OFF', includeExecutionData: false },
        tracingConfiguration: { enabled: false },
      };
    },
    ListStateMachines: () => ({
      stateMachines: [
        {
          stateMachineArn: info.arn,
          name: info.name,
          type: 'STANDARD',
          creationDate: epoch(info.createdAt),
        },
      ],
    }),
  };
}

/** Drops inputs and outputs from an event, as `includeExecutionData: false` does. */
function stripData(event: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith('EventDetails') && typeof value === 'object' && value !== null) {
      const { input: _input, output: _output, ...rest } = value as Record<string, unknown>;
      copy[key] = rest;
    } else {
      copy[key] = value;
    }
  }
  return copy;
}
