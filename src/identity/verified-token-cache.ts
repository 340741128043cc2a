import type { Principal } from '../kernel/index.js';

interface Entry {
  readonly principal: Principal;
  readonly expiresAtMs: number;
  readonly method: string;
}

/**
 * A bounded cache of verified bearer tokens, keyed by the SHA-256 of the token (never the token).
 * A hit is honoured only before the token's own `exp` and while its `jti` is not revoked; the
 * least recently used entry goes first when full.
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;

  constructor(maxEntries = 10_000) {
    this.#max = maxEntries;
  }

  /** The cached principal for a token digest, if still valid at `now` and accepted by `method`. */
  get(digest: string, now: number, acceptedMethods: readonly string[], isRevoked: (jti: string) => boolean): Principal | undefined {
    const entry = this.#entries.get(digest);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= now || (entry.principal.tokenId !== undefined && isRevoked(entry.principal.tokenId))) {
      this.#entries.delete(digest);
      return undefined;
    }
    if (!acceptedMethods.includes(entry.method)) return undefined;
    // Refresh recency: Map keeps insertion order.
    this.#entries.delete(digest);
    this.#entries.set(digest, entry);
    return entry.principal;
  }

  set(digest: string, principal: Principal, expiresAtMs: number, method: string): void {
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(digest, { principal, expiresAtMs, method });
  }

  /** Drops every entry (after a revocation or a configuration change). */
  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
