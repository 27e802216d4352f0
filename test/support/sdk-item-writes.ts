import { jest } from '@jest/globals';

/**
 * The deployed loader writes items as signed HTTP POSTs (http-item-writer.ts, tested
 * against dynalite in test/integration). Call this before importing a handler in a
 * unit test: its items then go through the SDK's low-level client, which a mocked
 * DynamoDBClient answers (for example as a FakeTable).
 */
export async function writeItemsThroughSdk(): Promise<void> {
  const { sdkItemWriter } = await import('../../handlers/load-chunk/item-writer.js');
  jest.unstable_mockModule('../../handlers/load-chunk/http-item-writer.js', () => ({
    httpItemWriterFor: sdkItemWriter,
  }));
}
