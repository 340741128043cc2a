import type { Principal } from '../kernel/index.js';

interface Entry {
  readonly principal: Principal;
  readonly expiresAtMs: number;
  readonly method: string;
  /** Insertion sequence number: how recently the entry was (re)inserted. */
  seq: number;
}

/**
 * A bounded cache of verified bearer tokens, keyed by the SHA-256 of the token (never the token).
 * A hit is honoured only before the token's own `exp` and while its `jti` is not revoked. When
 * full, the oldest entry goes first; a hit moves an entry back to the front only once it has
 * aged into the older half (a Map delete+set on every hit made V8 rehash the whole table).
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  #seq = 0;

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
    if (this.#seq - entry.seq > this.#max / 2) {
      // Map keeps insertion order: re-inserting makes the entry the newest.
      this.#entries.delete(digest);
      entry.seq = ++this.#seq;
      this.#entries.set(digest, entry);
    }
    return entry.principal;
  }

  set(digest: string, principal: Principal, expiresAtMs: number, method: string): void {
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(digest, { principal, expiresAtMs, method, seq: ++this.#seq });
  }

  /** Drops every entry (after a revocation or a configuration change). */
  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
