import { readApiConfig } from '../../handlers/api/config.js';
import { ConfigurationError } from '../../handlers/shared/errors.js';
import { BOOKS_DATASET } from '../support/api-events.js';

const minimal = {
  DATASET: JSON.stringify(BOOKS_DATASET),
  TABLE_NAME: 'books-table',
  AUTH_ISSUER: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc',
  AUTH_AUDIENCE: 'client-a, client-b',
  AUTH_REQUIRED_SCOPE: 'books/read',
};

describe('readApiConfig', () => {
  it('applies the documented defaults', () => {
    const config = readApiConfig(minimal);

    expect(config.datasets).toEqual([
      {
        schema: expect.objectContaining({ name: 'books' }),
        tableName: 'books-table',
        requiredScopes: ['books/read'],
      },
    ]);
    expect(config.auth).toEqual({
      issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc',
      audiences: ['client-a', 'client-b'],
      audienceClaim: 'aud',
      jwksUri: undefined,
      algorithms: ['RS256'],
      clockToleranceSeconds: 30,
      realm: 'books',
      jwksCooldownSeconds: 30,
      acceptedTokenTypes: ['at+jwt'],
    });
  });

  it('reads every optional setting', () => {
    const config = readApiConfig({
      ...minimal,
      AUTH_AUDIENCE_CLAIM: 'client_id',
      AUTH_JWKS_URI: 'http://127.0.0.1:8080/jwks.json',
      AUTH_REQUIRED_SCOPE: 'books/read  books/list',
      AUTH_ALGORITHMS: 'RS256,ES256',
      AUTH_CLOCK_TOLERANCE_SECONDS: '60',
      AUTH_REALM: 'Book catalogue',
      AUTH_JWKS_COOLDOWN_SECONDS: '120',
      AUTH_ACCEPTED_TOKEN_TYPES: 'application/at+jwt, JWT',
    });

    expect(config.datasets[0]?.requiredScopes).toEqual(['books/read', 'books/list']);
    expect(config.auth).toMatchObject({
      audienceClaim: 'client_id',
      jwksUri: new URL('http://127.0.0.1:8080/jwks.json'),
      algorithms: ['RS256', 'ES256'],
      clockToleranceSeconds: 60,
      realm: 'Book catalogue',
      jwksCooldownSeconds: 120,
      acceptedTokenTypes: ['at+jwt', 'jwt'],
    });
  });

  it('throws one ConfigurationError that lists every problem', () => {
    const read = () =>
      readApiConfig({
        DATASET: '{"name":"books"}',
        AUTH_ISSUER: 'http://idp.example.com',
        AUTH_JWKS_URI: 'not a url',
        AUTH_ALGORITHMS: 'RS256,HS256,none',
        AUTH_CLOCK_TOLERANCE_SECONDS: '61',
        AUTH_REQUIRED_SCOPE: 'a"b',
        AUTH_REALM: 'bad "realm"',
      });

    expect(read).toThrow(ConfigurationError);
    let problems: readonly string[] = [];
    try {
      read();
    } catch (error) {
      problems = (error as ConfigurationError).problems;
    }
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^DATASET: /),
        'TABLE_NAME is required',
        'AUTH_AUDIENCE is required',
        'AUTH_ISSUER must use https (http only for localhost), got "http://idp.example.com"',
        'AUTH_JWKS_URI must be an absolute URL, got "not a url"',
        expect.stringContaining('AUTH_ALGORITHMS: "HS256" is not allowed'),
        expect.stringContaining('AUTH_ALGORITHMS: "none" is not allowed'),
        'AUTH_CLOCK_TOLERANCE_SECONDS must be an integer from 0 to 60, got "61"',
        'AUTH_REQUIRED_SCOPE: "a"b" is not a valid scope token (RFC 6749)',
        'AUTH_REALM must be printable ASCII without quotes or backslashes',
      ]),
    );
  });

  it.each([
    ['AUTH_AUDIENCE', ' , ', 'AUTH_AUDIENCE must name at least one audience'],
    [
      'AUTH_ACCEPTED_TOKEN_TYPES',
      'at+jwt, "JWT"',
      'AUTH_ACCEPTED_TOKEN_TYPES: ""JWT"" is not a media type such as at+jwt',
    ],
    ['AUTH_ACCEPTED_TOKEN_TYPES', ',', 'AUTH_ACCEPTED_TOKEN_TYPES must name at least one type'],
  ])('rejects %s=%j', (name, value, problem) => {
    expect(() => readApiConfig({ ...minimal, [name]: value })).toThrow(
      expect.objectContaining({ problems: [problem] }),
    );
  });
});
