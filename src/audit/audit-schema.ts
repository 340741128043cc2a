import type Database from 'better-sqlite3';

/**
 * The audit database's tables. `audit_events.event` is the canonical JSON (RFC 8785) the hash
 * covers; `time`, `actor`, `action` and `decision` are copies for indexed search only and are
 * not trusted by verification.
 */
export const AUDIT_SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS audit_events (
  seq INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  actor TEXT,
  action TEXT NOT NULL,
  decision TEXT NOT NULL,
  event TEXT NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events (time);
CREATE INDEX IF NOT EXISTS audit_events_actor ON audit_events (actor, time);
CREATE INDEX IF NOT EXISTS audit_events_action ON audit_events (action, time);
CREATE INDEX IF NOT EXISTS audit_events_decision ON audit_events (decision, time);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
  id INTEGER PRIMARY KEY,
  tree_size INTEGER NOT NULL,
  statement TEXT NOT NULL,
  signature TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS audit_sink_cursors (sink TEXT PRIMARY KEY, delivered_seq INTEGER NOT NULL) STRICT;
`;

/** File name of the audit database under the state directory. */
export const AUDIT_DB_FILE = 'audit.db';

/** Applies WAL and the durability level, then the schema. */
export function prepareAuditDatabase(db: Database.Database, synchronous: 'FULL' | 'NORMAL'): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma('busy_timeout = 5000');
  db.exec(AUDIT_SCHEMA);
}
