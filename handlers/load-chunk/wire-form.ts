import {
  DynamoDBClient,
  type DynamoDBClientConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SerializeHandler, SerializeHandlerArguments } from '@smithy/types';

/**
 * The client the loader writes items with (low-level BatchWriteItem and PutItem). A
 * document client can stand in: it sends low-level commands through the same stack
 * untouched (see asItemWriter).
 */
export type ItemWriter = DynamoDBClient;

/** A document client as an ItemWriter: low-level commands pass through it as they are. */
export function asItemWriter(client: DynamoDBClient | DynamoDBDocumentClient): ItemWriter {
  return client as ItemWriter;
}

/**
 * The low-level client the loader writes items with: wire-form bodies (inWireForm)
 * and the SDK's `cacheMiddleware`, which resolves each command class's middleware
 * stack once instead of once per call (the document client refuses that option, so
 * the control-table calls keep their own client).
 */
export function createWriterClient(config: DynamoDBClientConfig = {}): DynamoDBClient {
  const client = new DynamoDBClient({ ...config, cacheMiddleware: true });
  sendWireFormAsIs(client);
  return client;
}

/** Inputs the loader built in DynamoDB's JSON wire form. */
const wireForm = new WeakSet<object>();
/** The body of each wire-form input, by the empty stand-in the SDK's serializer got instead. */
const bodies = new WeakMap<object, Buffer>();

/**
 * Marks a command input as already in DynamoDB's JSON wire form: every member named
 * as the DynamoDB API names it, every value an AttributeValue of `S`, `N`, `BOOL`,
 * `NULL`, `L` or `M` (no binary, no sets, no undefined), so its JSON text is the
 * request body the SDK's serializer would produce. A client made by
 * createDocumentClient then sends `JSON.stringify(input)`'s UTF-8 bytes as the body (signed,
 * retried and answered by the SDK as any call); any other client serializes it
 * as usual, so a marked input is never wrong, only faster.
 */
export function inWireForm<T extends object>(input: T): T {
  wireForm.add(input);
  return input;
}

const WIRE_BEFORE = 'loaderWireFormBefore';
const WIRE_AFTER = 'loaderWireFormAfter';

/**
 * Adds two middlewares around the SDK's serializer: before it, a wire-form input is
 * stringified once and the serializer is handed an empty stand-in (so it walks
 * nothing); after it, the request body becomes that text. Headers, endpoint and
 * signing stay the SDK's (content length and the payload hash are computed later,
 * from the body set here). Idempotent per client.
 */
export function sendWireFormAsIs(client: DynamoDBClient): void {
  const stack = client.middlewareStack;
  if (stack.identify().some((entry) => entry.startsWith(WIRE_BEFORE))) return;
  type Handler = SerializeHandler<ServiceInputTypes, ServiceOutputTypes>;
  type Args = SerializeHandlerArguments<ServiceInputTypes>;
  stack.addRelativeTo(
    (next: Handler) => async (args: Args) => {
      if (!wireForm.has(args.input)) return next(args);
      const standIn = {} as ServiceInputTypes;
      // Encoded once: the signer hashes these bytes and the HTTP handler writes them.
      bodies.set(standIn, Buffer.from(JSON.stringify(args.input)));
      return next({ ...args, input: standIn });
    },
    { relation: 'before', toMiddleware: 'serializerMiddleware', name: WIRE_BEFORE },
  );
  stack.addRelativeTo(
    (next: Handler) => async (args: Args) => {
      const body = bodies.get(args.input);
      const request = args.request as { body?: unknown } | undefined;
      if (body !== undefined && request !== undefined) request.body = body;
      return next(args);
    },
    { relation: 'after', toMiddleware: 'serializerMiddleware', name: WIRE_AFTER },
  );
}
