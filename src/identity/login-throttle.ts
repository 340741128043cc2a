import type { Clock } from '../kernel/index.js';

interface Window {
  failures: number;
  firstAt: number;
}

/**
 * Per-address backoff for failed logins: after `freeFailures` within `windowMs`, each further
 * attempt must wait 2^(n - free) seconds (capped). Bounded memory: the oldest addresses go first.
 */
export class LoginThrottle {
  readonly #windows = new Map<string, Window>();
  readonly #clock: Clock;
  readonly #freeFailures: number;
  readonly #windowMs: number;
  readonly #maxDelaySec: number;
  readonly #maxEntries: number;

  constructor(clock: Clock, options: { freeFailures?: number; windowMs?: number; maxDelaySec?: number; maxEntries?: number } = {}) {
    this.#clock = clock;
    this.#freeFailures = options.freeFailures ?? 10;
    this.#windowMs = options.windowMs ?? 15 * 60_000;
    this.#maxDelaySec = options.maxDelaySec ?? 900;
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  /** Seconds the address must wait before trying again, or 0. */
  retryAfterSec(address: string): number {
    const w = this.#current(address);
    if (w === undefined || w.failures < this.#freeFailures) return 0;
    const delay = Math.min(this.#maxDelaySec, 2 ** (w.failures - this.#freeFailures));
    const waited = (this.#clock.now() - w.firstAt) / 1000;
    return waited >= delay ? 0 : Math.ceil(delay - waited);
  }

  recordFailure(address: string): void {
    const now = this.#clock.now();
    const w = this.#current(address) ?? { failures: 0, firstAt: now };
    w.failures++;
    w.firstAt = now;
    this.#windows.delete(address);
    if (this.#windows.size >= this.#maxEntries) {
      const oldest = this.#windows.keys().next().value;
      if (oldest !== undefined) this.#windows.delete(oldest);
    }
    this.#windows.set(address, w);
  }

  recordSuccess(address: string): void {
    this.#windows.delete(address);
  }

  #current(address: string): Window | undefined {
    const w = this.#windows.get(address);
    if (w !== undefined && this.#clock.now() - w.firstAt > this.#windowMs) {
      this.#windows.delete(address);
      return undefined;
    }
    return w;
  }
}
