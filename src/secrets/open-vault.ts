import { PalisadeError, constantTimeEqual, silentLogger, systemClock, type Clock, type Logger } from '../kernel/index.js';
import type { SecretMetadataRow, SecretStage, VaultStore, WrappedKeyRef, WrappedKeyRow } from '../store/index.js';
import { aadFor, createDataKey, decryptFailed, deriveSubkey, hmacSha256, openAead, sealAead } from './envelope.js';
import type { LocalKeyProvider } from './key-provider.js';
import { addActiveKeyToRingFile, createKeyRingFile, keyRingLocation, loadKeyRing, removeKeyFromRingFile, type KeyRing } from './key-ring.js';
import { assertFunctionName, assertKvKey, assertKvValue, assertSecretName, assertSecretValue } from './secret-names.js';

/** A secret's current value, decrypted. */
export interface SecretValue {
  readonly name: string;
  readonly version: number;
  readonly value: Uint8Array;
}

/** One page of KV keys. */
export interface KvListResult {
  readonly keys: readonly string[];
  readonly cursor?: string;
}

/** The encrypted key-value namespace of one function. */
export interface KvNamespace {
  get(key: string): Promise<Uint8Array | null>;
  put(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  list(options?: { prefix?: string; limit?: number; cursor?: string }): Promise<KvListResult>;
}

/** What the runtime side reads: current values, change notices, KV namespaces. */
export interface Vault {
  /**
   * The current version, decrypted; undefined when the secret does not exist or is deleted. A
   * read records the secret's last-read time unless `use` is false (the platform reading for
   * itself, such as loading redaction, is not a use).
   */
  readCurrent(name: string, options?: { readonly use?: boolean }): Promise<SecretValue | undefined>;
  /**
   * Called after any change of a secret's current version (set, rotate, promote, delete,
   * restore, purge), including changes made by another process on the same state store (polled
   * at most every second). Returns unsubscribe.
   */
  onChange(listener: (name: string) => void): () => void;
  /** The encrypted KV namespace of one function (its own data key). */
  kv(functionName: string): KvNamespace;
  close(): Promise<void>;
}

/** One version of a secret, as an operator sees it: never the value. */
export interface SecretVersionView {
  readonly version: number;
  readonly stage: SecretStage | null;
  readonly createdAt: number;
  readonly kekId: string;
}

/** A secret as an operator sees it: names, versions, times; never a value. */
export interface SecretMetadata {
  readonly name: string;
  readonly createdAt: number;
  readonly lastReadAt: number | null;
  readonly lastRotatedAt: number | null;
  readonly deletedAt: number | null;
  readonly purgeAfter: number | null;
  readonly currentVersion: number | null;
  readonly pendingVersion: number | null;
  readonly versions: readonly SecretVersionView[];
}

/** Administration of secrets: every call returns metadata only. */
export interface VaultAdmin {
  /** Creates the secret, or adds a new current version when it exists. */
  setSecret(name: string, value: Uint8Array): Promise<SecretMetadata>;
  /** A new current version of an existing secret; the old current becomes previous. */
  rotateSecret(name: string, value: Uint8Array): Promise<SecretMetadata>;
  /** Stages a value as `pending` (scheduled rotation: create, then test, then finish). */
  stageVersion(name: string, value: Uint8Array, stage: 'pending'): Promise<SecretMetadata>;
  stagePending(name: string, value: Uint8Array): Promise<SecretMetadata>;
  promotePending(name: string): Promise<SecretMetadata>;
  discardPending(name: string): Promise<SecretMetadata>;
  /** Makes an existing version current again (rollback). */
  promoteVersion(name: string, version: number): Promise<SecretMetadata>;
  deleteSecret(name: string, options?: { readonly recoveryDays?: number }): Promise<SecretMetadata>;
  restoreSecret(name: string): Promise<SecretMetadata>;
  purgeSecret(name: string, options?: { readonly force?: boolean }): Promise<void>;
  listSecrets(): Promise<readonly SecretMetadata[]>;
  listVersions(name: string): Promise<SecretMetadata>;
}

/** A KEK in the ring, and how many data keys it wraps. */
export interface KekStatus {
  readonly id: string;
  readonly active: boolean;
  readonly inRing: boolean;
  readonly wrappedKeys: number;
  readonly retiredAt: number | null;
}

/** Administration of key-encryption keys. */
export interface KeyAdmin {
  readonly source: 'env' | 'file';
  readonly path: string | undefined;
  /**
   * File ring: adds a new random KEK, makes it active, then re-wraps every data key under it in
   * one transaction. Env ring: re-wraps every data key under the first key of
   * `PALISADE_MASTER_KEY`. Plaintext data keys exist only in memory.
   */
  rotateKek(): Promise<{ readonly activeKekId: string; readonly rewrapped: number; readonly remaining: number }>;
  /** Re-wraps under the active KEK every data key wrapped under another one. */
  rewrapAll(): Promise<{ readonly rewrapped: number; readonly remaining: number }>;
  /** Removes an old KEK once nothing is wrapped under it (refused otherwise). */
  retireKek(id: string): Promise<void>;
  status(): Promise<readonly KekStatus[]>;
}

/**
 * Seals small identity material (TOTP secrets, signing keys) under the vault's key hierarchy;
 * the structural match of the port the identity capability declares.
 */
export interface VaultSealedBox {
  seal(purpose: string, id: string, plaintext: string): Promise<string>;
  open(purpose: string, id: string, sealed: string): Promise<string>;
  isSealed(value: string): boolean;
}

/** An open vault: the runtime surface plus administration. */
export interface OpenedVault extends Vault {
  readonly admin: VaultAdmin;
  readonly keys: KeyAdmin;
  readonly sealedBox: VaultSealedBox;
}

/** Options of {@link openVault}. */
export interface OpenVaultOptions {
  readonly store: VaultStore;
  /** The `.palisade/` directory (the key ring file is `master.key` in it unless `keyFile`). */
  readonly stateDir: string;
  readonly keyFile?: string;
  /** Where `PALISADE_MASTER_KEY` is read; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A ring to use instead of env and file (tests, a KMS). */
  readonly keyRing?: KeyRing;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** How often other processes' changes are polled for {@link Vault.onChange}; at most 1000 ms. */
  readonly pollMs?: number;
  /** Told when a new key ring file was created: the operator must back it up. */
  readonly onKeyCreated?: (path: string, kekId: string) => void;
}

const SEALED_PREFIX = 'pal-sealed-v1.';
const DAY_MS = 86_400_000;

function dataKeyAad(ref: WrappedKeyRef, kekId: string): Buffer {
  switch (ref.kind) {
    case 'secret':
      return aadFor(['palisade-dk-v1', 'secret', ref.name, ref.version, kekId]);
    case 'kv':
      return aadFor(['palisade-dk-v1', 'kv', ref.fn, kekId]);
    case 'sealing':
      return aadFor(['palisade-dk-v1', 'sealing', ref.purpose, kekId]);
  }
}

function describe(ref: WrappedKeyRef): string {
  return ref.kind === 'secret' ? `the data key of secret \`${ref.name}\` version ${ref.version}` : ref.kind === 'kv' ? `the KV data key of function \`${ref.fn}\`` : `the sealing key \`${ref.purpose}\``;
}

function toMetadata(row: SecretMetadataRow): SecretMetadata {
  return {
    name: row.name,
    createdAt: row.createdAt,
    lastReadAt: row.lastReadAt,
    lastRotatedAt: row.lastRotatedAt,
    deletedAt: row.deletedAt,
    purgeAfter: row.purgeAfter,
    currentVersion: row.versions.find((v) => v.stage === 'current')?.version ?? null,
    pendingVersion: row.versions.find((v) => v.stage === 'pending')?.version ?? null,
    versions: row.versions.map((v) => ({ version: v.version, stage: v.stage, createdAt: v.createdAt, kekId: v.kekId })),
  };
}

function notFound(name: string): PalisadeError {
  return new PalisadeError('PAL_SECRETS_NOT_FOUND', `no secret \`${name}\``);
}

function deleted(name: string): PalisadeError {
  return new PalisadeError('PAL_SECRETS_INVALID_STATE', `secret \`${name}\` is deleted; restore it first with \`palisade secrets restore ${name}\``);
}

/**
 * Opens the secrets vault over a state store: loads the KEK ring (env, else key file, else a new
 * key file when the store has never had a KEK), checks that the ring holds every KEK the store's
 * data keys are wrapped under (`PAL_SECRETS_KEY_MISMATCH` otherwise, before anything is
 * decrypted), and registers the active KEK.
 *
 * @example
 * ```ts
 * const vault = await openVault({ store: state.vault, stateDir: '.palisade' });
 * await vault.admin.setSecret('db-url', new TextEncoder().encode('postgres://…'));
 * const current = await vault.readCurrent('db-url');
 * ```
 */
export async function openVault(options: OpenVaultOptions): Promise<OpenedVault> {
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const pollMs = Math.min(1000, Math.max(10, options.pollMs ?? 1000));
  const ring = options.keyRing ?? (await resolveRing(options, clock));
  await checkRing(store, ring);
  const first = await ring.active();
  await store.registerKek(first.id, first.checkValue, clock.now());

  const unwrap = async (row: WrappedKeyRow): Promise<Uint8Array> => {
    const provider = await ring.lookup(row.kekId);
    if (provider === undefined) throw new PalisadeError('PAL_SECRETS_KEY_UNAVAILABLE', `${describe(row.ref)} is wrapped under \`${row.kekId}\`, which is not in the key ring`, { expose: true });
    try {
      return await provider.unwrapKey(row.wrappedKey, dataKeyAad(row.ref, row.kekId));
    } catch (error) {
      throw reportIntegrity(decryptFailed(describe(row.ref), error), row.ref);
    }
  };
  const wrap = async (ref: WrappedKeyRef, dataKey: Uint8Array): Promise<{ wrappedKey: Uint8Array; kekId: string }> => {
    const provider = await activeRegistered();
    return { wrappedKey: await provider.wrapKey(dataKey, dataKeyAad(ref, provider.id)), kekId: provider.id };
  };
  const registered = new Set<string>([first.id]);
  const activeRegistered = async (): Promise<LocalKeyProvider> => {
    const provider = await ring.active();
    if (!registered.has(provider.id)) {
      await store.registerKek(provider.id, provider.checkValue, clock.now());
      registered.add(provider.id);
    }
    return provider;
  };
  const reportIntegrity = (error: PalisadeError, ref: WrappedKeyRef): PalisadeError => {
    logger.error('a stored ciphertext failed authentication; it was not used', { code: error.code, ...(ref.kind === 'secret' ? { secretName: ref.name } : ref.kind === 'kv' ? { function: ref.fn } : { reason: ref.purpose }) });
    return error;
  };

  // ---- secrets ----
  const readVersion = async (name: string, stage: SecretStage): Promise<SecretValue | undefined> => {
    const row = await store.readSecretVersion(name, stage);
    if (row === undefined) return undefined;
    const ref: WrappedKeyRef = { kind: 'secret', name: row.name, version: row.version };
    const dataKey = await unwrap({ ref, wrappedKey: row.wrappedKey, kekId: row.kekId });
    try {
      const value = openAead(dataKey, row.ciphertext, aadFor(['palisade-secret-v1', row.name, row.version]), `secret \`${row.name}\` version ${row.version}`);
      return { name: row.name, version: row.version, value: new Uint8Array(value) };
    } catch (error) {
      throw isPalError(error) ? reportIntegrity(error, ref) : error;
    } finally {
      dataKey.fill(0);
    }
  };

  const writeVersion = async (name: string, value: Uint8Array, stage: 'current' | 'pending', create: boolean): Promise<void> => {
    assertSecretName(name);
    assertSecretValue(value);
    // INVARIANT: the version number is allocated by one atomic store step before anything is
    // encrypted, because the ciphertext and its wrapped key are bound to it (AAD).
    const allocated = await store.allocateSecretVersion(name, clock.now(), create);
    if (allocated.outcome === 'not-found') throw notFound(name);
    if (allocated.outcome === 'deleted') throw deleted(name);
    const version = allocated.version;
    const dataKey = createDataKey();
    try {
      const { wrappedKey, kekId } = await wrap({ kind: 'secret', name, version }, dataKey);
      const ciphertext = sealAead(dataKey, value, aadFor(['palisade-secret-v1', name, version]));
      const outcome = await store.insertSecretVersion({ name, version, stage, ciphertext, wrappedKey, kekId, createdAt: clock.now() });
      if (outcome === 'not-found') throw notFound(name);
      if (outcome === 'deleted') throw deleted(name);
    } finally {
      dataKey.fill(0);
    }
  };

  const metadataOf = async (name: string): Promise<SecretMetadata> => {
    const row = await store.secretMetadata(name);
    if (row === undefined) throw notFound(name);
    return toMetadata(row);
  };

  // ---- change notices ----
  const listeners = new Set<(name: string) => void>();
  let heads = new Map<string, string>();
  let lastGeneration = -1;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  const snapshot = async (): Promise<Map<string, string>> => new Map((await store.secretHeads()).map((h) => [h.name, h.deletedAt !== null ? 'deleted' : String(h.current ?? 'none')]));
  const poll = (): Promise<void> => {
    polling ??= (async () => {
      try {
        const generation = await store.generation();
        if (generation === lastGeneration) return;
        lastGeneration = generation;
        const next = await snapshot();
        const changed = new Set<string>();
        for (const [name, head] of next) if (heads.get(name) !== head) changed.add(name);
        for (const name of heads.keys()) if (!next.has(name)) changed.add(name);
        heads = next;
        for (const name of changed) {
          for (const listener of [...listeners]) {
            try {
              listener(name);
            } catch (error) {
              logger.warn('a secret change listener threw', { secretName: name, reason: error instanceof Error ? error.message.slice(0, 200) : 'unknown' });
            }
          }
        }
      } catch (error) {
        logger.warn('polling secret changes failed; retrying', { code: 'PAL_STORE_UNAVAILABLE', reason: error instanceof Error ? error.message.slice(0, 200) : 'unknown' });
      } finally {
        polling = undefined;
      }
    })();
    return polling;
  };
  const changed = async (): Promise<void> => {
    if (listeners.size > 0) await poll();
  };

  // ---- KV ----
  const namespaces = new Map<string, Promise<{ enc: Buffer; mac: Buffer }>>();
  const kvKeys = (fn: string): Promise<{ enc: Buffer; mac: Buffer }> => {
    let keys = namespaces.get(fn);
    if (keys === undefined) {
      keys = (async () => {
        let row = await store.readKvKey(fn);
        if (row === undefined) {
          const fresh = createDataKey();
          const { wrappedKey, kekId } = await wrap({ kind: 'kv', fn }, fresh);
          fresh.fill(0);
          // First writer wins: two processes creating the namespace at once agree on one key.
          row = await store.createKvKey(fn, wrappedKey, kekId, clock.now());
        }
        const dataKey = await unwrap(row);
        const derived = { enc: deriveSubkey(dataKey, 'palisade-kv-enc-v1'), mac: deriveSubkey(dataKey, 'palisade-kv-mac-v1') };
        dataKey.fill(0);
        return derived;
      })();
      namespaces.set(fn, keys);
      keys.catch(() => namespaces.delete(fn));
    }
    return keys;
  };
  const kvNamespace = (fn: string): KvNamespace => {
    assertFunctionName(fn);
    return {
      async get(key) {
        assertKvKey(key);
        const { enc, mac } = await kvKeys(fn);
        const sealed = await store.kvGet(fn, hmacSha256(mac, key));
        if (sealed === undefined) return null;
        try {
          return new Uint8Array(openAead(enc, sealed, aadFor(['palisade-kv-value-v1', fn, key]), `a KV value of function \`${fn}\``));
        } catch (error) {
          throw isPalError(error) ? reportIntegrity(error, { kind: 'kv', fn }) : error;
        }
      },
      async put(key, value) {
        assertKvKey(key);
        assertKvValue(value);
        const { enc, mac } = await kvKeys(fn);
        const keyMac = hmacSha256(mac, key);
        const name = sealAead(enc, Buffer.from(key, 'utf8'), aadFor(['palisade-kv-name-v1', fn, keyMac.toString('hex')]));
        await store.kvPut(fn, keyMac, name, sealAead(enc, value, aadFor(['palisade-kv-value-v1', fn, key])), clock.now());
      },
      async delete(key) {
        assertKvKey(key);
        const { mac } = await kvKeys(fn);
        await store.kvDelete(fn, hmacSha256(mac, key));
      },
      async list(opts = {}) {
        const prefix = opts.prefix ?? '';
        const limit = Math.min(1000, Math.max(1, Math.floor(opts.limit ?? 1000)));
        const after = opts.cursor === undefined || opts.cursor === '' ? undefined : Buffer.from(opts.cursor, 'base64url').toString('utf8');
        const { enc } = await kvKeys(fn);
        // Key names are encrypted, so listing decrypts every name of the namespace: O(n) per call.
        const names: string[] = [];
        for (const row of await store.kvListNames(fn)) {
          let name: string;
          try {
            name = openAead(enc, row.nameCiphertext, aadFor(['palisade-kv-name-v1', fn, Buffer.from(row.keyMac).toString('hex')]), `a KV key name of function \`${fn}\``).toString('utf8');
          } catch (error) {
            throw isPalError(error) ? reportIntegrity(error, { kind: 'kv', fn }) : error;
          }
          if (name.startsWith(prefix) && (after === undefined || name > after)) names.push(name);
        }
        names.sort();
        const page = names.slice(0, limit);
        const last = page.at(-1);
        return names.length > limit && last !== undefined ? { keys: page, cursor: Buffer.from(last, 'utf8').toString('base64url') } : { keys: page };
      },
    };
  };

  // ---- sealed identity material ----
  const sealingKeys = new Map<string, Promise<Buffer>>();
  const sealingKey = (purpose: string): Promise<Buffer> => {
    let key = sealingKeys.get(purpose);
    if (key === undefined) {
      key = (async () => {
        let row = await store.readSealingKey(purpose);
        if (row === undefined) {
          const fresh = createDataKey();
          const { wrappedKey, kekId } = await wrap({ kind: 'sealing', purpose }, fresh);
          fresh.fill(0);
          row = await store.createSealingKey(purpose, wrappedKey, kekId, clock.now());
        }
        return Buffer.from(await unwrap(row));
      })();
      sealingKeys.set(purpose, key);
      key.catch(() => sealingKeys.delete(purpose));
    }
    return key;
  };
  const sealedBox: VaultSealedBox = {
    isSealed: (value) => value.startsWith(SEALED_PREFIX),
    async seal(purpose, id, plaintext) {
      const key = await sealingKey(purpose);
      return SEALED_PREFIX + Buffer.from(sealAead(key, Buffer.from(plaintext, 'utf8'), aadFor(['palisade-sealed-v1', purpose, id]))).toString('base64url');
    },
    async open(purpose, id, sealed) {
      // INVARIANT: a value that is not sealed is refused, never passed through: plaintext planted
      // in the store after migration does not become key material.
      if (!sealed.startsWith(SEALED_PREFIX)) throw decryptFailed(`sealed ${purpose} \`${id}\``);
      const key = await sealingKey(purpose);
      try {
        return openAead(key, Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url'), aadFor(['palisade-sealed-v1', purpose, id]), `sealed ${purpose} \`${id}\``).toString('utf8');
      } catch (error) {
        throw isPalError(error) ? reportIntegrity(error, { kind: 'sealing', purpose }) : error;
      }
    },
  };

  // ---- KEKs ----
  const rewrapAll = async (): Promise<{ rewrapped: number; remaining: number }> => {
    let rewrapped = 0;
    // A few passes: a data key wrapped under the old KEK by another process during a pass is picked up by the next.
    for (let pass = 0; pass < 3; pass++) {
      const active = await activeRegistered();
      const stale = (await store.listWrappedKeys()).filter((r) => r.kekId !== active.id);
      if (stale.length === 0) break;
      const updates: Array<{ ref: WrappedKeyRef; expected: Uint8Array; wrappedKey: Uint8Array; kekId: string }> = [];
      for (const row of stale) {
        const dataKey = await unwrap(row);
        try {
          updates.push({ ref: row.ref, expected: row.wrappedKey, wrappedKey: await active.wrapKey(dataKey, dataKeyAad(row.ref, active.id)), kekId: active.id });
        } finally {
          dataKey.fill(0);
        }
      }
      // INVARIANT: every data key is re-wrapped in one transaction; only wrapped keys are written.
      rewrapped += await store.rewrapKeys(updates);
    }
    const active = await ring.active();
    const remaining = (await store.listWrappedKeys()).filter((r) => r.kekId !== active.id).length;
    return { rewrapped, remaining };
  };

  const keys: KeyAdmin = {
    source: ring.source,
    path: ring.path,
    async rotateKek() {
      if (ring.source === 'file') {
        if (ring.path === undefined) throw new PalisadeError('PAL_SECRETS_KEY_UNAVAILABLE', 'the key ring has no file');
        // The new key reaches the ring file before any data key is wrapped under it, so a running
        // node (which re-reads the file on an unknown KEK id) can always unwrap.
        addActiveKeyToRingFile(ring.path, clock.now());
        await ring.refresh();
      }
      const result = await rewrapAll();
      return { activeKekId: (await ring.active()).id, ...result };
    },
    rewrapAll,
    async retireKek(id) {
      const active = await ring.active();
      if (id === active.id) throw new PalisadeError('PAL_SECRETS_INVALID_STATE', `\`${id}\` is the active key-encryption key; run \`palisade secrets rotate-kek\` first`);
      const outcome = await store.retireKek(id, clock.now());
      if (outcome === 'in-use') {
        const n = (await store.kekUsage())[id] ?? 0;
        throw new PalisadeError('PAL_SECRETS_INVALID_STATE', `\`${id}\` still wraps ${n} data key${n === 1 ? '' : 's'}; run \`palisade secrets rotate-kek\` again, then retire it`);
      }
      const inRing = ring.ids().includes(id);
      if (outcome === 'unknown' && !inRing) throw new PalisadeError('PAL_SECRETS_NOT_FOUND', `no key-encryption key \`${id}\``);
      if (ring.source === 'file' && ring.path !== undefined && inRing) {
        removeKeyFromRingFile(ring.path, id);
        await ring.refresh();
      }
    },
    async status() {
      const active = await ring.active();
      const usage = await store.kekUsage();
      const known = await store.listKeks();
      const ids = new Set([...ring.ids(), ...known.map((k) => k.kekId), ...Object.keys(usage)]);
      return [...ids].map((id) => ({ id, active: id === active.id, inRing: ring.ids().includes(id), wrappedKeys: usage[id] ?? 0, retiredAt: known.find((k) => k.kekId === id)?.retiredAt ?? null }));
    },
  };

  // ---- administration ----
  const after = async <T>(result: T): Promise<T> => {
    await changed();
    return result;
  };
  const admin: VaultAdmin = {
    async setSecret(name, value) {
      await writeVersion(name, value, 'current', true);
      return after(await metadataOf(name));
    },
    async rotateSecret(name, value) {
      await writeVersion(name, value, 'current', false);
      return after(await metadataOf(name));
    },
    async stageVersion(name, value, _stage) {
      await writeVersion(name, value, 'pending', false);
      return metadataOf(name);
    },
    stagePending(name, value) {
      return admin.stageVersion(name, value, 'pending');
    },
    async promotePending(name) {
      assertSecretName(name);
      const outcome = await store.promoteSecretVersion(name, 'pending', clock.now());
      if (outcome === 'no-version') throw new PalisadeError('PAL_SECRETS_NOT_FOUND', `secret \`${name}\` has no pending version`);
      stateError(name, outcome);
      return after(await metadataOf(name));
    },
    async discardPending(name) {
      assertSecretName(name);
      const outcome = await store.discardPendingVersion(name);
      if (outcome === 'no-version') throw new PalisadeError('PAL_SECRETS_NOT_FOUND', `secret \`${name}\` has no pending version`);
      stateError(name, outcome);
      return metadataOf(name);
    },
    async promoteVersion(name, version) {
      assertSecretName(name);
      if (!Number.isSafeInteger(version) || version < 1) throw new PalisadeError('PAL_SECRETS_NOT_FOUND', 'a version is a positive integer');
      const outcome = await store.promoteSecretVersion(name, version, clock.now());
      if (outcome === 'no-version') throw new PalisadeError('PAL_SECRETS_NOT_FOUND', `secret \`${name}\` has no version ${version}`);
      stateError(name, outcome);
      return after(await metadataOf(name));
    },
    async deleteSecret(name, opts = {}) {
      assertSecretName(name);
      const days = opts.recoveryDays ?? 7;
      if (!Number.isFinite(days) || days < 0 || days > 365) throw new PalisadeError('PAL_SECRETS_VALUE_INVALID', 'the recovery window must be 0 to 365 days');
      const now = clock.now();
      const outcome = await store.softDeleteSecret(name, now, now + Math.round(days * DAY_MS));
      if (outcome === 'not-found') throw notFound(name);
      if (outcome === 'deleted') throw new PalisadeError('PAL_SECRETS_INVALID_STATE', `secret \`${name}\` is already deleted`);
      return after(await metadataOf(name));
    },
    async restoreSecret(name) {
      assertSecretName(name);
      const outcome = await store.restoreSecret(name);
      if (outcome === 'not-found') throw notFound(name);
      if (outcome === 'not-deleted') throw new PalisadeError('PAL_SECRETS_INVALID_STATE', `secret \`${name}\` is not deleted`);
      return after(await metadataOf(name));
    },
    async purgeSecret(name, opts = {}) {
      assertSecretName(name);
      const outcome = await store.purgeSecret(name, clock.now(), opts.force === true);
      if (outcome === 'not-found') throw notFound(name);
      if (outcome === 'not-deleted') throw new PalisadeError('PAL_SECRETS_INVALID_STATE', `secret \`${name}\` is not deleted; delete it first (\`palisade secrets delete ${name}\`)`);
      if (outcome === 'in-window') throw new PalisadeError('PAL_SECRETS_INVALID_STATE', `secret \`${name}\` is inside its recovery window; wait, or pass --force to purge it now`);
      await changed();
    },
    async listSecrets() {
      return (await store.listSecretMetadata()).map(toMetadata);
    },
    async listVersions(name) {
      assertSecretName(name);
      return metadataOf(name);
    },
  };

  let closed = false;
  return {
    async readCurrent(name, options) {
      assertSecretName(name);
      const value = await readVersion(name, 'current');
      if (value !== undefined && options?.use !== false) void store.touchSecretRead(name, clock.now()).catch(() => undefined);
      return value;
    },
    onChange(listener) {
      if (closed) throw new PalisadeError('PAL_INTERNAL', 'the vault is closed');
      listeners.add(listener);
      if (timer === undefined) {
        // The baseline: changes from here on are reported.
        void (async () => {
          lastGeneration = await store.generation();
          heads = await snapshot();
        })().catch(() => undefined);
        timer = setInterval(() => void poll(), pollMs);
        timer.unref();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && timer !== undefined) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    },
    kv: kvNamespace,
    admin,
    keys,
    sealedBox,
    async close() {
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      listeners.clear();
      await polling;
      for (const k of sealingKeys.values()) void k.then((b) => b.fill(0)).catch(() => undefined);
      for (const k of namespaces.values()) void k.then((b) => (b.enc.fill(0), b.mac.fill(0))).catch(() => undefined);
      sealingKeys.clear();
      namespaces.clear();
    },
  };
}

function isPalError(error: unknown): error is PalisadeError {
  return error instanceof PalisadeError;
}

function stateError(name: string, outcome: 'ok' | 'not-found' | 'deleted'): void {
  if (outcome === 'not-found') throw notFound(name);
  if (outcome === 'deleted') throw deleted(name);
}

/** Env ring, else the key file, else (for a store that has never had a KEK) a new key file. */
async function resolveRing(options: OpenVaultOptions, clock: Clock): Promise<KeyRing> {
  const where = keyRingLocation({ stateDir: options.stateDir, ...(options.keyFile === undefined ? {} : { keyFile: options.keyFile }), ...(options.env === undefined ? {} : { env: options.env }) });
  if (!where.exists) {
    const known = await options.store.listKeks();
    if (known.length > 0) {
      throw new PalisadeError('PAL_SECRETS_KEY_UNAVAILABLE', `the key ring \`${where.path}\` is missing, but this state store's data keys are wrapped under \`${known[0]?.kekId ?? ''}\`; restore the key ring from its backup (a lost KEK cannot be recovered)`, { expose: true });
    }
    try {
      const id = createKeyRingFile(where.path, clock.now());
      options.onKeyCreated?.(where.path, id);
    } catch (error) {
      // Another process created it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new PalisadeError('PAL_SECRETS_KEY_UNAVAILABLE', `cannot create the key ring \`${where.path}\``, { cause: error, expose: true });
    }
  }
  return loadKeyRing({ stateDir: options.stateDir, ...(options.keyFile === undefined ? {} : { keyFile: options.keyFile }), ...(options.env === undefined ? {} : { env: options.env }) });
}

/**
 * Checks, before anything is decrypted, that the ring holds every KEK the store has wrapped data
 * keys under, and that each known KEK's check value matches.
 */
async function checkRing(store: VaultStore, ring: KeyRing): Promise<void> {
  const usage = await store.kekUsage();
  const known = new Map((await store.listKeks()).map((k) => [k.kekId, k]));
  const missing: string[] = [];
  for (const [id, n] of Object.entries(usage)) {
    if (n === 0) continue;
    if ((await ring.lookup(id)) === undefined) missing.push(id);
  }
  if (missing.length > 0) {
    throw new PalisadeError('PAL_SECRETS_KEY_MISMATCH', `this state store's data keys are wrapped under ${missing.map((m) => `\`${m}\``).join(', ')}, not in the loaded key ring (${ring.ids().map((i) => `\`${i}\``).join(', ')}); load the right master key (a lost KEK cannot be recovered)`, { expose: true });
  }
  for (const id of ring.ids()) {
    const row = known.get(id);
    const provider = await ring.lookup(id);
    if (row !== undefined && provider !== undefined && !constantTimeEqual(Buffer.from(row.check), Buffer.from(provider.checkValue))) {
      throw new PalisadeError('PAL_SECRETS_KEY_MISMATCH', `the key \`${id}\` does not match the check value this state store recorded for it; load the right master key`, { expose: true });
    }
  }
}
