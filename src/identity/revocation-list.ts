import type { Clock } from '../kernel/index.js';
import type { RevocationStore } from '../store/index.js';

/**
 * The revoked `jti`s in memory, refreshed from the store whenever another process (the CLI)
 * changed it; also the signal to drop cached verifications after any such change. The check runs at most every `pollMs`.
 */
export class RevocationList {
  #revoked = new Set<string>();
  #seen = '';
  #checkedAt = -Infinity;
  readonly #store: RevocationStore;
  readonly #clock: Clock;
  readonly #pollMs: number;

  constructor(store: RevocationStore, clock: Clock, pollMs = 250) {
    this.#store = store;
    this.#clock = clock;
    this.#pollMs = pollMs;
  }

  /**
   * Reloads from the store when it is due and changed. Returns `false` at once (no promise) when
   * not due, so the request path pays no await; otherwise a promise of whether the set changed.
   */
  refreshIfDue(): false | Promise<boolean> {
    if (this.#clock.now() - this.#checkedAt < this.#pollMs) return false;
    return this.refresh();
  }

  /**
   * Reloads from the store when it changed. Returns true when anything in the store may have
   * changed (a revocation, a disabled user, a reset password), so callers drop what they cached.
   */
  async refresh(force = false): Promise<boolean> {
    const now = this.#clock.now();
    this.#checkedAt = now;
    const counter = this.#store.changeCounter();
    if (!force && counter === this.#seen) return false;
    this.#seen = counter;
    this.#revoked = new Set(await this.#store.listActive(now));
    return true;
  }

  has(jti: string): boolean {
    return this.#revoked.has(jti);
  }
}
