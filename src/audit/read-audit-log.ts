import { parseCheckpoint } from './checkpoint.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PalisadeError } from '../kernel/index.js';
import { AUDIT_PUBLIC_KEY_FILE, loadAuditKeyFile, type AuditKeyFile } from './audit-keys.js';
import { AUDIT_DB_FILE } from './audit-schema.js';
import type { CheckpointStatement, SignedCheckpoint } from './checkpoint.js';
import { verifyAuditChain, type AuditRow, type VerifyReport } from './verify-audit-chain.js';

/**
 * Opens `stateDir/audit.db` read-only (never creating it). Throws `PAL_AUDIT_NOT_FOUND` when
 * there is no log.
 */
export function openAuditDatabaseReadOnly(stateDir: string): Database.Database {
  const path = join(stateDir, AUDIT_DB_FILE);
  if (!existsSync(path)) throw new PalisadeError('PAL_AUDIT_NOT_FOUND', `no audit log at \`${path}\``, { expose: true });
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    return db;
  } catch (error) {
    throw new PalisadeError('PAL_AUDIT_NOT_FOUND', `cannot open the audit log \`${path}\``, { cause: error, expose: true });
  }
}

/** Reads checkpoints from a witness file (one JSON object per line); malformed lines are kept as malformed checkpoints. */
export function readWitnessFile(path: string): SignedCheckpoint[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PalisadeError('PAL_AUDIT_NOT_FOUND', `cannot read the witness file \`${path}\``, { cause: error, expose: true });
  }
  return text.split('\n').filter((l) => l.trim() !== '').map((line) => {
    try {
      const v = JSON.parse(line) as { statement?: unknown; signature?: unknown };
      return { statement: typeof v.statement === 'string' ? v.statement : '', signature: typeof v.signature === 'string' ? v.signature : '' };
    } catch {
      return { statement: '', signature: '' };
    }
  });
}

function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

function* iterateRows(db: Database.Database): Generator<AuditRow> {
  // A log whose tables are gone (for example with its -wal file deleted) verifies as empty.
  if (!hasTable(db, 'audit_events')) return;
  for (const [seq, event, prevHash, hash, time, actor, action, decision] of db.prepare('SELECT seq, event, prev_hash, hash, time, actor, action, decision FROM audit_events ORDER BY seq').raw().iterate() as IterableIterator<[number, string, Buffer, Buffer, unknown, unknown, unknown, unknown]>) {
    yield { seq, event, prevHash, hash, columns: { time, actor, action, decision } };
  }
}

/** Checkpoints stored in the log, in insertion order. */
export function readStoredCheckpoints(db: Database.Database): SignedCheckpoint[] {
  if (!hasTable(db, 'audit_checkpoints')) return [];
  return (db.prepare('SELECT statement, signature FROM audit_checkpoints ORDER BY id').all() as { statement: string; signature: string }[]).map((r) => ({ statement: r.statement, signature: r.signature }));
}

/** Options of {@link verifyAuditLog}. */
export interface VerifyAuditLogOptions {
  /** The `.palisade/` directory holding `audit.db`. */
  readonly stateDir: string;
  /** The exported key file; default `stateDir/audit.pub`. Never read from the database. */
  readonly keyFile?: string;
  readonly witnessPath?: string;
}

/**
 * Verifies the audit log on disk with the exported key file and, when given, a witness copy.
 *
 * @example
 * ```ts
 * const report = verifyAuditLog({ stateDir: 'shop/.palisade', witnessPath: '/mnt/worm/audit.witness' });
 * ```
 */
export function verifyAuditLog(options: VerifyAuditLogOptions): VerifyReport & { readonly keyFile: string } {
  const keyFile = options.keyFile ?? join(options.stateDir, AUDIT_PUBLIC_KEY_FILE);
  const keys: AuditKeyFile = loadAuditKeyFile(keyFile);
  const witness = options.witnessPath === undefined ? [] : readWitnessFile(options.witnessPath);
  const db = openAuditDatabaseReadOnly(options.stateDir);
  try {
    // One read transaction: rows and checkpoints come from the same snapshot.
    const report = db.transaction(() => verifyAuditChain({ rows: iterateRows(db), checkpoints: readStoredCheckpoints(db), witness, keys }))();
    if (!report.ok) return { ...report, keyFile };
    // The chain holds; the file's own structure must too (an index that lost rows would make a
    // search miss them).
    const problems = db.pragma('integrity_check', { simple: false }) as Array<{ integrity_check: string }>;
    const first = problems[0]?.integrity_check ?? 'ok';
    if (first !== 'ok') return { ok: false, size: report.size, seq: 1, reason: 'unreadable', detail: `the database file is damaged: ${first.slice(0, 300)}`, keyFile };
    // A checkpoint's size column must be the size its signed statement names.
    const bad = hasTable(db, 'audit_checkpoints') ? (db.prepare('SELECT id, tree_size, statement FROM audit_checkpoints ORDER BY id').all() as { id: number; tree_size: number; statement: string }[]).find((c) => parseCheckpoint(c.statement)?.treeSize !== c.tree_size) : undefined;
    if (bad !== undefined) return { ok: false, size: report.size, seq: Math.max(1, Math.min(report.size, bad.tree_size)), reason: 'checkpoint-mismatch', detail: `checkpoint row ${bad.id} says tree size ${bad.tree_size}, but its signed statement says otherwise`, keyFile };
    return { ...report, keyFile };
  } catch (error) {
    // A database file damaged below SQLite's level is a verification failure, not a tool crash.
    if (error instanceof Database.SqliteError) return { ok: false, size: 0, seq: 1, reason: 'unreadable', detail: `the database cannot be read (${error.code.toLowerCase()})`, keyFile };
    throw error;
  } finally {
    db.close();
  }
}

/** The end of the chain: the last event and the last signed checkpoint. */
export interface AuditHead {
  /** Sequence number of the last event (0 when the log is empty). */
  readonly seq: number;
  /** Hex SHA-256 of the last event; null when the log is empty. */
  readonly head: string | null;
  /** The last stored checkpoint: its parsed statement and signature; null before the first one. */
  readonly checkpoint: { readonly statement: CheckpointStatement; readonly signature: string } | null;
}

/**
 * Reads the end of the chain from a read-only connection: two indexed lookups (last row, last
 * checkpoint), no verification (that is `verifyAuditLog`'s job). Rows are committed before their
 * writer reports them, so what this returns is durable.
 *
 * @example
 * ```ts
 * const db = openAuditDatabaseReadOnly('.palisade');
 * readAuditHead(db); // { seq: 1042, head: '9f2c…', checkpoint: { statement: { treeSize: 1000, … }, signature } }
 * ```
 */
export function readAuditHead(db: Database.Database): AuditHead {
  if (!hasTable(db, 'audit_events')) return { seq: 0, head: null, checkpoint: null };
  return db.transaction(() => {
    const last = db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: Buffer } | undefined;
    const cp = hasTable(db, 'audit_checkpoints') ? (db.prepare('SELECT statement, signature FROM audit_checkpoints ORDER BY id DESC LIMIT 1').get() as { statement: string; signature: string } | undefined) : undefined;
    const statement = cp === undefined ? undefined : parseCheckpoint(cp.statement);
    return { seq: last?.seq ?? 0, head: last === undefined ? null : last.hash.toString('hex'), checkpoint: cp === undefined || statement === undefined ? null : { statement, signature: cp.signature } };
  })();
}
