import { readConfig } from '../../handlers/shared/env.js';
import { ConfigurationError } from '../../handlers/shared/errors.js';

describe('readConfig', () => {
  it('returns typed values, applying defaults for unset variables', () => {
    const config = readConfig(
      { TABLE_NAME: ' books ', LIMIT: '7', ALGS: 'RS256, ES256,', DATASET_JSON: '{"a":1}' },
      (env) => ({
        table: env.string('TABLE_NAME'),
        limit: env.integer('LIMIT', { min: 1, max: 10 }),
        retries: env.integer('RETRIES', { default: 3 }),
        algorithms: env.list('ALGS'),
        level: env.oneOf('LEVEL', ['INFO', 'DEBUG'] as const, { default: 'INFO' }),
        jwks: env.optionalString('JWKS_URI'),
        dataset: env.json('DATASET_JSON', (value) => value),
      }),
    );
    expect(config).toEqual({
      table: 'books',
      limit: 7,
      retries: 3,
      algorithms: ['RS256', 'ES256'],
      level: 'INFO',
      jwks: undefined,
      dataset: { a: 1 },
    });
  });

  it('throws one ConfigurationError that lists every problem', () => {
    const read = () =>
      readConfig({ LIMIT: '0', LEVEL: 'TRACE', DATASET: '{not json' }, (env) => ({
        table: env.string('TABLE_NAME'),
        limit: env.integer('LIMIT', { min: 1, max: 10 }),
        level: env.oneOf('LEVEL', ['INFO', 'DEBUG'] as const),
        dataset: env.json('DATASET', (value) => value),
      }));
    expect(read).toThrow(ConfigurationError);
    try {
      read();
    } catch (error) {
      const { problems, message, name } = error as ConfigurationError;
      expect(name).toBe('ConfigurationError');
      expect(problems).toEqual([
        'TABLE_NAME is required',
        'LIMIT must be an integer from 1 to 10, got "0"',
        'LEVEL must be one of INFO, DEBUG, got "TRACE"',
        expect.stringMatching(/^DATASET: .*JSON/),
      ]);
      expect(message).toContain('Invalid environment:\n  - TABLE_NAME is required');
    }
  });

  it.each([
    ['1.5', 'a fraction'],
    ['12abc', 'trailing text'],
    ['', 'an empty value with no default'],
  ])('rejects %j as an integer (%s)', (raw) => {
    expect(() => readConfig({ N: raw }, (env) => env.integer('N'))).toThrow(/N /);
  });
});
