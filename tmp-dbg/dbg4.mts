import { DynamoDBClient, CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import { createDocumentClient } from '/work/main/handlers/load-chunk/client.js';
import { startDynamoDbProcess } from '/work/main/local/emulators/dynamodb.js';
import { notNewerThanWriter, orderAttributeNames, orderAttributeValues, PROVENANCE } from '/work/main/handlers/shared/provenance.js';
const emu = await startDynamoDbProcess({ port: { service: 'd', port: 0, flag: '' } as any });
const raw = new DynamoDBClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${emu.port}`, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
await raw.send(new CreateTableCommand({ TableName: 'ttt', BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'isbn', AttributeType: 'N' }], KeySchema: [{ AttributeName: 'isbn', KeyType: 'HASH' }] }));
await new Promise((r) => setTimeout(r, 1000));
const doc = createDocumentClient(raw);
const stamp = { uploadedAt: '2026-11-28T10:00:00.000Z', key: 'a', sequencer: '01', version: 'v' };
for (const [conc, cond] of [[4, true], [16, true], [64, true], [16, false]] as const) {
  const limit = pLimit(conc);
  const t0 = Date.now();
  await Promise.all(Array.from({ length: 1000 }, (_, i) => limit(() => doc.send(new PutCommand({ TableName: 'ttt', Item: { isbn: i + conc * 10000 + (cond ? 0 : 5000000), title: 'x', [PROVENANCE.uploadedAt]: stamp.uploadedAt, [PROVENANCE.key]: 'a', [PROVENANCE.sequencer]: '01', [PROVENANCE.line]: 3 },
    ...(cond ? { ConditionExpression: notNewerThanWriter(true), ExpressionAttributeNames: orderAttributeNames(PROVENANCE, PROVENANCE.line), ExpressionAttributeValues: orderAttributeValues(stamp, 3) } : {}) })))));
  console.log(conc, cond, 'items/s', Math.round(1000 / ((Date.now() - t0) / 1000)));
}
await emu.stop();
