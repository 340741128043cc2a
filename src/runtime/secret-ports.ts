/**
 * The ports the runtime reads secrets and KV data through. The runtime declares them and never
 * imports the vault: the platform wires them from it (`resolversFromVault`), tests from in-memory
 * maps (`secret-resolvers.test-support.ts`).
 */

/** The current version of a secret, decrypted; the runtime never persists or logs `value`. */
export interface ResolvedSecret {
  readonly version: number;
  readonly value: string;
}

/** Reads secrets and tells when one changes. */
export interface SecretResolver {
  /**
   * The current version; undefined when the secret does not exist (or is deleted). `use: false`:
   * the platform's own read (loading a value into redaction), not a use by a function, so the
   * secret's last-read time does not move.
   */
  read(name: string, options?: { readonly use?: boolean }): Promise<ResolvedSecret | undefined>;
  /** Called after any change of a secret's current version. Returns unsubscribe. */
  onChange(listener: (name: string) => void): () => void;
}

/** The answer of a KV `list`. */
export interface KvListPage {
  readonly keys: readonly string[];
  readonly cursor?: string;
}

/** One function's KV namespace (the shapes of the vault's `KvNamespace`). */
export interface KvStore {
  get(key: string): Promise<Uint8Array | null>;
  put(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  list(options?: { prefix?: string; limit?: number; cursor?: string }): Promise<KvListPage>;
}

/** Hands out each function's KV namespace. */
export interface KvResolver {
  namespace(fn: string): KvStore;
}
