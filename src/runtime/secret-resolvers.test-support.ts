/**
 * In-process implementations of the runtime's secret and KV ports over plain maps: what tests
 * and benchmarks use until a vault is wired in. Not encrypted, not persistent; never shipped.
 */
import type { KvListPage, KvResolver, KvStore, ResolvedSecret, SecretResolver } from './secret-ports.js';

/** A {@link SecretResolver} over a map; `set`/`delete` change a secret and notify listeners. */
export class MemorySecretResolver implements SecretResolver {
  readonly #values = new Map<string, ResolvedSecret>();
  readonly #listeners = new Set<(name: string) => void>();
  /** How many reads reached this resolver (for tests of the worker cache). */
  reads = 0;
  /** Artificial latency of each read, in ms (0: none). */
  delayMs = 0;

  constructor(initial: Readonly<Record<string, string>> = {}) {
    for (const [name, value] of Object.entries(initial)) this.#values.set(name, { version: 1, value });
  }

  async read(name: string): Promise<ResolvedSecret | undefined> {
    this.reads++;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    return this.#values.get(name);
  }

  onChange(listener: (name: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sets a new current version (the previous version + 1) and notifies. */
  set(name: string, value: string): number {
    const version = (this.#values.get(name)?.version ?? 0) + 1;
    this.#values.set(name, { version, value });
    for (const l of this.#listeners) l(name);
    return version;
  }

  delete(name: string): void {
    this.#values.delete(name);
    for (const l of this.#listeners) l(name);
  }
}

/** One function's namespace over a sorted map; cursors are the last key returned. */
class MemoryKvStore implements KvStore {
  readonly data = new Map<string, Uint8Array>();
  async get(key: string): Promise<Uint8Array | null> {
    const v = this.data.get(key);
    return v === undefined ? null : v.slice();
  }
  async put(key: string, value: Uint8Array): Promise<void> {
    this.data.set(key, value.slice());
  }
  async delete(key: string): Promise<void> {
    this.data.delete(key);
  }
  async list(options: { prefix?: string; limit?: number; cursor?: string } = {}): Promise<KvListPage> {
    const prefix = options.prefix ?? '';
    const limit = options.limit ?? 1000;
    const keys = [...this.data.keys()].filter((k) => k.startsWith(prefix) && (options.cursor === undefined || k > options.cursor)).sort();
    const page = keys.slice(0, limit);
    return keys.length > limit ? { keys: page, cursor: page[page.length - 1] as string } : { keys: page };
  }
}

/** A {@link KvResolver} with one in-memory namespace per function. */
export class MemoryKvResolver implements KvResolver {
  readonly #spaces = new Map<string, MemoryKvStore>();
  namespace(fn: string): KvStore {
    let s = this.#spaces.get(fn);
    if (s === undefined) this.#spaces.set(fn, (s = new MemoryKvStore()));
    return s;
  }
}
