import type { JWTVerifyGetKey } from 'jose';
import { type AuthDeps, authenticate, type Principal } from '../../handlers/api/auth.js';
import { readApiConfig } from '../../handlers/api/config.js';
import { VerifiedTokens } from '../../handlers/api/verified-tokens.js';
import { apiEnv, LOCAL_ISSUER, localAuth } from '../support/api-deps.js';

// A token verified once is not verified again until it expires; everything else about
// authentication stays as it was (expiry, scopes, forged tokens).

const NOW = 1_800_000_000;
const config = readApiConfig(apiEnv(LOCAL_ISSUER)).auth;
let keys: Awaited<ReturnType<typeof localAuth>>;

beforeAll(async () => {
  keys = await localAuth(NOW);
});

/** Auth dependencies whose key lookups are counted: one lookup per signature checked. */
function countingDeps(verified: VerifiedTokens | undefined, clock: { seconds: number }) {
  const lookups = { count: 0 };
  const getKey: JWTVerifyGetKey = (header, token) => {
    lookups.count += 1;
    return keys.getKey(header, token);
  };
  const deps: AuthDeps = {
    getKey,
    now: () => new Date(clock.seconds * 1000),
    ...(verified === undefined ? {} : { verified }),
  };
  return { deps, lookups };
}

const bearer = (token: string) => [`Bearer ${token}`];

describe('authenticate with verified tokens remembered', () => {
  it('checks a token the first time only, and answers the same principal after', async () => {
    const clock = { seconds: NOW };
    const { deps, lookups } = countingDeps(new VerifiedTokens(), clock);
    const token = await keys.token();
    const first = await authenticate(bearer(token), config, deps);
    clock.seconds += 60;
    const again = await authenticate(bearer(token), config, deps);
    expect(again).toEqual(first);
    expect(first).toEqual({ subject: undefined, clientId: 'client-1', scopes: ['books/read'] });
    expect(lookups.count).toBe(1);
  });

  it('checks every time without the cache (the default)', async () => {
    const clock = { seconds: NOW };
    const { deps, lookups } = countingDeps(undefined, clock);
    const token = await keys.token();
    await authenticate(bearer(token), config, deps);
    await authenticate(bearer(token), config, deps);
    expect(lookups.count).toBe(2);
  });

  it('refuses a remembered token once it expires, with the expiry error, after the clock tolerance', async () => {
    const clock = { seconds: NOW };
    const { deps } = countingDeps(new VerifiedTokens(), clock);
    const token = await keys.token({ exp: NOW + 100 });
    await authenticate(bearer(token), config, deps);
    // Within the tolerance (30 s by default) after exp: still accepted, as jose accepts it.
    clock.seconds = NOW + 100 + config.clockToleranceSeconds - 1;
    await expect(authenticate(bearer(token), config, deps)).resolves.toBeDefined();
    clock.seconds = NOW + 100 + config.clockToleranceSeconds;
    await expect(authenticate(bearer(token), config, deps)).rejects.toMatchObject({
      status: 401,
      detail: expect.stringMatching(/expired/) as unknown,
    });
  });

  it('does not let a token with another signature match a remembered one', async () => {
    const clock = { seconds: NOW };
    const { deps, lookups } = countingDeps(new VerifiedTokens(), clock);
    const token = await keys.token();
    await authenticate(bearer(token), config, deps);
    const [header, payload, signature = ''] = token.split('.');
    const tampered = `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    await expect(authenticate(bearer(tampered), config, deps)).rejects.toMatchObject({
      status: 401,
    });
    expect(lookups.count).toBe(2);
  });

  it('remembers nothing of a refused token', async () => {
    const clock = { seconds: NOW };
    const verified = new VerifiedTokens();
    const { deps, lookups } = countingDeps(verified, clock);
    const wrongAudience = await keys.token({ aud: 'https://other.example.com' });
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(authenticate(bearer(wrongAudience), config, deps)).rejects.toMatchObject({
        status: 401,
      });
    }
    expect(lookups.count).toBe(2);
    expect(verified.size).toBe(0);
  });

  it('still checks the scopes of a remembered token per request (they come with the principal)', async () => {
    const clock = { seconds: NOW };
    const { deps } = countingDeps(new VerifiedTokens(), clock);
    const token = await keys.token({ scope: 'other/read' });
    const principal = await authenticate(bearer(token), config, deps);
    expect((await authenticate(bearer(token), config, deps)).scopes).toEqual(principal.scopes);
    expect(principal.scopes).toEqual(['other/read']);
  });
});

describe('VerifiedTokens', () => {
  const principal = (clientId: string): Principal => ({
    subject: undefined,
    clientId,
    scopes: [],
  });

  it('forgets the least recently used token when full', () => {
    const tokens = new VerifiedTokens(2);
    tokens.remember('a', principal('a'), NOW + 10);
    tokens.remember('b', principal('b'), NOW + 10);
    expect(tokens.principalOf('a', NOW)?.clientId).toBe('a'); // now b is the oldest
    tokens.remember('c', principal('c'), NOW + 10);
    expect(tokens.size).toBe(2);
    expect(tokens.principalOf('b', NOW)).toBeUndefined();
    expect(tokens.principalOf('a', NOW)?.clientId).toBe('a');
    expect(tokens.principalOf('c', NOW)?.clientId).toBe('c');
  });

  it('forgets a token once asked about it after its exp', () => {
    const tokens = new VerifiedTokens();
    tokens.remember('a', principal('a'), NOW + 10);
    expect(tokens.principalOf('a', NOW + 9)?.clientId).toBe('a');
    expect(tokens.principalOf('a', NOW + 10)).toBeUndefined();
    expect(tokens.size).toBe(0);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a capacity of %s', (capacity) => {
    expect(() => new VerifiedTokens(capacity)).toThrow(/positive integer/);
  });
});
