import { DynamoDBClient, CreateTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startDynamoDbProcess } from '/work/main/local/emulators/dynamodb.js';
const emu = await startDynamoDbProcess({ port: { service: 'd', port: 0, flag: '' } as any });
const raw = new DynamoDBClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${emu.port}`, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
await raw.send(new CreateTableCommand({ TableName: 'ttt', BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'isbn', AttributeType: 'N' }], KeySchema: [{ AttributeName: 'isbn', KeyType: 'HASH' }] }));
await new Promise((r) => setTimeout(r, 1000));
const exprs = {
  flat: 'attribute_not_exists(#a) OR #a < :a',
  d1: 'attribute_not_exists(#a) OR #a < :a OR (#a = :a AND #b < :b)',
  d2: 'attribute_not_exists(#a) OR #a < :a OR (#a = :a AND (#b < :b OR (#b = :b AND #c < :c)))',
  d3: 'attribute_not_exists(#a) OR #a < :a OR (#a = :a AND (#b < :b OR (#b = :b AND (#c < :c OR (#c = :c AND #d <= :d)))))',
  dnf: 'attribute_not_exists(#a) OR #a < :a OR (#a = :a AND #b < :b) OR (#a = :a AND #b = :b AND #c < :c) OR (#a = :a AND #b = :b AND #c = :c AND #d <= :d)',
  noparen: 'attribute_not_exists(#a) OR #a < :a OR #a = :a AND #b < :b OR #a = :a AND #b = :b AND #c < :c OR #a = :a AND #b = :b AND #c = :c AND #d <= :d',
};
for (const [name, expr] of Object.entries(exprs)) {
  const names: Record<string,string> = {}; const values: Record<string, any> = {};
  for (const l of ['a','b','c','d']) if (expr.includes('#'+l)) { names['#'+l] = l; values[':'+l] = { S: 'x' }; }
  const t0 = performance.now();
  await raw.send(new PutItemCommand({ TableName: 'ttt', Item: { isbn: { N: '1' } }, ConditionExpression: expr, ExpressionAttributeNames: names, ExpressionAttributeValues: values }));
  console.log(name, (performance.now() - t0).toFixed(1), 'ms');
}
await emu.stop();
