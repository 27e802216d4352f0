import { DynamoDBClient, CreateTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import pLimit from 'p-limit';
import { startDynamoDbProcess } from '/work/main/local/emulators/dynamodb.js';
const emu = await startDynamoDbProcess({ port: { service: 'd', port: 0, flag: '' } as any });
const raw = new DynamoDBClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${emu.port}`, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
await raw.send(new CreateTableCommand({ TableName: 'ttt', BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'isbn', AttributeType: 'N' }], KeySchema: [{ AttributeName: 'isbn', KeyType: 'HASH' }] }));
await new Promise((r) => setTimeout(r, 1000));
let base = 0;
for (const [conc, cond] of [[1, false], [4, false], [1, true], [4, true]] as const) {
  const limit = pLimit(conc);
  const t0 = Date.now();
  base += 10000;
  await Promise.all(Array.from({ length: 200 }, (_, i) => limit(() => raw.send(new PutItemCommand({ TableName: 'ttt', Item: { isbn: { N: String(base + i) }, t: { S: 'x' } },
    ...(cond ? { ConditionExpression: 'attribute_not_exists(#a) OR #a < :a', ExpressionAttributeNames: { '#a': 'a' }, ExpressionAttributeValues: { ':a': { S: 'x' } } } : {}) })))));
  console.log(conc, cond, 'items/s', Math.round(200 / ((Date.now() - t0) / 1000)));
}
await emu.stop();
