/**
 * Versioned schema migrations for SQLite. Append only: a released migration is never edited.
 */
export const sqliteMigrations: ReadonlyArray<{ readonly version: number; readonly sql: string }> = Object.freeze([
  {
    version: 1,
    sql: `
      CREATE TABLE deployments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        manifest_digest TEXT NOT NULL CHECK (length(manifest_digest) = 64),
        functions TEXT NOT NULL,
        started_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    sql: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        secret_digest TEXT NOT NULL CHECK (length(secret_digest) = 64),
        roles TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        last_used_at INTEGER,
        revoked_at INTEGER
      );
      CREATE TABLE revoked_tokens (
        jti TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 3,
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        roles TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        disabled_at INTEGER,
        totp_secret TEXT,
        totp_last_step INTEGER NOT NULL DEFAULT 0,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER,
        token_epoch INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE recovery_codes (
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        code_digest TEXT NOT NULL,
        used_at INTEGER,
        PRIMARY KEY (user_id, code_digest)
      );
      CREATE TABLE refresh_tokens (
        digest TEXT PRIMARY KEY,
        family_id TEXT NOT NULL,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        revoked_at INTEGER,
        amr TEXT NOT NULL,
        auth_time INTEGER NOT NULL
      );
      CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        private_jwk TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        retired_at INTEGER
      );
    `,
  },
  {
    version: 4,
    sql: `
      CREATE TABLE login_failures (
        username TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        locked_until INTEGER,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX login_failures_updated ON login_failures (updated_at);
    `,
  },
  {
    version: 5,
    sql: `
      CREATE TABLE address_attempts (
        address TEXT PRIMARY KEY,
        attempts INTEGER NOT NULL,
        last_at INTEGER NOT NULL
      );
      CREATE INDEX address_attempts_last ON address_attempts (last_at);
      ALTER TABLE refresh_tokens ADD COLUMN access_jti TEXT;
      ALTER TABLE refresh_tokens ADD COLUMN access_expires_at INTEGER;
      CREATE TABLE revocation_cutoff (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        issued_before INTEGER NOT NULL
      );
      CREATE TABLE revoked_certificates (
        id TEXT PRIMARY KEY,
        fingerprint256 TEXT,
        issuer TEXT,
        serial TEXT,
        revoked_at INTEGER NOT NULL,
        CHECK (fingerprint256 IS NOT NULL OR (issuer IS NOT NULL AND serial IS NOT NULL))
      );
    `,
  },
  {
    // The secrets vault: only ciphertext, wrapped data keys, names and metadata (docs/secrets.md).
    version: 6,
    sql: `
      CREATE TABLE vault_keks (
        kek_id TEXT PRIMARY KEY,
        check_value BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        retired_at INTEGER
      );
      CREATE TABLE vault_generation (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        generation INTEGER NOT NULL
      );
      INSERT INTO vault_generation (id, generation) VALUES (1, 0);
      CREATE TABLE secrets (
        name TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        next_version INTEGER NOT NULL DEFAULT 1,
        last_read_at INTEGER,
        last_rotated_at INTEGER,
        deleted_at INTEGER,
        purge_after INTEGER
      );
      CREATE TABLE secret_versions (
        name TEXT NOT NULL REFERENCES secrets (name) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        stage TEXT CHECK (stage IN ('pending', 'current', 'previous')),
        ciphertext BLOB NOT NULL,
        wrapped_key BLOB NOT NULL,
        kek_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (name, version)
      );
      CREATE UNIQUE INDEX secret_versions_stage ON secret_versions (name, stage) WHERE stage IS NOT NULL;
      CREATE INDEX secret_versions_kek ON secret_versions (kek_id);
      CREATE TABLE kv_namespaces (
        function_name TEXT PRIMARY KEY,
        wrapped_key BLOB NOT NULL,
        kek_id TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE kv_entries (
        function_name TEXT NOT NULL,
        key_mac BLOB NOT NULL,
        name_ciphertext BLOB NOT NULL,
        value_ciphertext BLOB NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (function_name, key_mac)
      );
      CREATE TABLE vault_sealing_keys (
        purpose TEXT PRIMARY KEY,
        wrapped_key BLOB NOT NULL,
        kek_id TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
    `,
  },
  {
    // Scheduled secret rotation: a lease so that one node (and one tick) rotates a secret at a time.
    version: 7,
    sql: `
      ALTER TABLE secrets ADD COLUMN rotation_claimed_until INTEGER;
    `,
  },
]);
