import type Database from 'better-sqlite3';
import type { KekRow, SecretMetadataRow, SecretStage, SecretVersionRow, SecretWriteOutcome, VaultStore, WrappedKeyRef, WrappedKeyRow } from '../ports.js';

interface VersionRow {
  name: string;
  version: number;
  stage: SecretStage | null;
  ciphertext: Buffer;
  wrapped_key: Buffer;
  kek_id: string;
  created_at: number;
}

interface SecretRow {
  name: string;
  created_at: number;
  next_version: number;
  last_read_at: number | null;
  last_rotated_at: number | null;
  deleted_at: number | null;
  purge_after: number | null;
}

const READ_TOUCH_MS = 60_000;

/**
 * The vault's tables in the SQLite state store. Every state change runs in one IMMEDIATE
 * transaction (the write lock is taken before the first read), so two processes cannot
 * interleave between a check and its write, and bumps `vault_generation` in the same transaction.
 */
export function createSqliteVaultStore(db: Database.Database): VaultStore {
  const bump = db.prepare('UPDATE vault_generation SET generation = generation + 1 WHERE id = 1');
  const generation = db.prepare('SELECT generation FROM vault_generation WHERE id = 1').pluck();
  const secretGet = db.prepare('SELECT * FROM secrets WHERE name = ?');
  const secretInsert = db.prepare('INSERT INTO secrets (name, created_at, next_version) VALUES (?, ?, 1) ON CONFLICT (name) DO NOTHING');
  const secretAllocate = db.prepare('UPDATE secrets SET next_version = next_version + 1 WHERE name = ? AND deleted_at IS NULL RETURNING next_version - 1 AS version');
  const versionInStage = db.prepare('SELECT * FROM secret_versions WHERE name = ? AND stage = ?');
  const versionGet = db.prepare('SELECT * FROM secret_versions WHERE name = ? AND version = ?');
  const setStage = db.prepare('UPDATE secret_versions SET stage = ? WHERE name = ? AND version = ?');
  const clearStage = db.prepare('UPDATE secret_versions SET stage = NULL WHERE name = ? AND stage = ?');
  const versionInsert = db.prepare('INSERT INTO secret_versions (name, version, stage, ciphertext, wrapped_key, kek_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const versionDelete = db.prepare('DELETE FROM secret_versions WHERE name = ? AND version = ?');
  const rotated = db.prepare('UPDATE secrets SET last_rotated_at = ? WHERE name = ?');
  const touch = db.prepare('UPDATE secrets SET last_read_at = ? WHERE name = ? AND (last_read_at IS NULL OR last_read_at < ?)');
  const versionsOf = db.prepare('SELECT version, stage, created_at, kek_id FROM secret_versions WHERE name = ? ORDER BY version');
  const secretsAll = db.prepare('SELECT * FROM secrets ORDER BY name');
  const softDelete = db.prepare('UPDATE secrets SET deleted_at = ?, purge_after = ? WHERE name = ? AND deleted_at IS NULL');
  const restore = db.prepare('UPDATE secrets SET deleted_at = NULL, purge_after = NULL WHERE name = ? AND deleted_at IS NOT NULL');
  const purgeVersions = db.prepare('DELETE FROM secret_versions WHERE name = ?');
  const purge = db.prepare('DELETE FROM secrets WHERE name = ?');
  const heads = db.prepare("SELECT s.name AS name, v.version AS current, s.deleted_at AS deleted_at FROM secrets s LEFT JOIN secret_versions v ON v.name = s.name AND v.stage = 'current' ORDER BY s.name");

  // INVARIANT: due check, lease check and claim are one statement, so one caller wins a race.
  const claimRotation = db.prepare(
    'UPDATE secrets SET rotation_claimed_until = ? WHERE name = ? AND deleted_at IS NULL AND COALESCE(last_rotated_at, created_at) <= ? AND (rotation_claimed_until IS NULL OR rotation_claimed_until < ?) RETURNING name',
  );
  const releaseRotation = db.prepare('UPDATE secrets SET rotation_claimed_until = NULL WHERE name = ?');

  const kekInsert = db.prepare('INSERT INTO vault_keks (kek_id, check_value, created_at) VALUES (?, ?, ?) ON CONFLICT (kek_id) DO UPDATE SET retired_at = NULL');
  const kekAll = db.prepare('SELECT * FROM vault_keks ORDER BY created_at, kek_id');
  const kekGet = db.prepare('SELECT * FROM vault_keks WHERE kek_id = ?');
  const kekRetire = db.prepare('UPDATE vault_keks SET retired_at = ? WHERE kek_id = ?');
  const usage = db.prepare(`
    SELECT kek_id, COUNT(*) AS n FROM (
      SELECT kek_id FROM secret_versions UNION ALL SELECT kek_id FROM kv_namespaces UNION ALL SELECT kek_id FROM vault_sealing_keys
    ) GROUP BY kek_id`);
  const wrappedSecrets = db.prepare('SELECT name, version, wrapped_key, kek_id FROM secret_versions');
  const wrappedKv = db.prepare('SELECT function_name, wrapped_key, kek_id FROM kv_namespaces');
  const wrappedSealing = db.prepare('SELECT purpose, wrapped_key, kek_id FROM vault_sealing_keys');
  const rewrapSecret = db.prepare('UPDATE secret_versions SET wrapped_key = ?, kek_id = ? WHERE name = ? AND version = ? AND wrapped_key = ?');
  const rewrapKv = db.prepare('UPDATE kv_namespaces SET wrapped_key = ?, kek_id = ? WHERE function_name = ? AND wrapped_key = ?');
  const rewrapSealing = db.prepare('UPDATE vault_sealing_keys SET wrapped_key = ?, kek_id = ? WHERE purpose = ? AND wrapped_key = ?');

  const kvKeyGet = db.prepare('SELECT function_name, wrapped_key, kek_id FROM kv_namespaces WHERE function_name = ?');
  const kvKeyInsert = db.prepare('INSERT INTO kv_namespaces (function_name, wrapped_key, kek_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (function_name) DO NOTHING');
  const kvGet = db.prepare('SELECT value_ciphertext FROM kv_entries WHERE function_name = ? AND key_mac = ?').pluck();
  const kvPut = db.prepare('INSERT INTO kv_entries (function_name, key_mac, name_ciphertext, value_ciphertext, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (function_name, key_mac) DO UPDATE SET name_ciphertext = excluded.name_ciphertext, value_ciphertext = excluded.value_ciphertext, updated_at = excluded.updated_at');
  const kvDelete = db.prepare('DELETE FROM kv_entries WHERE function_name = ? AND key_mac = ?');
  const kvNames = db.prepare('SELECT key_mac, name_ciphertext FROM kv_entries WHERE function_name = ?');
  const sealGet = db.prepare('SELECT purpose, wrapped_key, kek_id FROM vault_sealing_keys WHERE purpose = ?');
  const sealInsert = db.prepare('INSERT INTO vault_sealing_keys (purpose, wrapped_key, kek_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (purpose) DO NOTHING');

  const liveState = (name: string): SecretWriteOutcome => {
    const row = secretGet.get(name) as SecretRow | undefined;
    return row === undefined ? 'not-found' : row.deleted_at !== null ? 'deleted' : 'ok';
  };

  const allocate = db.transaction((name: string, at: number, create: boolean) => {
    if (create) secretInsert.run(name, at);
    const row = secretAllocate.get(name) as { version: number } | undefined;
    if (row === undefined) return { outcome: liveState(name), version: 0 };
    return { outcome: 'ok' as const, version: row.version };
  });

  const insertVersion = db.transaction((row: Omit<SecretVersionRow, 'stage'> & { stage: 'current' | 'pending' }): SecretWriteOutcome => {
    const state = liveState(row.name);
    if (state !== 'ok') return state;
    if (row.stage === 'current') {
      clearStage.run(row.name, 'previous');
      const current = versionInStage.get(row.name, 'current') as VersionRow | undefined;
      if (current !== undefined) setStage.run('previous', row.name, current.version);
      rotated.run(row.createdAt, row.name);
    } else {
      // A new pending version replaces the one staged before: its value is not kept.
      const pending = versionInStage.get(row.name, 'pending') as VersionRow | undefined;
      if (pending !== undefined) versionDelete.run(row.name, pending.version);
    }
    versionInsert.run(row.name, row.version, row.stage, row.ciphertext, row.wrappedKey, row.kekId, row.createdAt);
    bump.run();
    return 'ok';
  });

  const promote = db.transaction((name: string, version: number | 'pending', at: number): SecretWriteOutcome | 'no-version' => {
    const state = liveState(name);
    if (state !== 'ok') return state;
    const target = (version === 'pending' ? versionInStage.get(name, 'pending') : versionGet.get(name, version)) as VersionRow | undefined;
    if (target === undefined) return 'no-version';
    if (target.stage === 'current') return 'ok';
    const current = versionInStage.get(name, 'current') as VersionRow | undefined;
    // The version being promoted leaves its stage first (the unique index holds one row per stage).
    setStage.run(null, name, target.version);
    clearStage.run(name, 'previous');
    if (current !== undefined) setStage.run('previous', name, current.version);
    setStage.run('current', name, target.version);
    rotated.run(at, name);
    bump.run();
    return 'ok';
  });

  const discard = db.transaction((name: string): SecretWriteOutcome | 'no-version' => {
    const state = liveState(name);
    if (state !== 'ok') return state;
    const pending = versionInStage.get(name, 'pending') as VersionRow | undefined;
    if (pending === undefined) return 'no-version';
    versionDelete.run(name, pending.version);
    bump.run();
    return 'ok';
  });

  const del = db.transaction((name: string, at: number, purgeAfter: number): SecretWriteOutcome => {
    const state = liveState(name);
    if (state !== 'ok') return state;
    softDelete.run(at, purgeAfter, name);
    bump.run();
    return 'ok';
  });

  const undelete = db.transaction((name: string): SecretWriteOutcome | 'not-deleted' => {
    const state = liveState(name);
    if (state === 'not-found') return state;
    if (state === 'ok') return 'not-deleted';
    restore.run(name);
    bump.run();
    return 'ok';
  });

  const purgeTx = db.transaction((name: string, at: number, force: boolean): 'purged' | 'not-found' | 'not-deleted' | 'in-window' => {
    const row = secretGet.get(name) as SecretRow | undefined;
    if (row === undefined) return 'not-found';
    if (row.deleted_at === null) return 'not-deleted';
    if (!force && (row.purge_after ?? 0) > at) return 'in-window';
    purgeVersions.run(name);
    purge.run(name);
    bump.run();
    return 'purged';
  });

  const retire = db.transaction((kekId: string, at: number): 'retired' | 'in-use' | 'unknown' => {
    if (kekGet.get(kekId) === undefined) return 'unknown';
    const used = (usage.all() as Array<{ kek_id: string; n: number }>).find((u) => u.kek_id === kekId);
    if (used !== undefined && used.n > 0) return 'in-use';
    kekRetire.run(at, kekId);
    return 'retired';
  });

  const rewrap = db.transaction((updates: ReadonlyArray<{ ref: WrappedKeyRef; expected: Uint8Array; wrappedKey: Uint8Array; kekId: string }>) => {
    let changed = 0;
    for (const u of updates) {
      const r = u.ref;
      const info =
        r.kind === 'secret'
          ? rewrapSecret.run(u.wrappedKey, u.kekId, r.name, r.version, u.expected)
          : r.kind === 'kv'
            ? rewrapKv.run(u.wrappedKey, u.kekId, r.fn, u.expected)
            : rewrapSealing.run(u.wrappedKey, u.kekId, r.purpose, u.expected);
      changed += info.changes;
    }
    return changed;
  });

  const createKv = db.transaction((fn: string, wrappedKey: Uint8Array, kekId: string, at: number): WrappedKeyRow => {
    kvKeyInsert.run(fn, wrappedKey, kekId, at);
    return toKvKey(kvKeyGet.get(fn) as { function_name: string; wrapped_key: Buffer; kek_id: string });
  });
  const createSealing = db.transaction((purpose: string, wrappedKey: Uint8Array, kekId: string, at: number): WrappedKeyRow => {
    sealInsert.run(purpose, wrappedKey, kekId, at);
    return toSealingKey(sealGet.get(purpose) as { purpose: string; wrapped_key: Buffer; kek_id: string });
  });

  const metadata = (row: SecretRow): SecretMetadataRow => ({
    name: row.name,
    createdAt: row.created_at,
    lastReadAt: row.last_read_at,
    lastRotatedAt: row.last_rotated_at,
    deletedAt: row.deleted_at,
    purgeAfter: row.purge_after,
    versions: (versionsOf.all(row.name) as Array<{ version: number; stage: SecretStage | null; created_at: number; kek_id: string }>).map((v) => ({ version: v.version, stage: v.stage, createdAt: v.created_at, kekId: v.kek_id })),
  });

  return {
    async registerKek(kekId, check, at) {
      kekInsert.run(kekId, check, at);
    },
    async listKeks() {
      return (kekAll.all() as Array<{ kek_id: string; check_value: Buffer; created_at: number; retired_at: number | null }>).map((r): KekRow => ({ kekId: r.kek_id, check: new Uint8Array(r.check_value), createdAt: r.created_at, retiredAt: r.retired_at }));
    },
    async kekUsage() {
      return Object.fromEntries((usage.all() as Array<{ kek_id: string; n: number }>).map((u) => [u.kek_id, u.n]));
    },
    async retireKek(kekId, at) {
      return retire.immediate(kekId, at);
    },
    async listWrappedKeys() {
      const out: WrappedKeyRow[] = [];
      for (const r of wrappedSecrets.all() as Array<{ name: string; version: number; wrapped_key: Buffer; kek_id: string }>) out.push({ ref: { kind: 'secret', name: r.name, version: r.version }, wrappedKey: new Uint8Array(r.wrapped_key), kekId: r.kek_id });
      for (const r of wrappedKv.all() as Array<{ function_name: string; wrapped_key: Buffer; kek_id: string }>) out.push(toKvKey(r));
      for (const r of wrappedSealing.all() as Array<{ purpose: string; wrapped_key: Buffer; kek_id: string }>) out.push(toSealingKey(r));
      return out;
    },
    async rewrapKeys(updates) {
      return rewrap.immediate(updates);
    },
    async allocateSecretVersion(name, at, create) {
      return allocate.immediate(name, at, create);
    },
    async insertSecretVersion(row) {
      return insertVersion.immediate(row);
    },
    async promoteSecretVersion(name, version, at) {
      return promote.immediate(name, version, at);
    },
    async discardPendingVersion(name) {
      return discard.immediate(name);
    },
    async readSecretVersion(name, stage = 'current') {
      const secret = secretGet.get(name) as SecretRow | undefined;
      if (secret === undefined || secret.deleted_at !== null) return undefined;
      const row = versionInStage.get(name, stage) as VersionRow | undefined;
      return row === undefined ? undefined : toVersion(row);
    },
    async touchSecretRead(name, at) {
      touch.run(at, name, at - READ_TOUCH_MS);
    },
    async secretMetadata(name) {
      const row = secretGet.get(name) as SecretRow | undefined;
      return row === undefined ? undefined : metadata(row);
    },
    async listSecretMetadata() {
      return (secretsAll.all() as SecretRow[]).map(metadata);
    },
    async softDeleteSecret(name, at, purgeAfter) {
      return del.immediate(name, at, purgeAfter);
    },
    async restoreSecret(name) {
      return undelete.immediate(name);
    },
    async purgeSecret(name, at, force) {
      return purgeTx.immediate(name, at, force);
    },
    async secretHeads() {
      return (heads.all() as Array<{ name: string; current: number | null; deleted_at: number | null }>).map((h) => ({ name: h.name, current: h.current, deletedAt: h.deleted_at }));
    },
    async generation() {
      return generation.get() as number;
    },
    async claimSecretRotation(name, at, everyMs, leaseMs) {
      return claimRotation.get(at + leaseMs, name, at - everyMs, at) !== undefined;
    },
    async releaseSecretRotation(name) {
      releaseRotation.run(name);
    },
    async readKvKey(fn) {
      const row = kvKeyGet.get(fn) as { function_name: string; wrapped_key: Buffer; kek_id: string } | undefined;
      return row === undefined ? undefined : toKvKey(row);
    },
    async createKvKey(fn, wrappedKey, kekId, at) {
      return createKv.immediate(fn, wrappedKey, kekId, at);
    },
    async kvGet(fn, keyMac) {
      const value = kvGet.get(fn, keyMac) as Buffer | undefined;
      return value === undefined ? undefined : new Uint8Array(value);
    },
    async kvPut(fn, keyMac, nameCiphertext, valueCiphertext, at) {
      kvPut.run(fn, keyMac, nameCiphertext, valueCiphertext, at);
    },
    async kvDelete(fn, keyMac) {
      kvDelete.run(fn, keyMac);
    },
    async kvListNames(fn) {
      return (kvNames.all(fn) as Array<{ key_mac: Buffer; name_ciphertext: Buffer }>).map((r) => ({ keyMac: new Uint8Array(r.key_mac), nameCiphertext: new Uint8Array(r.name_ciphertext) }));
    },
    async readSealingKey(purpose) {
      const row = sealGet.get(purpose) as { purpose: string; wrapped_key: Buffer; kek_id: string } | undefined;
      return row === undefined ? undefined : toSealingKey(row);
    },
    async createSealingKey(purpose, wrappedKey, kekId, at) {
      return createSealing.immediate(purpose, wrappedKey, kekId, at);
    },
  };
}

function toVersion(r: VersionRow): SecretVersionRow {
  return { name: r.name, version: r.version, stage: r.stage, ciphertext: new Uint8Array(r.ciphertext), wrappedKey: new Uint8Array(r.wrapped_key), kekId: r.kek_id, createdAt: r.created_at };
}

function toKvKey(r: { function_name: string; wrapped_key: Buffer; kek_id: string }): WrappedKeyRow {
  return { ref: { kind: 'kv', fn: r.function_name }, wrappedKey: new Uint8Array(r.wrapped_key), kekId: r.kek_id };
}

function toSealingKey(r: { purpose: string; wrapped_key: Buffer; kek_id: string }): WrappedKeyRow {
  return { ref: { kind: 'sealing', purpose: r.purpose }, wrappedKey: new Uint8Array(r.wrapped_key), kekId: r.kek_id };
}
