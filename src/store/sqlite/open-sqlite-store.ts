import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { PalisadeError } from '../../kernel/index.js';
import type { AccessTokenRef, ApiKeyRecord, DeploymentRecord, RefreshTokenRecord, SigningKeyRecord, StateStore, UserRecord } from '../ports.js';
import { sqliteMigrations } from './migrations.js';
import { createSqliteVaultStore } from './sqlite-vault-store.js';

/**
 * Opens (creating if needed) the embedded state store at `path`, in WAL mode with
 * `synchronous=FULL`, and runs pending migrations in one transaction each.
 *
 * Throws `PAL_STORE_UNAVAILABLE` when the file cannot be opened or written, and
 * `PAL_STORE_MIGRATION_FAILED` when the database is newer than this version knows.
 *
 * @example
 * ```ts
 * const store = openSqliteStore('/srv/shop/.palisade/state.db');
 * ```
 */
export function openSqliteStore(path: string): StateStore {
  let db: Database.Database;
  try {
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    }
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // Deleted rows (a purged secret, a replaced ciphertext) are overwritten with zeros, not left in free pages.
    db.pragma('secure_delete = ON');
    if (path !== ':memory:') chmodSync(path, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new PalisadeError('PAL_STORE_UNAVAILABLE', `cannot open the state store \`${path}\`${code === '' ? '' : ` (${code.toLowerCase()})`}`, { cause: error, expose: true });
  }
  migrate(db);

  const insert = db.prepare('INSERT INTO deployments (manifest_digest, functions, started_at) VALUES (?, ?, ?)');
  const list = db.prepare('SELECT id, manifest_digest, functions, started_at FROM deployments ORDER BY id DESC LIMIT ?');

  const keyInsert = db.prepare('INSERT INTO api_keys (id, name, secret_digest, roles, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)');
  const keyFind = db.prepare('SELECT * FROM api_keys WHERE id = ?');
  const keyList = db.prepare('SELECT * FROM api_keys ORDER BY created_at, id');
  const keyRevoke = db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const keyTouch = db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?');
  const revInsert = db.prepare('INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)');
  const revActive = db.prepare('SELECT jti FROM revoked_tokens WHERE expires_at > ?');
  const revPrune = db.prepare('DELETE FROM revoked_tokens WHERE expires_at <= ?');
  const cutoffSet = db.prepare('INSERT INTO revocation_cutoff (id, issued_before) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET issued_before = max(issued_before, excluded.issued_before)');
  const cutoffGet = db.prepare('SELECT issued_before FROM revocation_cutoff WHERE id = 1').pluck();
  const certRevoke = db.prepare('INSERT INTO revoked_certificates (id, fingerprint256, issuer, serial, revoked_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING');
  const certList = db.prepare('SELECT fingerprint256, issuer, serial, revoked_at FROM revoked_certificates ORDER BY revoked_at, id');
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  // data_version moves only for other connections' commits; count our own writes too.
  let ownRevocations = 0;

  const userInsert = db.prepare('INSERT INTO users (id, username, password_hash, roles, created_at) VALUES (?, ?, ?, ?, ?)');
  const userByName = db.prepare('SELECT * FROM users WHERE username = ?');
  const userById = db.prepare('SELECT * FROM users WHERE id = ?');
  const userList = db.prepare('SELECT * FROM users ORDER BY username');
  const codeDelete = db.prepare('DELETE FROM recovery_codes WHERE user_id = ?');
  const codeInsert = db.prepare('INSERT INTO recovery_codes (user_id, code_digest) VALUES (?, ?)');
  const codeConsume = db.prepare('UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_digest = ? AND used_at IS NULL');
  // A family with a revoked token takes no new one, in the same statement: a refresh that spent its
  // token before a concurrent reuse or logout revoked the family cannot add a live token after it.
  const rtInsert = db.prepare('INSERT INTO refresh_tokens (digest, family_id, user_id, expires_at, amr, auth_time, access_jti, access_expires_at) SELECT @digest, @familyId, @userId, @expiresAt, @amr, @authTime, @accessJti, @accessExpiresAt WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = @familyId AND revoked_at IS NOT NULL)');
  const rtFind = db.prepare('SELECT * FROM refresh_tokens WHERE digest = ?');
  const rtSpend = db.prepare('UPDATE refresh_tokens SET used_at = ? WHERE digest = ? AND used_at IS NULL AND revoked_at IS NULL');
  // RETURNING hands back, in the same statement, the access tokens to revoke with the family.
  const rtRevokeFamily = db.prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL RETURNING access_jti, access_expires_at');
  const rtRevokeUser = db.prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL RETURNING access_jti, access_expires_at');
  const keyIns = db.prepare('INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at) VALUES (?, ?, ?, ?)');
  const keysAll = db.prepare('SELECT * FROM signing_keys ORDER BY created_at DESC, kid');
  const keyRetire = db.prepare('UPDATE signing_keys SET retired_at = ? WHERE kid = ? AND retired_at IS NULL');
  const lfGet = db.prepare('SELECT failures, locked_until FROM login_failures WHERE username = ?');
  // One statement counts the attempt and sets the lock: concurrent logins cannot both read the
  // old count (the lost-update that let 40 parallel guesses through a limit of 5). In SET, column
  // names are the row's values before the update.
  const lfCount = db.prepare(`
    INSERT INTO login_failures (username, failures, locked_until, updated_at)
    VALUES (@username, 1, CASE WHEN 1 >= @max THEN @now + @lockMs END, @now)
    ON CONFLICT (username) DO UPDATE SET
      failures = CASE WHEN locked_until IS NOT NULL AND locked_until <= @now THEN 1 ELSE failures + 1 END,
      locked_until = CASE
        WHEN locked_until IS NOT NULL AND locked_until > @now THEN locked_until
        WHEN (CASE WHEN locked_until IS NOT NULL AND locked_until <= @now THEN 1 ELSE failures + 1 END) >= @max THEN @now + @lockMs
        ELSE NULL END,
      updated_at = @now
    RETURNING failures, locked_until`);
  const lfPrune = db.prepare('DELETE FROM login_failures WHERE updated_at < ? AND (locked_until IS NULL OR locked_until < ?)');
  const totpReplace = db.prepare('UPDATE users SET totp_secret = ? WHERE id = ? AND totp_secret = ?');
  const jwkReplace = db.prepare('UPDATE signing_keys SET private_jwk = ? WHERE kid = ? AND private_jwk = ?');
  const totpAdvance = db.prepare('UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?');
  const aaGet = db.prepare('SELECT attempts, last_at FROM address_attempts WHERE address = ?');
  const aaSet = db.prepare('INSERT INTO address_attempts (address, attempts, last_at) VALUES (?, ?, ?) ON CONFLICT (address) DO UPDATE SET attempts = excluded.attempts, last_at = excluded.last_at');
  const aaClear = db.prepare('DELETE FROM address_attempts WHERE address = ?');
  const aaPrune = db.prepare('DELETE FROM address_attempts WHERE last_at < ?');
  // Read, decide and write in one IMMEDIATE transaction: it takes the write lock first, so two
  // connections (two processes) cannot interleave between the read and the write.
  const aaCount = db.transaction((address: string, at: number, policy: { freeAttempts: number; windowMs: number; maxDelayMs: number }) => {
    const row = aaGet.get(address) as { attempts: number; last_at: number } | undefined;
    if (row === undefined || at - row.last_at > policy.windowMs) {
      aaSet.run(address, 1, at);
      return { admitted: true, retryAfterMs: 0 };
    }
    if (row.attempts >= policy.freeAttempts) {
      const delay = Math.min(policy.maxDelayMs, 1000 * 2 ** Math.min(row.attempts - policy.freeAttempts, 30));
      const waited = at - row.last_at;
      if (waited < delay) return { admitted: false, retryAfterMs: delay - waited };
    }
    aaSet.run(address, row.attempts + 1, at);
    return { admitted: true, retryAfterMs: 0 };
  });
  const lfClear = db.prepare('DELETE FROM login_failures WHERE username = ?');
  const USER_COLUMNS: Record<string, string> = { passwordHash: 'password_hash', roles: 'roles', disabledAt: 'disabled_at', totpSecret: 'totp_secret', totpLastStep: 'totp_last_step', tokenEpoch: 'token_epoch' };

  return {
    vault: createSqliteVaultStore(db),
    users: {
      async insert(u) {
        userInsert.run(u.id, u.username, u.passwordHash, JSON.stringify(u.roles), u.createdAt);
      },
      async findByUsername(username) {
        const row = userByName.get(username) as UserRow | undefined;
        return row === undefined ? undefined : toUser(row);
      },
      async findById(id) {
        const row = userById.get(id) as UserRow | undefined;
        return row === undefined ? undefined : toUser(row);
      },
      async list() {
        return (userList.all() as UserRow[]).map(toUser);
      },
      async update(id, fields) {
        const entries = Object.entries(fields).filter(([k]) => k in USER_COLUMNS);
        if (entries.length === 0) return;
        const sets = entries.map(([k]) => `${USER_COLUMNS[k] as string} = ?`).join(', ');
        const values = entries.map(([k, v]) => (k === 'roles' ? JSON.stringify(v) : v) as string | number | null);
        db.prepare(`UPDATE users SET ${sets} WHERE id = ?`).run(...values, id);
      },
      async replaceRecoveryCodes(userId, digests) {
        db.transaction(() => {
          codeDelete.run(userId);
          for (const d of digests) codeInsert.run(userId, d);
        })();
      },
      async consumeRecoveryCode(userId, digest, at) {
        return codeConsume.run(at, userId, digest).changes === 1;
      },
      async loginFailures(username) {
        const row = lfGet.get(username) as { failures: number; locked_until: number | null } | undefined;
        return row === undefined ? undefined : { failures: row.failures, lockedUntil: row.locked_until };
      },
      async countLoginAttempt(username, at, policy) {
        const row = lfCount.get({ username, now: at, max: policy.maxFailures, lockMs: policy.lockMs }) as { failures: number; locked_until: number | null };
        return { admitted: row.failures <= policy.maxFailures, failures: row.failures, lockedUntil: row.locked_until };
      },
      async clearLoginFailures(username) {
        lfClear.run(username);
      },
      async pruneLoginFailures(before) {
        return lfPrune.run(before, before).changes;
      },
      async replaceTotpSecret(userId, expected, next) {
        return totpReplace.run(next, userId, expected).changes === 1;
      },
      async advanceTotpStep(userId, step) {
        return totpAdvance.run(step, userId, step).changes === 1;
      },
    },
    loginThrottle: {
      async countAttempt(address, at, policy) {
        return aaCount.immediate(address, at, policy);
      },
      async clear(address) {
        aaClear.run(address);
      },
      async prune(before) {
        return aaPrune.run(before).changes;
      },
    },
    certificateRevocations: {
      async revoke(entry, at) {
        const fp = entry.fingerprint256 === undefined ? null : normaliseHex(entry.fingerprint256);
        const serial = entry.serial === undefined ? null : normaliseHex(entry.serial);
        const issuer = entry.issuer ?? null;
        certRevoke.run(fp !== null ? `fp:${fp}` : `is:${serial ?? ''}:${issuer ?? ''}`, fp, issuer, serial, at);
        ownRevocations++;
      },
      async list() {
        return (certList.all() as Array<{ fingerprint256: string | null; issuer: string | null; serial: string | null; revoked_at: number }>).map((r) =>
          r.fingerprint256 !== null ? { fingerprint256: r.fingerprint256, revokedAt: r.revoked_at } : { issuer: r.issuer ?? '', serial: r.serial ?? '', revokedAt: r.revoked_at },
        );
      },
    },
    refreshTokens: {
      async insert(r) {
        return rtInsert.run({ digest: r.digest, familyId: r.familyId, userId: r.userId, expiresAt: r.expiresAt, amr: JSON.stringify(r.amr), authTime: r.authTime, accessJti: r.accessJti, accessExpiresAt: r.accessExpiresAt }).changes === 1;
      },
      async find(digest) {
        const row = rtFind.get(digest) as RefreshRow | undefined;
        return row === undefined ? undefined : { digest: row.digest, familyId: row.family_id, userId: row.user_id, expiresAt: row.expires_at, usedAt: row.used_at, revokedAt: row.revoked_at, amr: JSON.parse(row.amr) as string[], authTime: row.auth_time, accessJti: row.access_jti, accessExpiresAt: row.access_expires_at } satisfies RefreshTokenRecord;
      },
      async spend(digest, at) {
        return rtSpend.run(at, digest).changes === 1;
      },
      async revokeFamily(familyId, at) {
        return accessRefs(rtRevokeFamily.all(at, familyId));
      },
      async revokeUser(userId, at) {
        return accessRefs(rtRevokeUser.all(at, userId));
      },
    },
    signingKeys: {
      async insert(k) {
        keyIns.run(k.kid, k.privateJwk, k.publicJwk, k.createdAt);
      },
      async list() {
        return (keysAll.all() as Array<{ kid: string; private_jwk: string; public_jwk: string; created_at: number; retired_at: number | null }>).map((r) => ({ kid: r.kid, privateJwk: r.private_jwk, publicJwk: r.public_jwk, createdAt: r.created_at, retiredAt: r.retired_at }) satisfies SigningKeyRecord);
      },
      async retire(kid, at) {
        keyRetire.run(at, kid);
      },
      async replacePrivateJwk(kid, expected, next) {
        return jwkReplace.run(next, kid, expected).changes === 1;
      },
    },
    apiKeys: {
      async insert(r) {
        keyInsert.run(r.id, r.name, r.secretDigest, JSON.stringify(r.roles), r.createdAt, r.expiresAt);
      },
      async find(id) {
        const row = keyFind.get(id) as ApiKeyRow | undefined;
        return row === undefined ? undefined : toApiKey(row);
      },
      async list() {
        return (keyList.all() as ApiKeyRow[]).map(toApiKey);
      },
      async revoke(id, at) {
        return keyRevoke.run(at, id).changes === 1;
      },
      async touch(id, at) {
        keyTouch.run(at, id);
      },
    },
    revocations: {
      async revoke(jti, expiresAt) {
        revInsert.run(jti, expiresAt);
        ownRevocations++;
      },
      async listActive(now) {
        return (revActive.all(now) as Array<{ jti: string }>).map((r) => r.jti);
      },
      async prune(now) {
        return revPrune.run(now).changes;
      },
      async revokeIssuedBefore(at) {
        cutoffSet.run(at);
        ownRevocations++;
      },
      async issuedBefore() {
        return (cutoffGet.get() as number | undefined) ?? 0;
      },
      changeCounter() {
        return `${String(dataVersion.get())}:${ownRevocations}`;
      },
    },
    deployments: {
      async recordDeployment(input) {
        const info = insert.run(input.manifestDigest, JSON.stringify(input.functions), input.startedAt);
        return { id: Number(info.lastInsertRowid), ...input };
      },
      async listDeployments(limit) {
        const rows = list.all(limit) as Array<{ id: number; manifest_digest: string; functions: string; started_at: number }>;
        return rows.map<DeploymentRecord>((r) => ({ id: r.id, manifestDigest: r.manifest_digest, functions: JSON.parse(r.functions) as string[], startedAt: r.started_at }));
      },
    },
    async schemaVersion() {
      return currentVersion(db);
    },
    async close() {
      db.close();
    },
  };
}

interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  roles: string;
  created_at: number;
  disabled_at: number | null;
  totp_secret: string | null;
  totp_last_step: number;
  // failed_logins and locked_until (schema 3) are unused since schema 4's login_failures.
  token_epoch: number;
}

interface RefreshRow {
  digest: string;
  family_id: string;
  user_id: string;
  expires_at: number;
  used_at: number | null;
  revoked_at: number | null;
  amr: string;
  auth_time: number;
  access_jti: string | null;
  access_expires_at: number | null;
}

function accessRefs(rows: unknown[]): AccessTokenRef[] {
  return (rows as Array<{ access_jti: string | null; access_expires_at: number | null }>).flatMap((r) => (r.access_jti === null || r.access_expires_at === null ? [] : [{ jti: r.access_jti, expiresAt: r.access_expires_at }]));
}

function normaliseHex(value: string): string {
  return value.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
}

function toUser(r: UserRow): UserRecord {
  return { id: r.id, username: r.username, passwordHash: r.password_hash, roles: JSON.parse(r.roles) as string[], createdAt: r.created_at, disabledAt: r.disabled_at, totpSecret: r.totp_secret, totpLastStep: r.totp_last_step, tokenEpoch: r.token_epoch };
}

interface ApiKeyRow {
  id: string;
  name: string;
  secret_digest: string;
  roles: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

function toApiKey(r: ApiKeyRow): ApiKeyRecord {
  return { id: r.id, name: r.name, secretDigest: r.secret_digest, roles: JSON.parse(r.roles) as string[], createdAt: r.created_at, expiresAt: r.expires_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at };
}

function currentVersion(db: Database.Database): number {
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

function migrate(db: Database.Database): void {
  try {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const current = currentVersion(db);
    const latest = sqliteMigrations.at(-1)?.version ?? 0;
    if (current > latest) {
      throw new PalisadeError('PAL_STORE_MIGRATION_FAILED', `the state store is at schema ${current}, newer than this palisade knows (${latest})`, { expose: true });
    }
    for (const m of sqliteMigrations) {
      if (m.version <= current) continue;
      db.transaction(() => {
        db.exec(m.sql);
        db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, Date.now());
      })();
    }
  } catch (error) {
    if (error instanceof PalisadeError) throw error;
    const code = (error as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_PERM') {
      throw new PalisadeError('PAL_STORE_UNAVAILABLE', 'the state store is not writable', { cause: error, expose: true });
    }
    throw new PalisadeError('PAL_STORE_MIGRATION_FAILED', 'the state store schema could not be migrated', { cause: error, expose: true });
  }
}
