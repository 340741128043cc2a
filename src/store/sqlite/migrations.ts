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
]);
