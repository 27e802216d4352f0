import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { type LocalStackOptions, startLocalStack } from '../../local/stack.js';

// The local stack in a process of its own, for tests that kill it:
//   node --import tsx test/support/local-stack-process.ts '<LocalStackOptions as JSON>'
// It writes <dataDir>/endpoints.json, prints one line `ready {"resumed":[names]}` when it
// serves, and stops cleanly on SIGTERM.

const options = JSON.parse(process.argv[2] ?? '{}') as LocalStackOptions & { dataDir: string };
const stack = await startLocalStack({
  ...options,
  handlerLogs: createWriteStream(join(options.dataDir, 'handlers.log'), { flags: 'a' }),
  onLog: (message) => process.stderr.write(`${message}\n`),
  onFatal: () => process.exit(1),
});
process.stdout.write(
  `ready ${JSON.stringify({ resumed: stack.resumed.map((execution) => execution.name) })}\n`,
);
process.on('SIGTERM', () => {
  void stack.stop().then(() => process.exit(0));
});
