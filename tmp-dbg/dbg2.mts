import { createWriteStream } from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalStack } from '/work/main/local/stack.js';
let release: () => void = () => {};
const held = new Promise<void>((r) => { release = r; });
const stack = await startLocalStack({
  ports: { aws: 0, dynamodb: 0, stepfunctions: 0, auth: 0, api: 0 },
  dataDir: '/tmp/dbgstack', inMemory: true, writeEndpointsFile: false, pollWaitSeconds: 1, logLevel: 'INFO',
  handlerLogs: createWriteStream('/tmp/dbg-handlers.log'),
  context: { chunkTargetBytes: 65536, maxRecordBytes: 65536 },
  interceptInvoke: async (fn, event, next) => {
    if (fn.name.endsWith('-load-chunk') && (event as any).upload?.key === 'x/a.csv') { console.log('hold a'); await held; }
    return next();
  },

  onLog: (m) => console.log('LOG', m),
});
const csv = (tag: string, from: number) => Buffer.from(`isbn,title,author\n${Array.from({length: 6000}, (_, i) => `${from+i},${tag} ${i},A`).join('\n')}\n`);
await stack.clients.s3.send(new PutObjectCommand({ Bucket: stack.names.bucket, Key: 'x/a.csv', Body: csv('a', 100000) }));
await stack.clients.s3.send(new PutObjectCommand({ Bucket: stack.names.bucket, Key: 'x/b.csv', Body: csv('b', 103000) }));
const t0 = Date.now();
while (Date.now() - t0 < 30000) {
  const ex = stack.executions.list();
  console.log(ex.map((e) => `${e.name.slice(0,5)} ${e.status}`).join(' | '));
  if (ex.find((e) => e.name.startsWith('b-') && e.status !== 'RUNNING')) break;
  await new Promise((r) => setTimeout(r, 1000));
}
release();
const t1 = Date.now(); while (stack.executions.list().some((e) => e.status === "RUNNING") && Date.now() - t1 < 100000) await new Promise((r) => setTimeout(r, 500)); console.log("a took", Date.now() - t1);
for (const e of stack.executions.list()) console.log(e.name, e.status, e.error, (e.cause ?? '').slice(0, 500));
await stack.stop();
