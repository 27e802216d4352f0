import { toJson } from './http.js';
import { HttpProblemError } from './problems.js';
import type { Item } from './records.js';

/**
 * The ALB answers 502 when a Lambda target's response JSON exceeds 1 MB, so the
 * bodies that grow with the data (a record, a batch, a page) are assembled
 * against a byte budget here and cut short, with a way for the client to fetch
 * the rest, instead of ever reaching that limit.
 */

/** The ALB's limit on a Lambda target's response JSON ("1 MB"; read as 10^6, the stricter reading). */
export const ALB_RESPONSE_LIMIT_BYTES = 1_000_000;
/** Room left in that JSON for the status line, the headers and the JSON framing of the body. */
const ENVELOPE_RESERVE_BYTES = 16 * 1024;
/** Largest body the API produces, measured as `encodedBodyBytes` of its text. */
export const BODY_BUDGET_BYTES = ALB_RESPONSE_LIMIT_BYTES - ENVELOPE_RESERVE_BYTES;

/**
 * Bytes a piece of body text adds to the Lambda response JSON. The body travels
 * as a JSON string inside it, so every quote and backslash is escaped once more
 * and control characters become `\u00XX`. Escaping is per character, so the
 * cost of a body is the sum of the costs of its pieces.
 */
export function encodedBodyBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text), 'utf8') - 2;
}

/** A record the batch found, with its key as the client wrote it (for `unprocessed`). */
export interface FoundRecord {
  readonly echo: unknown;
  readonly item: Item;
}

/** The batch-get body and how many found records it had to leave for a retry. */
export interface BatchBody {
  readonly body: string;
  readonly unprocessed: number;
}

/**
 * `{"items":[...],"missing":[...],"unprocessed":[...]}` within `budget`: the
 * found records in request order while they fit, and the keys of the rest in
 * `unprocessed`. `missing` is always complete (the request body bounds it).
 * Throws a 500 `record-too-large` when not even the first found record fits,
 * because no retry could ever return it through the load balancer.
 */
export function batchGetBody(
  found: readonly FoundRecord[],
  missing: readonly unknown[],
  budget: number = BODY_BUDGET_BYTES,
): BatchBody {
  const items = found.map((record) => toJson(record.item));
  const echoes = found.map((record) => toJson(record.echo));
  const itemCosts = prefixCosts(items);
  const echoCosts = prefixCosts(echoes);
  const frame = encodedBodyBytes(`{"items":[],"missing":${toJson(missing)},"unprocessed":[]}`);
  const total = found.length;
  const count = largestFittingPrefix(
    total,
    (n) => frame + listCost(itemCosts, 0, n) + listCost(echoCosts, n, total),
    budget,
  );
  if (count === 0 && total > 0) throw recordTooLarge(`with key ${echoes[0] ?? ''}`);
  return {
    body: `{"items":[${items.slice(0, count).join(',')}],"missing":${toJson(missing)},"unprocessed":[${echoes.slice(count).join(',')}]}`,
    unprocessed: total - count,
  };
}

/**
 * `{"items":[...],"cursor":...}` within `budget`: the scanned records while
 * they fit. When some are left out, the cursor continues right after the last
 * record returned (`cursorAfter`), so the next page starts with the first one
 * left out; otherwise it is the scan's own `next` cursor (or null).
 */
export function pageBody(
  records: readonly Item[],
  next: string | undefined,
  cursorAfter: (item: Item) => string,
  budget: number = BODY_BUDGET_BYTES,
): string {
  const items = records.map((item) => toJson(item));
  const itemCosts = prefixCosts(items);
  const cursorOf = (count: number): string | null => {
    const last = records[count - 1];
    return (count === records.length ? next : last && cursorAfter(last)) ?? null;
  };
  const frame = encodedBodyBytes('{"items":[],"cursor":}');
  const count = largestFittingPrefix(
    records.length,
    (n) => frame + listCost(itemCosts, 0, n) + encodedBodyBytes(toJson(cursorOf(n))),
    budget,
  );
  if (count === 0 && records.length > 0) throw recordTooLarge('that comes next in this listing');
  return `{"items":[${items.slice(0, count).join(',')}],"cursor":${toJson(cursorOf(count))}}`;
}

/** The JSON of one record, or a 500 `record-too-large` when it exceeds `budget`. */
export function itemBody(item: Item, key: string, budget: number = BODY_BUDGET_BYTES): string {
  const body = toJson(item);
  if (encodedBodyBytes(body) > budget) throw recordTooLarge(`with key ${key}`);
  return body;
}

/** costs[i] = encoded bytes of pieces[0..i), so any run of pieces is costed in O(1). */
function prefixCosts(pieces: readonly string[]): number[] {
  const costs = [0];
  for (const piece of pieces) costs.push((costs.at(-1) ?? 0) + encodedBodyBytes(piece));
  return costs;
}

/** Encoded bytes of pieces[from..to) joined by commas. */
function listCost(costs: readonly number[], from: number, to: number): number {
  if (to <= from) return 0;
  return (costs[to] ?? 0) - (costs[from] ?? 0) + (to - from - 1);
}

/**
 * The largest n ≤ total whose first n pieces fit, growing one piece at a time:
 * a prefix, so the order of the answer never changes.
 */
function largestFittingPrefix(
  total: number,
  size: (count: number) => number,
  budget: number,
): number {
  if (size(total) <= budget) return total;
  let count = 0;
  while (count < total && size(count + 1) <= budget) count += 1;
  return count;
}

function recordTooLarge(what: string): HttpProblemError {
  return new HttpProblemError(
    500,
    'record-too-large',
    `The record ${what} is larger than the load balancer can return (${ALB_RESPONSE_LIMIT_BYTES} bytes of response JSON); it cannot be read through this API.`,
  );
}
