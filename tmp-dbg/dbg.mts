import { createWriteStream } from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalStack } from '/work/main/local/stack.js';
const stack = await startLocalStack({
  ports: { aws: 0, dynamodb: 0, stepfunctions: 0, auth: 0, api: 0 },
  dataDir: '/tmp/dbgstack', inMemory: true, writeEndpointsFile: false, pollWaitSeconds: 1, logLevel: 'INFO',
  handlerLogs: createWriteStream('/tmp/dbg-handlers.log'),
  context: { chunkTargetBytes: 65536, maxRecordBytes: 65536 },
  faults: { dynamodb: { throttle: 0, partial: 0, gate: async () => {} } },
  onLog: (m) => console.log('LOG', m),
});
const body = Buffer.from(`isbn,title,author\n${Array.from({length: 6000}, (_, i) => `${100000+i},t ${i},A`).join('\n')}\n`);
await stack.clients.s3.send(new PutObjectCommand({ Bucket: stack.names.bucket, Key: 'x/a.csv', Body: body }));
const t0 = Date.now();
while (Date.now() - t0 < 30000) {
  const ex = stack.executions.list();
  if (ex.length && ex.every((e) => e.status !== 'RUNNING')) break;
  await new Promise((r) => setTimeout(r, 500));
}
for (const e of stack.executions.list()) console.log(e.name, e.status, e.error, (e.cause ?? '').slice(0, 500));
await stack.stop();
