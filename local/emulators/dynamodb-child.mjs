// dynalite in its own process (see startDynamoDbProcess in dynamodb.ts). Plain
// JavaScript so it runs under any parent: tsx, jest or plain node.
import dynalite from 'dynalite';

const [port, path] = process.argv.slice(2);
const server = dynalite({
  createTableMs: 0,
  deleteTableMs: 0,
  updateTableMs: 0,
  ...(path ? { path } : {}),
});
server.on('error', (error) => {
  process.send?.({ error: error.code ?? error.message });
  process.exit(1);
});
server.listen(Number(port), '127.0.0.1', () => {
  process.send?.({ port: server.address().port });
});
// The parent going away (even killed) closes the IPC channel: never outlive it.
const stop = () => server.close(() => process.exit(0));
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', () => undefined);
