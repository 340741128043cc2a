import { parseSignedStatement } from './checkpoint.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PalisadeError } from '../kernel/index.js';
import { AUDIT_PUBLIC_KEY_FILE, loadAuditKeyFile, type AuditKeyFile } from './audit-keys.js';
import { AUDIT_DB_FILE } from './audit-schema.js';
import type { ArchiveStatement, CheckpointStatement, SignedCheckpoint } from './checkpoint.js';
import { readAuditArchiveRows, readAuditArchiveSummary, type AuditArchiveSummary } from './audit-archive-file.js';
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
  if (!hasTable(db, 'audit_events')) return;
  // The event's bytes as stored: the hash covers exactly them, so they are hashed without a
  // round trip through a JavaScript string. The search columns are checked in one SQL pass
  // ({@link findIndexMismatch}).
  // Pages through the primary key: one native call per page instead of one per row.
  const page = db.prepare('SELECT seq, CAST(event AS BLOB), prev_hash, hash FROM audit_events WHERE seq > ? ORDER BY seq LIMIT 4096').raw();
  let after = -Infinity;
  for (;;) {
    const rows = page.all(after) as [number, Buffer, Buffer, Buffer][];
    for (const [seq, event, prevHash, hash] of rows) yield { seq, event, prevHash, hash };
    if (rows.length < 4096) return;
    after = (rows[rows.length - 1] as [number, Buffer, Buffer, Buffer])[0];
  }
}

/**
 * The first row whose search columns (`time`, `actor`, `action`, `decision`) differ from its
 * event, or whose event is not JSON: a search selects on the columns, so a rewritten column
 * would hide or misplace a row the chain still holds. One pass in SQLite's JSON functions.
 */
function findIndexMismatch(db: Database.Database): { seq: number; column: string } | undefined {
  if (!hasTable(db, 'audit_events')) return undefined;
  return db.prepare(`SELECT seq, CASE
      WHEN NOT json_valid(event) OR json_type(event) IS NOT 'object' THEN 'event'
      WHEN time IS NOT json_extract(event, '$.time') THEN 'time'
      WHEN actor IS NOT json_extract(event, '$.principal.id') THEN 'actor'
      WHEN action IS NOT json_extract(event, '$.action') THEN 'action'
      ELSE 'decision' END AS column
    FROM audit_events
    WHERE NOT json_valid(event) OR json_type(event) IS NOT 'object'
      OR time IS NOT json_extract(event, '$.time') OR actor IS NOT json_extract(event, '$.principal.id')
      OR action IS NOT json_extract(event, '$.action') OR decision IS NOT json_extract(event, '$.outcome')
    ORDER BY seq LIMIT 1`).get() as { seq: number; column: string } | undefined;
}

const ROW_REASONS: ReadonlySet<string> = new Set(['missing-row', 'out-of-order', 'broken-link', 'inserted-row', 'hash-mismatch', 'wrong-instance']);

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
  /**
   * Archive files (`palisade audit archive`) to verify together with the log, as one chain from
   * the first archived event to the last row. Their order does not matter.
   */
  readonly archives?: readonly string[];
}

type Failed = Extract<VerifyReport, { ok: false }>;

/** Reads archive files, oldest first, and checks each one's signed digest and header. */
function loadArchives(paths: readonly string[], keys: AuditKeyFile): { summaries: AuditArchiveSummary[]; failure?: Failed } {
  const summaries: AuditArchiveSummary[] = [];
  for (const p of paths) {
    try {
      summaries.push(readAuditArchiveSummary(p));
    } catch (error) {
      // A line that is not of the format is a changed file, not a tool failure.
      if (error instanceof PalisadeError && error.code === 'PAL_AUDIT_CHAIN_BROKEN') return { summaries, failure: { ok: false, size: 0, seq: 1, reason: 'archive-modified', detail: error.message } };
      throw error;
    }
  }
  summaries.sort((x, y) => x.header.first - y.header.first);
  for (const a of summaries) {
    const s = a.statement;
    const at = a.header.first;
    if (a.header.instance !== keys.instance) return { summaries, failure: { ok: false, size: 0, seq: at, reason: 'wrong-instance', detail: `the archive \`${a.path}\` belongs to instance \`${a.header.instance}\`, not \`${keys.instance}\`` } };
    if (s === undefined) return { summaries, failure: { ok: false, size: 0, seq: at, reason: 'malformed-checkpoint', detail: `the last line of \`${a.path}\` is not a palisade-audit-archive/1 statement` } };
    // The signature over this statement is checked with the other checkpoints; here, that the
    // file is the one it signs.
    if (s.archiveDigest !== a.bodyDigest) return { summaries, failure: { ok: false, size: 0, seq: at, reason: 'archive-modified', detail: `\`${a.path}\` does not hash to the digest its archive checkpoint signs: the file was changed after it was written` } };
    if (s.first !== a.header.first || s.treeSize !== a.header.last || a.events !== a.header.last - a.header.first + 1) return { summaries, failure: { ok: false, size: 0, seq: at, reason: 'archive-modified', detail: `\`${a.path}\` does not hold exactly events ${s.first}..${s.treeSize}, as its archive checkpoint says` } };
  }
  return { summaries };
}

function* concatRows(summaries: readonly AuditArchiveSummary[], live: Iterable<AuditRow>): Generator<AuditRow> {
  for (const a of summaries) yield* readAuditArchiveRows(a.path);
  yield* live;
}

function archiveCheckpoints(summaries: readonly AuditArchiveSummary[]): SignedCheckpoint[] {
  return summaries.flatMap((a) => [...a.checkpoints, a.trailer]);
}

/**
 * Verifies archive files on their own (without the live log): each one's signed digest, its
 * events as a chain from genesis or from the archive checkpoint it starts from, and the
 * checkpoints it carries.
 *
 * @example
 * ```ts
 * const report = verifyAuditArchives({ archives: ['audit-000000001-000100000.jsonl'], keyFile: '/safe/audit.pub' });
 * ```
 */
export function verifyAuditArchives(options: { readonly archives: readonly string[]; readonly keyFile: string }): VerifyReport & { readonly keyFile: string } {
  const keys = loadAuditKeyFile(options.keyFile);
  const { summaries, failure } = loadArchives(options.archives, keys);
  if (failure !== undefined) return { ...failure, keyFile: options.keyFile };
  const report = verifyAuditChain({ rows: concatRows(summaries, []), checkpoints: archiveCheckpoints(summaries), keys, scope: 'archive' });
  const last = summaries[summaries.length - 1]?.header.last ?? 0;
  if (report.ok && report.size !== last) return { ok: false, size: report.size, seq: report.size + 1, reason: 'archive-modified', detail: `the archives end at ${report.size}, not at ${last}`, keyFile: options.keyFile };
  return { ...report, keyFile: options.keyFile };
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
    // A log the writer created holds its tables and its instance id, even with no events: an
    // empty file (or one whose -wal was deleted before the tables reached the main file) is not
    // a new log but a lost one.
    if (!hasTable(db, 'audit_events') || !hasTable(db, 'audit_meta')) return { ok: false, size: 0, seq: 1, reason: 'truncated', detail: 'the database holds no audit tables: the log was emptied, replaced, or lost its -wal file', keyFile };
    const stored = db.prepare("SELECT value FROM audit_meta WHERE key = 'instance'").pluck().get() as unknown;
    if (stored !== keys.instance) return { ok: false, size: 0, seq: 1, reason: 'wrong-instance', detail: `the log's instance id is ${typeof stored === 'string' ? `\`${stored.slice(0, 64)}\`` : 'missing'}, not \`${keys.instance}\`: the log was replaced`, keyFile };
    const { summaries, failure } = loadArchives(options.archives ?? [], keys);
    if (failure !== undefined) return { ...failure, keyFile };
    // One read transaction: rows and checkpoints come from the same snapshot.
    const { report, index } = db.transaction(() => ({
      report: verifyAuditChain({ rows: concatRows(summaries, iterateRows(db)), checkpoints: [...archiveCheckpoints(summaries), ...readStoredCheckpoints(db)], witness, keys }),
      index: findIndexMismatch(db),
    }))();
    // Like any row failure, a bad search column wins unless a row before it already failed.
    if (index !== undefined && (report.ok || !(ROW_REASONS.has(report.reason) && report.seq <= index.seq))) {
      return { ok: false, size: report.size, seq: index.seq, reason: 'index-mismatch', detail: `row ${index.seq}'s search column \`${index.column}\` does not match its event: a search would hide or misplace it`, keyFile };
    }
    if (!report.ok) return { ...report, keyFile };
    // The chain holds; the file's own structure must too (an index that lost rows would make a
    // search miss them).
    const problems = db.pragma('integrity_check', { simple: false }) as Array<{ integrity_check: string }>;
    const first = problems[0]?.integrity_check ?? 'ok';
    if (first !== 'ok') return { ok: false, size: report.size, seq: 1, reason: 'unreadable', detail: `the database file is damaged: ${first.slice(0, 300)}`, keyFile };
    // A checkpoint's size column must be the size its signed statement names.
    const bad = hasTable(db, 'audit_checkpoints') ? (db.prepare('SELECT id, tree_size, statement FROM audit_checkpoints ORDER BY id').all() as { id: number; tree_size: number; statement: string }[]).find((c) => parseSignedStatement(c.statement)?.treeSize !== c.tree_size) : undefined;
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
  /** The last stored checkpoint (a regular or an archive checkpoint): its parsed statement and signature; null before the first one. */
  readonly checkpoint: { readonly statement: CheckpointStatement | ArchiveStatement; readonly signature: string } | null;
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
    const statement = cp === undefined ? undefined : parseSignedStatement(cp.statement);
    return { seq: last?.seq ?? 0, head: last === undefined ? null : last.hash.toString('hex'), checkpoint: cp === undefined || statement === undefined ? null : { statement, signature: cp.signature } };
  })();
}
