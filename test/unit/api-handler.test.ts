import type { Context } from 'aws-lambda';
import { albEvent, BOOKS_DATASET, body, header } from '../support/api-events.js';

// The entry file reads its configuration at import: set it first, as the Lambda runtime would.
Object.assign(process.env, {
  DATASET: JSON.stringify(BOOKS_DATASET),
  TABLE_NAME: 'books-table',
  AUTH_ISSUER: 'https://idp.example.com',
  AUTH_AUDIENCE: 'https://api.example.com/books',
  AUTH_REQUIRED_SCOPE: 'books/read',
  AWS_REGION: 'eu-west-1',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
});
const { handler } = await import('../../handlers/api/index.js');
const context = {
  functionName: 'api',
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => 15_000,
} as Context;

describe('api handler (handlers/api/index.ts)', () => {
  it('answers the ALB health check without a token', async () => {
    const result = await handler(albEvent('/health'), context);

    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual({ status: 'ok' });
    expect(header(result, 'Strict-Transport-Security')).toContain('max-age=');
  });

  it('challenges a request without a token, with the dataset as realm', async () => {
    const result = await handler(albEvent('/books/9780306406157'), context);

    expect(result.statusCode).toBe(401);
    expect(header(result, 'WWW-Authenticate')).toBe('Bearer realm="books"');
  });
});
