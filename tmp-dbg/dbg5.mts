import { DynamoDBClient, CreateTableCommand, PutItemCommand, BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { startDynamoDbProcess } from '/work/main/local/emulators/dynamodb.js';
const emu = await startDynamoDbProcess({ port: { service: 'd', port: 0, flag: '' } as any });
const raw = new DynamoDBClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${emu.port}`, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
await raw.send(new CreateTableCommand({ TableName: 'ttt', BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'isbn', AttributeType: 'N' }], KeySchema: [{ AttributeName: 'isbn', KeyType: 'HASH' }] }));
await new Promise((r) => setTimeout(r, 1000));
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  await raw.send(new PutItemCommand({ TableName: 'ttt', Item: { isbn: { N: String(i) }, t: { S: 'x' } } }));
  console.log('put', (performance.now() - t0).toFixed(1));
}
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  await raw.send(new BatchWriteItemCommand({ RequestItems: { ttt: Array.from({length: 25}, (_, j) => ({ PutRequest: { Item: { isbn: { N: String(100 + i * 25 + j) }, t: { S: 'x' } } } })) } }));
  console.log('batch', (performance.now() - t0).toFixed(1));
}
await emu.stop();
