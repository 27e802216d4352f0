import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS } from '../../local/config.js';
import {
  type DynamoDbEmulator,
  type EmulatorDiedError,
  startDynamoDbProcess,
} from '../../local/emulators/dynamodb.js';

// The supervisor of the dynalite child: a dead dynalite comes back on the same data,
// or the stack is told it cannot.

const PORT = { service: 'DynamoDB (dynalite)', port: 0, flag: '--dynamodb-port' };

let dir: string;
let emulator: DynamoDbEmulator | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dynalite-'));
});

afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
  await rm(dir, { recursive: true, force: true });
});

function clientOf(port: number): DynamoDBClient {
  return new DynamoDBClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
}

/** Resolves with the next report of the supervisor, failing after `ms`. */
function nextReport<T>(ms = 30_000): {
  report: (value: T) => void;
  reported: Promise<T>;
} {
  let report: (value: T) => void = () => undefined;
  const reported = new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no report within ${ms} ms`)), ms);
    timer.unref();
    report = (value) => {
      clearTimeout(timer);
      resolve(value);
    };
  });
  return { report, reported };
}

describe('dynalite in a supervised child process', () => {
  it('restarts a killed dynalite on the same port, with the same data', async () => {
    const restarted = nextReport<string>();
    emulator = await startDynamoDbProcess(
      { port: PORT, dataDir: join(dir, 'dynamodb') },
      { onRestart: restarted.report },
    );
    const client = clientOf(emulator.port);
    await client.send(
      new CreateTableCommand({
        TableName: 'supervised',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
      }),
    );
    await client.send(new PutItemCommand({ TableName: 'supervised', Item: { k: { S: 'kept' } } }));
    const firstPid = emulator.pid;

    process.kill(firstPid ?? 0, 'SIGKILL');

    expect(await restarted.reported).toBe(
      `DynamoDB (dynalite) was killed (SIGKILL); restarted on port ${emulator.port} with the same data (restart 1).`,
    );
    expect(emulator.restarts).toBe(1);
    expect(emulator.pid).not.toBe(firstPid);
    const item = await client.send(
      new GetItemCommand({ TableName: 'supervised', Key: { k: { S: 'kept' } } }),
    );
    expect(item.Item).toEqual({ k: { S: 'kept' } });
    client.destroy();
  }, 60_000);

  it('reports a dynalite that kept its data in memory as dead for good', async () => {
    const fatal = nextReport<EmulatorDiedError>();
    emulator = await startDynamoDbProcess({ port: PORT }, { onFatal: fatal.report });

    process.kill(emulator.pid ?? 0, 'SIGKILL');

    const error = await fatal.reported;
    expect(error).toMatchObject({
      name: 'EmulatorDiedError',
      message: expect.stringMatching(
        /^DynamoDB \(dynalite\) was killed \(SIGKILL\)\. It kept its data in memory, so the table is gone: the local stack stops\./,
      ),
    });
    expect(emulator.restarts).toBe(0);
  }, 60_000);

  it('stops restarting a dynalite that keeps dying', async () => {
    const fatal = nextReport<EmulatorDiedError>(120_000);
    let restarts = 0;
    const kill = () => process.kill(emulator?.pid ?? 0, 'SIGKILL');
    emulator = await startDynamoDbProcess(
      { port: PORT, dataDir: join(dir, 'dynamodb') },
      {
        onRestart: () => {
          restarts += 1;
          kill();
        },
        onFatal: fatal.report,
      },
    );

    kill();

    expect((await fatal.reported).message).toMatch(
      /^DynamoDB \(dynalite\) was killed \(SIGKILL\), the 6th time within a minute: the local stack stops/,
    );
    expect(restarts).toBe(5);
  }, 120_000);
});
