import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { PalisadeError } from '../kernel/index.js';
import { formatArchiveCheckpoint, formatArchiveEvent, formatArchiveHeader, formatArchiveTrailer, readAuditArchiveSummary } from './audit-archive-file.js';
import { loadActiveAuditSigningKey } from './audit-keys.js';
import { AUDIT_DB_FILE } from './audit-schema.js';
import { isArchiveStatement, parseSignedStatement, signArchiveStatement, type SignedCheckpoint } from './checkpoint.js';
import { MerkleFrontier } from './merkle.js';
import { verifyAuditLog } from './read-audit-log.js';

/** What to archive: everything before a sequence number, or everything older than a time. */
export type ArchiveCut = { readonly beforeSeq: number } | { readonly olderThan: number };

/** Options of {@link archiveAuditLog}. */
export interface ArchiveAuditLogOptions {
  /** The `.palisade/` directory. */
  readonly stateDir: string;
  readonly cut: ArchiveCut;
  /** The archive file; default `stateDir/audit-archive/audit-<first>-<last>.jsonl`. */
  readonly out?: string;
  /** Also append the archive checkpoint to this witness file. */
  readonly witnessPath?: string;
  readonly now: () => number;
}

/** What {@link archiveAuditLog} did. */
export type ArchiveResult =
  | { readonly archived: false; readonly reason: string }
  | {
      readonly archived: true;
      readonly file: string;
      /** The first and last archived sequence numbers. */
      readonly first: number;
      readonly last: number;
      /** Hex SHA-256 of the archive body, as signed. */
      readonly digest: string;
      readonly checkpoint: SignedCheckpoint;
    };

/** A written, fsync'd archive file whose rows are not yet pruned (see {@link writeAuditArchive}). */
export interface PreparedArchive {
  readonly file: string;
  readonly first: number;
  readonly last: number;
  readonly lastHash: Buffer;
  readonly digest: string;
  readonly checkpoint: SignedCheckpoint;
  /** Ids of the `audit_checkpoints` rows the archive took over (their tree size ≤ `last`). */
  readonly movedCheckpointIds: readonly number[];
}

function openWritable(stateDir: string): Database.Database {
  const path = join(stateDir, AUDIT_DB_FILE);
  if (!existsSync(path)) throw new PalisadeError('PAL_AUDIT_NOT_FOUND', `no audit log at \`${path}\``, { expose: true });
  const db = new Database(path, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  // The prune must be as durable as the archive that justifies it.
  db.pragma('synchronous = FULL');
  return db;
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Step 1 of {@link archiveAuditLog}: checks the log, chooses the rows to archive, writes them
 * with the checkpoints that cover them and a signed archive checkpoint to the archive file,
 * and makes it durable (fsync of the file and its folder). Changes nothing in the log: a crash
 * after this step leaves the log intact and an archive file that is valid on its own; running
 * the command again writes a new one.
 */
export function writeAuditArchive(options: ArchiveAuditLogOptions): PreparedArchive | { readonly archived: false; readonly reason: string } {
  const { stateDir } = options;
  // Never archive (and so bless) a log that does not verify.
  const report = verifyAuditLog({ stateDir });
  if (!report.ok) throw new PalisadeError('PAL_AUDIT_CHAIN_BROKEN', `the audit log does not verify (row ${report.seq}: ${report.reason}); nothing was archived`, { expose: true });
  const key = loadActiveAuditSigningKey(stateDir);
  const db = openWritable(stateDir);
  try {
    const plan = db.transaction(() => {
      const bounds = db.prepare('SELECT MIN(seq) AS a, MAX(seq) AS m FROM audit_events').get() as { a: number | null; m: number | null };
      if (bounds.a === null || bounds.m === null) return undefined;
      const a = bounds.a;
      const m = bounds.m;
      let n: number;
      if ('beforeSeq' in options.cut) n = options.cut.beforeSeq - 1;
      else {
        // Stop at the first event that is not old enough, so the archive is one contiguous prefix.
        const young = db.prepare('SELECT MIN(seq) FROM audit_events WHERE time >= ?').pluck().get(options.cut.olderThan) as number | null;
        n = young === null ? m : young - 1;
      }
      // INVARIANT: the newest event always stays in the live log, so the log shows its head.
      n = Math.min(n, m - 1);
      if (n < a) return undefined;
      const behind = db.prepare('SELECT sink, delivered_seq FROM audit_sink_cursors WHERE delivered_seq < ? ORDER BY delivered_seq LIMIT 1').get(n) as { sink: string; delivered_seq: number } | undefined;
      if (behind !== undefined) {
        throw new PalisadeError('PAL_AUDIT_ARCHIVE_REFUSED', `sink \`${behind.sink}\` has delivered events only up to ${behind.delivered_seq}: archiving up to ${n} would lose the rest for it; let it catch up or archive with --before-seq ${behind.delivered_seq + 1}`, { expose: true });
      }
      const checkpoints = (db.prepare('SELECT id, statement, signature FROM audit_checkpoints ORDER BY id').all() as { id: number; statement: string; signature: string }[])
        .map((c) => ({ ...c, s: parseSignedStatement(c.statement) }))
        .filter((c) => c.s !== undefined && c.s.treeSize <= n);
      let tree = new MerkleFrontier();
      if (a > 1) {
        const anchor = checkpoints.find((c) => c.s !== undefined && c.s.treeSize === a - 1 && isArchiveStatement(c.s));
        const s = anchor?.s;
        const resumed = s !== undefined && isArchiveStatement(s) ? MerkleFrontier.fromCompactRange(a - 1, s.range.map((h) => Buffer.from(h, 'hex'))) : undefined;
        if (resumed === undefined) throw new PalisadeError('PAL_AUDIT_CHAIN_BROKEN', `the log starts at row ${a} without an archive checkpoint; nothing was archived`, { expose: true });
        tree = resumed;
      }
      return { a, n, checkpoints, tree };
    })();
    if (plan === undefined) return { archived: false, reason: 'no events old enough to archive (the newest event always stays)' };
    const { a, n, checkpoints, tree } = plan;
    const file = resolve(options.out ?? join(stateDir, 'audit-archive', `audit-${String(a).padStart(9, '0')}-${String(n).padStart(9, '0')}.jsonl`));
    refuseOverwrite(file, a);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
    const fd = openSync(tmp, 'wx', 0o600);
    const digest = createHash('sha256');
    let lastHash: Buffer | undefined;
    let buffered: string[] = [];
    let size = 0;
    const put = (line: string): void => {
      buffered.push(line, '\n');
      size += line.length;
      if (size > 1 << 20) flush();
    };
    const flush = (): void => {
      const chunk = Buffer.from(buffered.join(''), 'utf8');
      digest.update(chunk);
      writeSync(fd, chunk);
      buffered = [];
      size = 0;
    };
    try {
      put(formatArchiveHeader({ instance: key.instance, first: a, last: n }));
      // One read snapshot for the rows: the writer only appends after them.
      db.transaction(() => {
        let expect = a;
        for (const [seq, event, prev, hash] of db.prepare('SELECT seq, event, prev_hash, hash FROM audit_events WHERE seq >= ? AND seq <= ? ORDER BY seq').raw().iterate(a, n) as IterableIterator<[number, string, Buffer, Buffer]>) {
          if (seq !== expect++) throw new PalisadeError('PAL_AUDIT_CHAIN_BROKEN', `row ${expect - 1} is missing; nothing was archived`, { expose: true });
          put(formatArchiveEvent(seq, event, prev, hash));
          tree.append(hash);
          lastHash = hash;
        }
      })();
      for (const c of checkpoints) put(formatArchiveCheckpoint(c));
      flush();
      if (lastHash === undefined || tree.size !== n) throw new PalisadeError('PAL_AUDIT_CHAIN_BROKEN', 'the rows to archive changed while they were read; nothing was archived', { expose: true });
      const body = digest.digest('hex');
      const checkpoint = signArchiveStatement({ instance: key.instance, treeSize: n, head: lastHash.toString('hex'), root: tree.root().toString('hex'), range: tree.compactRange().map((x) => x.toString('hex')), first: a, archiveDigest: body, time: options.now(), keyId: key.keyId }, key.privateKey);
      writeSync(fd, `${formatArchiveTrailer(checkpoint)}\n`);
      // INVARIANT: the archive is on disk before a single row is deleted.
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, file);
      fsyncPath(dirname(file));
      return { file, first: a, last: n, lastHash, digest: body, checkpoint, movedCheckpointIds: checkpoints.map((c) => c.id) };
    } catch (error) {
      try {
        closeSync(fd);
      } catch {
        // Already closed after a successful fsync; the rename is what failed.
      }
      rmSync(tmp, { force: true });
      throw error;
    }
  } finally {
    db.close();
  }
}

/** An existing file is replaced only when it is an unfinished archive of rows the log still holds. */
function refuseOverwrite(file: string, firstLive: number): void {
  if (!existsSync(file)) return;
  let first: number | undefined;
  try {
    first = readAuditArchiveSummary(file).statement?.first;
  } catch {
    first = undefined;
  }
  if (first !== firstLive) throw new PalisadeError('PAL_AUDIT_ARCHIVE_REFUSED', `\`${file}\` exists and is not an unfinished archive of the rows still in the log; choose another --out`, { expose: true });
}

/**
 * Step 2 of {@link archiveAuditLog}: in one transaction, stores the archive checkpoint and
 * deletes the archived rows and the checkpoints the archive took over. Refuses (changing
 * nothing) when the log no longer starts where the archive does. Safe beside a running writer:
 * it only deletes rows before the writer's head, and the writer keeps its head and Merkle
 * frontier in memory.
 */
export function pruneArchivedRows(stateDir: string, prepared: PreparedArchive, witnessPath?: string): void {
  const db = openWritable(stateDir);
  try {
    db.transaction(() => {
      const a = db.prepare('SELECT MIN(seq) FROM audit_events').pluck().get() as number | null;
      const last = db.prepare('SELECT hash FROM audit_events WHERE seq = ?').pluck().get(prepared.last) as Buffer | undefined;
      const count = db.prepare('SELECT COUNT(*) FROM audit_events WHERE seq <= ?').pluck().get(prepared.last) as number;
      if (a !== prepared.first || last === undefined || !last.equals(prepared.lastHash) || count !== prepared.last - prepared.first + 1) {
        throw new PalisadeError('PAL_AUDIT_ARCHIVE_REFUSED', 'the log changed while the archive was written (another archive ran?); nothing was pruned, run the command again', { expose: true });
      }
      db.prepare('INSERT INTO audit_checkpoints (tree_size, statement, signature) VALUES (?, ?, ?)').run(prepared.last, prepared.checkpoint.statement, prepared.checkpoint.signature);
      const del = db.prepare('DELETE FROM audit_checkpoints WHERE id = ?');
      for (const id of prepared.movedCheckpointIds) del.run(id);
      db.prepare('DELETE FROM audit_events WHERE seq <= ?').run(prepared.last);
    }).immediate();
  } finally {
    db.close();
  }
  if (witnessPath !== undefined) {
    mkdirSync(dirname(witnessPath), { recursive: true });
    appendFileSync(witnessPath, `${JSON.stringify(prepared.checkpoint)}\n`, { mode: 0o644 });
    fsyncPath(witnessPath);
  }
}

/**
 * Archives and prunes the oldest events: writes them, the checkpoints that cover them and a
 * signed archive checkpoint to a self-contained archive file (fsync'd), then, in one
 * transaction, stores the archive checkpoint in the log and deletes the archived rows. The
 * remaining chain verifies from its new start; the archive verifies on its own and together
 * with the log (see `docs/audit.md`, "Retention").
 *
 * @example
 * ```ts
 * archiveAuditLog({ stateDir: '.palisade', cut: { olderThan: Date.now() - 90 * 86_400_000 }, now: Date.now });
 * ```
 */
export function archiveAuditLog(options: ArchiveAuditLogOptions): ArchiveResult {
  const prepared = writeAuditArchive(options);
  if (!('file' in prepared)) return prepared;
  pruneArchivedRows(options.stateDir, prepared, options.witnessPath);
  return { archived: true, file: prepared.file, first: prepared.first, last: prepared.last, digest: prepared.digest, checkpoint: prepared.checkpoint };
}
