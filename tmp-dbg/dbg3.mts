import { DynamoDBClient, CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '/work/main/handlers/load-chunk/client.js';
import { startDynamoDbProcess } from '/work/main/local/emulators/dynamodb.js';
import { notNewerThanWriter, orderAttributeNames, orderAttributeValues, PROVENANCE } from '/work/main/handlers/shared/provenance.js';
const emu = await startDynamoDbProcess({ port: { service: 'd', port: 0, flag: '' } as any });
const raw = new DynamoDBClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${emu.port}`, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
await raw.send(new CreateTableCommand({ TableName: 'ttt', BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'isbn', AttributeType: 'N' }], KeySchema: [{ AttributeName: 'isbn', KeyType: 'HASH' }] }));
await new Promise((r) => setTimeout(r, 1000));
const doc = createDocumentClient(raw);
const stamp = { uploadedAt: '2026-11-28T10:00:00.000Z', key: 'a', sequencer: '01', version: 'v' };
const t0 = Date.now();
let n = 0;
await Promise.all(Array.from({ length: 400 }, async (_, i) => {
  await doc.send(new PutCommand({ TableName: 'ttt', Item: { isbn: i, title: 'x', [PROVENANCE.uploadedAt]: stamp.uploadedAt, [PROVENANCE.key]: 'a', [PROVENANCE.sequencer]: '01', [PROVENANCE.line]: 3 },
    ConditionExpression: notNewerThanWriter(true), ExpressionAttributeNames: orderAttributeNames(PROVENANCE, PROVENANCE.line), ExpressionAttributeValues: orderAttributeValues(stamp, 3) }));
  n++;
}));
console.log('done', n, Date.now() - t0);
await emu.stop();
