import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NumberValue, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { createDocumentClient } from '../../handlers/load-chunk/client.js';
import type { ExecutionInput } from '../../handlers/shared/contracts.js';
import { readCsvRecords } from '../../handlers/shared/csv.js';
import { canonicalNumber, type DatasetSchema } from '../../handlers/shared/dataset.js';
import { splitProvenance } from '../../handlers/shared/provenance.js';
import {
  type HeaderLayout,
  type Item,
  rowToItem,
  validateHeader,
  type WireItem,
} from '../../handlers/shared/rows.js';
import { compareUploads } from '../../handlers/shared/upload-order.js';
import type { LocalStack } from '../../local/stack.js';
import { BENCH_SEED, generateFile } from '../lib/data.js';
import { appConfig } from '../lib/handler-env.js';
import type { BenchContext } from '../lib/options.js';
import { GOAL, judge, type OverlapFigures, type SuiteReport } from '../lib/results.js';
import { benchStack, ingestThroughPipeline } from '../lib/stack.js';
import { round } from '../lib/stats.js';
import { formatNumber } from '../lib/table.js';

/**
 * Two files that share half their keys, uploaded together, through the whole local
 * pipeline: how fast both load when they overlap (one of them must then write
 * conditionally), and how many keys end with a value other than the newest upload's
 * (must be 0). Their keys start far above the ingest suite's, so the two suites never
 * touch each other's items in the shared bench stack.
 */
export async function runOverlap(context: BenchContext): Promise<SuiteReport<OverlapFigures>> {
  const schema = appConfig().dataset;
  // Each file a quarter of the ingest file: the older one's shared half is written with
  // one conditional PutItem per item, at a tenth of BatchWriteItem's rate in dynalite.
  const rowsPerFile = context.overlapRowsPerFile;
  const base = 100_000_000;
  const files = [
    { name: 'a', variant: { seed: BENCH_SEED, keyOffset: base } },
    { name: 'b', variant: { seed: BENCH_SEED + 1, keyOffset: base + rowsPerFile / 2 } },
  ].map(({ name, variant }) => ({
    key: `bench/overlap-${rowsPerFile}/${name}.csv`,
    file: new URL(`overlap-${name}-${rowsPerFile}-seed${variant.seed}.csv`, context.workDir),
    variant,
  }));
  context.log(
    `overlap: generating 2 files of ${formatNumber(rowsPerFile)} rows, half the keys shared`,
  );
  for (const { file, variant } of files) await generateFile(file, rowsPerFile, variant);

  const stack = await benchStack(context);
  const started = Date.now();
  const timeout = context.quick ? 120_000 : 1_200_000;
  const ingestions = await Promise.all(
    files.map(({ file, key }) => ingestThroughPipeline(stack, file, key, timeout)),
  );
  const elapsedMs =
    Math.max(...ingestions.map((ingestion) => started + ingestion.elapsedMs)) - started;
  const rows = rowsPerFile * 2;
  const rowsPerSec = (rows / elapsedMs) * 1000;

  // The newest upload of the two, by the order the workflow uses.
  const stamps = await Promise.all(
    ingestions.map(async (ingestion) => {
      const described = stack.executions
        .list()
        .find((e) => e.executionArn === ingestion.executionArn);
      return (JSON.parse(described?.input ?? '{}') as ExecutionInput).upload;
    }),
  );
  const [first, second] = stamps;
  if (!first || !second) throw new Error('overlap: an execution has no upload stamp');
  const newerFirst = compareUploads(first, second) > 0;
  const [older, newer] = newerFirst ? [files[1], files[0]] : [files[0], files[1]];
  if (!older || !newer) throw new Error('overlap: two files expected');
  const expected = await expectedRecords(schema, [older.file, newer.file]);
  const { stale: staleKeys, examples } = await countStale(stack, schema, expected);
  for (const example of examples) context.log(`overlap: stale ${example}`);
  context.log(
    `overlap: ${formatNumber(rowsPerSec)} rows/s for both files (${(elapsedMs / 1000).toFixed(1)} s), ${staleKeys} stale of ${formatNumber(expected.size)} keys; newer: ${newer.key}`,
  );

  const figures: OverlapFigures = { rows, rowsPerSec: Math.round(rowsPerSec), staleKeys };
  return {
    figures,
    rows: [
      {
        suite: 'overlap',
        measure: `2 files × ${formatNumber(rowsPerFile)} rows, half the keys shared, uploaded together`,
        value: `${formatNumber(figures.rowsPerSec)} rows/s`,
        versus: `${formatNumber(expected.size)} keys checked`,
        result: `${staleKeys} stale`,
        ...judge(GOAL.overlapStaleKeys, staleKeys),
      },
    ],
    details: {
      seconds: round(elapsedMs / 1000, 2),
      newer: newer.key,
      perFile: ingestions.map((ingestion) => ({
        key: ingestion.key,
        seconds: round(ingestion.elapsedMs / 1000, 2),
        phases: ingestion.phases,
        chunks: ingestion.output.chunks,
      })),
    },
  };
}

/** Each key's record body as the newest file holding it would write it (files oldest first). */
async function expectedRecords(
  schema: DatasetSchema,
  files: readonly URL[],
): Promise<Map<string, string>> {
  const expected = new Map<string, string>();
  for (const file of files) {
    let layout: HeaderLayout | undefined;
    for await (const record of readCsvRecords(createReadStream(fileURLToPath(file)), {
      delimiter: schema.delimiter,
      maxRecordBytes: 400 * 1024,
    })) {
      if (!layout) {
        const header = validateHeader(record.fields, schema);
        if (!header.ok) throw new Error('overlap: generated header rejected');
        layout = header.layout;
        continue;
      }
      const row = rowToItem(layout, record.fields, record.line);
      if (!row.ok) throw new Error(`overlap: generated row rejected at line ${record.line}`);
      expected.set(String(row.row.key), canonical(readBack(row.row.item)));
    }
  }
  return expected;
}

/** Keys of `expected` whose stored record body differs from the expected one (or is missing). */
async function countStale(stack: LocalStack, schema: DatasetSchema, expected: Map<string, string>) {
  const client = createDocumentClient(stack.clients.dynamodb);
  const seen = new Set<string>();
  const examples: string[] = [];
  let stale = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: stack.names.table,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const key = String(item[schema.key]);
      const want = expected.get(key);
      if (want === undefined) continue;
      seen.add(key);
      const { record, source } = splitProvenance(item);
      if (canonical(record) === want) continue;
      stale++;
      if (examples.length < 3) {
        examples.push(
          `${key}: from ${source?.key} line ${source?.line}: ${canonical(record)} ≠ ${want}`,
        );
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  const missing = [...expected.keys()].filter((key) => !seen.has(key));
  examples.push(...missing.slice(0, 3).map((key) => `${key}: missing`));
  return { stale: stale + missing.length, examples };
}

/** A wire-form item as the document client reads it back (numbers as NumberValue). */
function readBack(item: Item): Record<string, unknown> {
  // rowToItem builds CSV items in DynamoDB's wire form.
  return unmarshall(item as WireItem, { wrapNumbers: true });
}

/** A record body as text, attribute names sorted, numbers by value (DynamoDB stores 45.70 as 45.7). */
function canonical(item: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(item)
      .sort()
      .map((name) => {
        const value = item[name];
        const text = String(value);
        return [name, value instanceof NumberValue ? (canonicalNumber(text) ?? text) : text];
      }),
  );
}
