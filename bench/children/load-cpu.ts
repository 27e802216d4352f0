/**
 * Bench child: the loader's real `loadChunk` writing one chunk into a fresh dynalite
 * (its own process, as the local stack starts it), with the S3 side served from
 * memory. Reports this process's CPU (the loader and the SDK) and the emulator's
 * (from /proc/<pid>/stat) per row: what one loader costs, without the workflow.
 * `node --cpu-prof` on this child gives the loader's profile (docs/performance.md).
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '../../handlers/load-chunk/client.js';
import { httpItemWriterFor } from '../../handlers/load-chunk/http-item-writer.js';
import { loadChunk } from '../../handlers/load-chunk/load.js';
import type { LoadChunkInput } from '../../handlers/shared/contracts.js';
import { startDynamoDbProcess } from '../../local/emulators/dynamodb.js';
import { reportToParent } from '../lib/child.js';
import { ownCpuSecondsSince, processCpuSeconds } from '../lib/cpu.js';
import { generateBytes } from '../lib/data.js';
import { DOUBLE_ETAG, DOUBLE_UPLOAD, objectS3 } from '../lib/doubles.js';
import { deployedLoadConfig, UNHURRIED_CLOCK } from '../lib/handler-configs.js';
import { appConfig } from '../lib/handler-env.js';

/** What the parent receives. */
export interface LoadCpuResult {
  readonly rows: number;
  readonly seconds: number;
  /** CPU seconds of this process (loader + SDK) while loading. */
  readonly loaderCpuSeconds: number;
  /** CPU seconds of the dynalite process while loading. */
  readonly emulatorCpuSeconds: number;
}

await reportToParent(async (): Promise<LoadCpuResult> => {
  const [rowsText = ''] = process.argv.slice(2);
  const rows = Number(rowsText);
  if (!(rows > 0)) throw new Error('usage: load-cpu.ts <rows>');
  const config = appConfig();
  const tableName = `${config.dataset.name}-cpu`;
  const loadConfig = deployedLoadConfig(config, tableName);
  const data = await generateBytes(rows);
  const header = data.bytes
    .subarray(0, data.dataStart - 1)
    .toString('utf8')
    .replace(/\r$/, '');
  const input: LoadChunkInput = {
    object: { bucket: 'bench', key: 'bench.csv', eTag: DOUBLE_ETAG, size: data.bytes.length },
    header: header.split(config.dataset.delimiter),
    chunk: {
      index: 0,
      start: data.dataStart,
      end: data.bytes.length,
      firstLine: 2,
      rows,
      skip: [],
    },
    upload: DOUBLE_UPLOAD,
  };
  const emulator = await startDynamoDbProcess({
    port: { service: 'bench DynamoDB (dynalite)', port: 0, flag: '(bench)' },
  });
  const clientConfig = {
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${emulator.port}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const client = new DynamoDBClient(clientConfig);
  // The clients the handler makes (handlers/load-chunk/index.ts), pointed at the emulator.
  const writer = httpItemWriterFor(client);
  try {
    for (const name of [tableName, loadConfig.controlTableName]) {
      await client.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions:
            name === tableName
              ? [{ AttributeName: config.dataset.key, AttributeType: config.dataset.keyType }]
              : [
                  { AttributeName: 'pk', AttributeType: 'S' },
                  { AttributeName: 'sk', AttributeType: 'S' },
                ],
          KeySchema:
            name === tableName
              ? [{ AttributeName: config.dataset.key, KeyType: 'HASH' }]
              : [
                  { AttributeName: 'pk', KeyType: 'HASH' },
                  { AttributeName: 'sk', KeyType: 'RANGE' },
                ],
        }),
      );
      await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: name });
    }
    const pid = emulator.pid;
    if (pid === undefined) throw new Error('dynalite has no process id');
    const emulatorBefore = await processCpuSeconds(pid);
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const summary = await profiled(process.env.BENCH_CPU_PROFILE, () =>
      loadChunk(input, loadConfig, {
        s3: objectS3({ kind: 'memory', bytes: data.bytes }),
        dynamo: createDocumentClient(client),
        writer,
        clock: UNHURRIED_CLOCK,
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const loaderCpuSeconds = ownCpuSecondsSince(cpuBefore);
    const emulatorCpuSeconds = (await processCpuSeconds(pid)) - emulatorBefore;
    if (summary.written !== rows) throw new Error(`wrote ${summary.written} of ${rows} rows`);
    return {
      rows,
      seconds,
      loaderCpuSeconds,
      emulatorCpuSeconds,
    };
  } finally {
    client.destroy();
    await emulator.stop();
  }
});

/**
 * Runs `work`, and when `file` is given records a V8 CPU profile of exactly that
 * stretch (not the data generation or the emulator's start) into it, as `--cpu-prof`
 * would: open it in Chrome DevTools or summarise it with bench/profile-summary.ts.
 */
async function profiled<T>(file: string | undefined, work: () => Promise<T>): Promise<T> {
  if (file === undefined || file === '') return work();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
  }
}
