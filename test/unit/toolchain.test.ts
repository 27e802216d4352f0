import { generateKeyPair, jwtVerify, SignJWT } from 'jose';
import pLimit from 'p-limit';

describe('toolchain', () => {
  it('runs on Node.js 24, the Lambda runtime', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
  });

  it('imports the ESM-only p-limit exactly as production code does', async () => {
    const limit = pLimit(2);
    let running = 0;
    let peak = 0;
    const task = async (n: number) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      return n * 2;
    };
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => limit(() => task(n))));
    expect(results).toEqual([2, 4, 6, 8, 10]);
    expect(peak).toBe(2);
  });

  it('imports the ESM-only jose exactly as production code does', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({ scope: 'read' })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer('https://issuer.test')
      .setExpirationTime('1m')
      .sign(privateKey);
    const { payload } = await jwtVerify(token, publicKey, { issuer: 'https://issuer.test' });
    expect(payload.scope).toBe('read');
  });
});
