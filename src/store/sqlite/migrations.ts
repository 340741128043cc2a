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
]);
