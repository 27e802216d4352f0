import type { Principal } from './auth.js';

/** A verified token's principal, and when the token stops being valid. */
interface Verified {
  readonly principal: Principal;
  /** The token's `exp`, in seconds since the epoch. */
  readonly exp: number;
}

/** Tokens remembered at most, by default: about a megabyte of tokens. */
const DEFAULT_CAPACITY = 1000;

/**
 * The principals of access tokens this container has already verified, by the
 * token's exact text (signature included, so no other token can match), each until
 * its `exp`: a machine client sends the same token with every request for its
 * lifetime, and checking its RS256 signature again would find the same answer at
 * about 0.1 ms of CPU a request. Bounded: the least recently used token goes first.
 *
 * What a cache changes: a signing key removed from the issuer's JWKS stops a token
 * only when that token expires (as it would in any verifier that caches keys for a
 * token's lifetime); expiry itself is checked on every use.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, Verified>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {
    if (!(Number.isInteger(capacity) && capacity > 0)) {
      throw new RangeError(
        `the verified-token capacity must be a positive integer, got ${capacity}`,
      );
    }
  }

  /**
   * The principal of `token` when it was verified before and its `exp` is still after
   * `earliestExp` (now minus the clock tolerance, in epoch seconds, as jose compares);
   * undefined otherwise, and an expired token is forgotten, so that verifying it again
   * gives the client the expiry's own error.
   */
  principalOf(token: string, earliestExp: number): Principal | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    this.entries.delete(token);
    if (entry.exp <= earliestExp) return undefined;
    // Re-inserted: a Map iterates in insertion order, so the first key is the least recently used.
    this.entries.set(token, entry);
    return entry.principal;
  }

  /** Remembers a token that has just been verified, with its `exp` (epoch seconds). */
  remember(token: string, principal: Principal, exp: number): void {
    this.entries.delete(token);
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(token, { principal, exp });
  }

  /** Tokens remembered now. */
  get size(): number {
    return this.entries.size;
  }
}
