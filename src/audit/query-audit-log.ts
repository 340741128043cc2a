import { PalisadeError, type AuditEvent } from '../kernel/index.js';
import type { AuditKeyFile } from './audit-keys.js';
import { computeEventHash } from './chain-hash.js';
import { isArchiveStatement, parseCheckpoint, parseSignedStatement, verifyCheckpointSignature, type ArchiveStatement, type SignedCheckpoint } from './checkpoint.js';
import { createInclusionProof, createInclusionProofAfterPrefix, verifyInclusionProof } from './merkle.js';
import { openAuditDatabaseReadOnly, readStoredCheckpoints } from './read-audit-log.js';

/** One stored event with its sequence number. */
export interface AuditRecord {
  readonly seq: number;
  readonly event: AuditEvent;
}

/** Filters of {@link searchAuditLog}; each one set narrows the result (AND). */
export interface AuditSearch {
  /** Principal id. */
  readonly actor?: string;
  readonly action?: string;
  /** The outcome: `allow`, `deny`, `error`, `aborted`. */
  readonly decision?: string;
  /** Milliseconds since the epoch, inclusive. */
  readonly since?: number;
  /** Milliseconds since the epoch, exclusive. */
  readonly until?: number;
  /** Only events after this sequence number. */
  readonly afterSeq?: number;
  /** At most this many, the newest ones when `newest` is set. Default 1000. */
  readonly limit?: number;
  readonly newest?: boolean;
}

/**
 * Searches the log through its indexes (actor, action, decision, each with time). The indexed
 * columns are copies; the returned events are parsed from the hashed canonical JSON.
 *
 * @example
 * ```ts
 * searchAuditLog('.palisade', { actor: 'alice', decision: 'deny', since: Date.now() - 3_600_000 });
 * ```
 */
export function searchAuditLog(stateDir: string, search: AuditSearch): AuditRecord[] {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (search.actor !== undefined) where.push('actor = ?') && args.push(search.actor);
  if (search.action !== undefined) where.push('action = ?') && args.push(search.action);
  if (search.decision !== undefined) where.push('decision = ?') && args.push(search.decision);
  if (search.since !== undefined) where.push('time >= ?') && args.push(search.since);
  if (search.until !== undefined) where.push('time < ?') && args.push(search.until);
  if (search.afterSeq !== undefined) where.push('seq > ?') && args.push(search.afterSeq);
  const limit = Math.max(1, Math.min(search.limit ?? 1000, 1_000_000));
  const sql = `SELECT seq, event FROM audit_events ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY seq ${search.newest === true ? 'DESC' : 'ASC'} LIMIT ${limit}`;
  const db = openAuditDatabaseReadOnly(stateDir);
  try {
    const rows = db.prepare(sql).all(...args) as { seq: number; event: string }[];
    if (search.newest === true) rows.reverse();
    return rows.map((r) => ({ seq: r.seq, event: decodeStoredEvent(r.seq, r.event) }));
  } finally {
    db.close();
  }
}

/**
 * A stored event as the appender wrote it: a JSON object with the fields every reader relies on.
 * Anything else was written outside palisade (the chain would not verify), and is refused with
 * its sequence number rather than failing somewhere in a reader.
 */
function decodeStoredEvent(seq: number, text: string): AuditEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const e = value as Partial<Record<keyof AuditEvent, unknown>> | undefined;
  const principal = e?.principal as { id?: unknown } | null | undefined;
  const ok = typeof e === 'object' && e !== null && !Array.isArray(e) && typeof e.time === 'number' && typeof e.action === 'string' && typeof e.outcome === 'string' && (principal === undefined || (typeof principal === 'object' && principal !== null && typeof principal.id === 'string')) && (e.policyIds === undefined || (Array.isArray(e.policyIds) && e.policyIds.every((id) => typeof id === 'string')));
  if (!ok) throw new PalisadeError('PAL_AUDIT_CHAIN_BROKEN', `audit event ${seq} is not an event palisade wrote; check the log with \`palisade audit verify\``, { expose: true });
  return value as AuditEvent;
}

/** An RFC 6962 inclusion proof of one event in a signed checkpoint (the `palisade audit proof` output). */
export interface AuditInclusionProof {
  readonly format: 'palisade-audit-proof/1';
  readonly seq: number;
  /** The canonical event text, as hashed. */
  readonly event: string;
  /** Hex of the previous row's hash (or the genesis hash). */
  readonly prevHash: string;
  /** Hex of `SHA-256(prev_hash ‖ event)`: the Merkle leaf's data. */
  readonly hash: string;
  /** `seq - 1`. */
  readonly leafIndex: number;
  readonly treeSize: number;
  /** Hex audit path, leaf to root. */
  readonly path: readonly string[];
  readonly checkpoint: SignedCheckpoint;
}

/**
 * Builds the inclusion proof of event `seq` against the newest stored checkpoint that covers it.
 * The proof stands alone: with the key file, {@link verifyAuditProof} (or an independent
 * verifier following `docs/audit.md`) checks it without the database.
 */
export function createAuditProof(stateDir: string, seq: number): AuditInclusionProof {
  const db = openAuditDatabaseReadOnly(stateDir);
  try {
    return db.transaction(() => {
      const row = db.prepare('SELECT seq, event, prev_hash, hash FROM audit_events WHERE seq = ?').get(seq) as { seq: number; event: string; prev_hash: Buffer; hash: Buffer } | undefined;
      const firstLive = db.prepare('SELECT MIN(seq) FROM audit_events').pluck().get() as number | null;
      const archive = readStoredCheckpoints(db)
        .map((c) => parseSignedStatement(c.statement))
        .filter((x): x is ArchiveStatement => x !== undefined && isArchiveStatement(x))
        .sort((x, y) => y.treeSize - x.treeSize)[0];
      if (row === undefined && archive !== undefined && seq <= archive.treeSize) {
        throw new PalisadeError('PAL_AUDIT_ARCHIVED', `event ${seq} was archived: the live log starts at ${archive.treeSize + 1}; it is in the archive file whose body has SHA-256 ${archive.archiveDigest} (archive checkpoint of tree size ${archive.treeSize}); check it with \`palisade audit verify --archive FILE\``, { expose: true });
      }
      if (row === undefined) throw new PalisadeError('PAL_AUDIT_NOT_FOUND', `no audit event with sequence number ${seq}`, { expose: true });
      const covering = readStoredCheckpoints(db)
        .map((c) => ({ c, s: parseCheckpoint(c.statement) }))
        .filter((x) => x.s !== undefined && x.s.treeSize >= seq)
        .sort((a, b) => (b.s?.treeSize ?? 0) - (a.s?.treeSize ?? 0))[0];
      if (covering?.s === undefined) throw new PalisadeError('PAL_AUDIT_NOT_FOUND', `event ${seq} is not yet covered by a signed checkpoint; try again after the next checkpoint`, { expose: true });
      const hashes = db.prepare('SELECT hash FROM audit_events WHERE seq <= ? ORDER BY seq').pluck().all(covering.s.treeSize) as Buffer[];
      // In a pruned log the archived prefix is known by the archive checkpoint's compact range.
      const prefix = firstLive !== null && firstLive > 1 ? archive : undefined;
      if (firstLive !== null && firstLive > 1 && prefix?.treeSize !== firstLive - 1) throw new PalisadeError('PAL_AUDIT_CHAIN_BROKEN', `the log starts at ${firstLive} without an archive checkpoint`, { expose: true });
      const path = prefix === undefined ? createInclusionProof(hashes, seq - 1) : createInclusionProofAfterPrefix(prefix.treeSize, prefix.range.map((h) => Buffer.from(h, 'hex')), hashes, seq - 1);
      return {
        format: 'palisade-audit-proof/1' as const,
        seq,
        event: row.event,
        prevHash: row.prev_hash.toString('hex'),
        hash: row.hash.toString('hex'),
        leafIndex: seq - 1,
        treeSize: covering.s.treeSize,
        path: path.map((p) => p.toString('hex')),
        checkpoint: covering.c,
      };
    })();
  } finally {
    db.close();
  }
}

/**
 * Verifies a proof with the key file: the event hashes to `hash`, the audit path leads from that
 * leaf to the checkpoint's root, and the checkpoint is signed by a listed key (not retired at
 * its size) for this instance. Returns the reason when it does not hold.
 */
export function verifyAuditProof(proof: AuditInclusionProof, keys: AuditKeyFile): { ok: true } | { ok: false; reason: string } {
  const hex = (s: unknown): Buffer | undefined => (typeof s === 'string' && /^[0-9a-f]{64}$/.test(s) ? Buffer.from(s, 'hex') : undefined);
  const prev = hex(proof.prevHash);
  const hash = hex(proof.hash);
  if (prev === undefined || hash === undefined || typeof proof.event !== 'string' || !Array.isArray(proof.path)) return { ok: false, reason: 'malformed proof' };
  if (!computeEventHash(prev, proof.event).equals(hash)) return { ok: false, reason: 'the event does not hash to the proof\'s leaf' };
  const s = parseCheckpoint(proof.checkpoint?.statement ?? '');
  if (s === undefined) return { ok: false, reason: 'malformed checkpoint' };
  const key = keys.keys.find((k) => k.keyId === s.keyId);
  if (key === undefined || !verifyCheckpointSignature(proof.checkpoint, key.publicKey)) return { ok: false, reason: 'the checkpoint is not signed by a key of the key file' };
  if (key.retiredAfter !== undefined && s.treeSize > key.retiredAfter) return { ok: false, reason: 'the checkpoint is signed by a retired key' };
  if (s.instance !== keys.instance) return { ok: false, reason: 'the checkpoint belongs to another instance' };
  if (s.treeSize !== proof.treeSize || proof.leafIndex !== proof.seq - 1) return { ok: false, reason: 'the proof does not match its checkpoint' };
  const path = proof.path.map(hex);
  if (path.some((p) => p === undefined)) return { ok: false, reason: 'malformed proof' };
  if (!verifyInclusionProof(hash, proof.leafIndex, s.treeSize, path as Buffer[], Buffer.from(s.root, 'hex'))) return { ok: false, reason: 'the audit path does not lead to the signed root' };
  return { ok: true };
}
