/**
 * BENCHMARK HARNESS ONLY — never deployed, never imported by production code.
 *
 * bench/suites/api.ts bundles a second copy of the API handler in which the routes'
 * import of `./auth.js` resolves here (an esbuild plugin, inside the harness), so the
 * same requests can be timed with the auth step skipped. Everything else the real
 * module exports is passed through unchanged.
 */
import type { Principal } from '../../handlers/api/auth.js';

export * from '../../handlers/api/auth.js';

/** Accepts every request without looking at its Authorization header. */
export async function authenticate(): Promise<Principal> {
  return { subject: 'bench', clientId: 'bench', scopes: [] };
}

/** Skips the per-dataset scope check too: it is part of the auth step being left out. */
export function requireScopes(): void {}
