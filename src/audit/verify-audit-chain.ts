import type { AuditKeyFile } from './audit-keys.js';
import { computeEventHash, computeGenesisHash } from './chain-hash.js';
import { isArchiveStatement, parseSignedStatement, verifyCheckpointSignature, type CheckpointStatement, type SignedCheckpoint } from './checkpoint.js';
import { MerkleFrontier } from './merkle.js';

/** One stored row, as read from `audit_events`. */
export interface AuditRow {
  readonly seq: number;
  /** The canonical event: its text, or its UTF-8 bytes exactly as stored (what the hash covers). */
  readonly event: string | Uint8Array;
  readonly prevHash: Uint8Array;
  readonly hash: Uint8Array;
  /**
   * The row's search columns (`time`, `actor`, `action`, `decision`), when read: copies of event
   * fields that `palisade audit search` and `export --since` select on. They must equal the event
   * they sit next to, or a search could hide rows the chain still holds.
   */
  readonly columns?: { readonly time: unknown; readonly actor: unknown; readonly action: unknown; readonly decision: unknown };
}

/** Why verification failed: a closed vocabulary (see `docs/audit.md`). */
export const verifyFailureReasons = [
  'wrong-instance',
  'missing-row',
  'out-of-order',
  'broken-link',
  'inserted-row',
  'hash-mismatch',
  'index-mismatch',
  'malformed-checkpoint',
  'unknown-key',
  'bad-signature',
  'retired-key',
  'checkpoint-mismatch',
  'truncated',
  'fork',
  'unsigned-tail',
  'archive-modified',
  'unreadable',
] as const;

/** One failure reason. */
export type VerifyFailureReason = (typeof verifyFailureReasons)[number];

/** The outcome of {@link verifyAuditChain}. */
export type VerifyReport =
  | {
      readonly ok: true;
      /** The sequence number of the last row verified (the tree size). */
      readonly size: number;
      readonly checkpoints: number;
      readonly witnessed: number;
      readonly signedSize: number;
      /** The first sequence number verified: 1, or one after the archive checkpoint the rows start from. */
      readonly start: number;
      /** True when there is not a single row: a new log (nothing signed says it ever held more). */
      readonly empty: boolean;
    }
  | { readonly ok: false; readonly size: number; readonly seq: number; readonly reason: VerifyFailureReason; readonly detail: string };

/** What {@link verifyAuditChain} checks, all of it data: no I/O. */
export interface VerifyInput {
  /** Rows in ascending `seq` order (as `ORDER BY seq` returns them). */
  readonly rows: Iterable<AuditRow>;
  /** Checkpoints stored in the log. */
  readonly checkpoints: readonly SignedCheckpoint[];
  /** Checkpoints from an external witness copy. */
  readonly witness?: readonly SignedCheckpoint[];
  /** The exported key file: the only source of keys and of the instance id. */
  readonly keys: AuditKeyFile;
  /**
   * `log` (default): the rows are a whole live log, which must reach every size a key was
   * retired at. `archive`: the rows are one archive file's, which ends where the live log goes on.
   */
  readonly scope?: 'log' | 'archive';
}

interface Checked {
  readonly c: CheckpointStatement;
  readonly fromWitness: boolean;
}

type Failure = Extract<VerifyReport, { ok: false }>;

/**
 * Verifies an audit chain end to end: every row's hash over its canonical event and its link
 * to the previous row (from the instance's genesis hash), contiguous sequence numbers, every
 * checkpoint's Ed25519 signature by a key of `keys` (not retired at its tree size), and that each
 * checkpoint's head hash and RFC 6962 root match the rows. Checkpoints of the witness must be
 * covered by the rows too: fewer rows means truncation or rollback, a different root a fork.
 * Stops at the first problem and names its sequence number.
 *
 * @example
 * ```ts
 * const report = verifyAuditChain({ rows, checkpoints, keys: loadAuditKeyFile('audit.pub') });
 * if (!report.ok) console.log(report.seq, report.reason);
 * ```
 */
export function verifyAuditChain(input: VerifyInput): VerifyReport {
  const rows = input.rows[Symbol.iterator]();
  try {
    return verifyRows(input, rows);
  } finally {
    // Stopping early must release the source (an open SQLite statement, a file).
    rows.return?.();
  }
}

function verifyRows(input: VerifyInput, rows: Iterator<AuditRow>): VerifyReport {
  const { keys } = input;
  const keyById = new Map(keys.keys.map((k) => [k.keyId, k]));
  const checked: Checked[] = [];
  // Signatures first: a checkpoint that is not genuinely ours proves nothing about the rows.
  const all = [...input.checkpoints.map((s) => ({ s, fromWitness: false })), ...(input.witness ?? []).map((s) => ({ s, fromWitness: true }))];
  let failure: Failure | undefined;
  const fail = (f: Failure): void => {
    if (failure === undefined || f.seq < failure.seq) failure = f;
  };
  for (const { s, fromWitness } of all) {
    const where = fromWitness ? 'witness checkpoint' : 'checkpoint';
    const c = parseSignedStatement(s.statement);
    if (c === undefined) {
      fail({ ok: false, size: 0, seq: 1, reason: 'malformed-checkpoint', detail: `a ${where} is not a palisade-audit-checkpoint/1 or palisade-audit-archive/1 statement` });
      continue;
    }
    const key = keyById.get(c.keyId);
    const first = Math.max(1, c.treeSize);
    if (key === undefined) fail({ ok: false, size: 0, seq: first, reason: 'unknown-key', detail: `${where} at tree size ${c.treeSize} is signed by key \`${c.keyId}\`, which the key file does not list` });
    else if (!verifyCheckpointSignature(s, key.publicKey)) fail({ ok: false, size: 0, seq: first, reason: 'bad-signature', detail: `${where} at tree size ${c.treeSize}: the signature does not verify with key \`${c.keyId}\`` });
    else if (c.instance !== keys.instance) fail({ ok: false, size: 0, seq: first, reason: 'wrong-instance', detail: `${where} at tree size ${c.treeSize} belongs to instance \`${c.instance}\`, not \`${keys.instance}\`` });
    else if (key.retiredAfter !== undefined && c.treeSize > key.retiredAfter) fail({ ok: false, size: 0, seq: key.retiredAfter + 1, reason: 'retired-key', detail: `${where} at tree size ${c.treeSize} is signed by key \`${c.keyId}\`, retired after tree size ${key.retiredAfter}` });
    else checked.push({ c, fromWitness });
  }
  checked.sort((a, b) => a.c.treeSize - b.c.treeSize);

  let tree = new MerkleFrontier();
  let expectedPrev: Uint8Array = computeGenesisHash(keys.instance);
  let beforePrev: Uint8Array | undefined;
  let seq = 0;
  let next = 0;
  let signedSize = 0;
  let first = rows.next();
  // Rows that start after 1 are a pruned log: they must continue exactly from a validly signed
  // archive checkpoint (its head and compact Merkle range). Without one, the head rows were
  // simply deleted, which the loop below reports as missing rows.
  if (!first.done && first.value.seq > 1) {
    const at = first.value.seq - 1;
    const anchor = checked.find((x) => x.c.treeSize === at && isArchiveStatement(x.c));
    if (anchor !== undefined && isArchiveStatement(anchor.c)) {
      const resumed = MerkleFrontier.fromCompactRange(at, anchor.c.range.map((h) => Buffer.from(h, 'hex')));
      if (resumed === undefined || resumed.root().toString('hex') !== anchor.c.root) {
        return { ok: false, size: at, seq: at + 1, reason: 'malformed-checkpoint', detail: `the archive checkpoint at tree size ${at} has a compact range that does not yield its root` };
      }
      tree = resumed;
      expectedPrev = Buffer.from(anchor.c.head, 'hex');
      seq = at;
      signedSize = at;
      // Checkpoints inside the archived prefix can only be checked against the archive file.
      while (next < checked.length && (checked[next] as Checked).c.treeSize < at) next++;
    } else {
      // A forged or planted archive checkpoint lands here as the signature failure it is.
      return { ...(failure ?? { ok: false, size: 0, seq: 1, reason: 'missing-row', detail: `rows 1..${at} are missing and no validly signed archive checkpoint at tree size ${at} covers them: head rows were deleted` }), size: 0 };
    }
  }
  const start = seq + 1;
  // Row failures name the exact row; they win over what the checkpoints can only bound.
  let rowFailure: Failure | undefined;
  const checkAt = (size: number, head: Uint8Array): void => {
    let root: string | undefined;
    let bad: Checked | undefined;
    let any = false;
    while (next < checked.length && (checked[next] as Checked).c.treeSize === size) {
      const x = checked[next] as Checked;
      next++;
      any = true;
      root ??= tree.root().toString('hex');
      if (x.c.root !== root || x.c.head !== Buffer.from(head).toString('hex')) bad ??= x;
      // An archive checkpoint also signs the compact range later roots are computed from.
      else if (isArchiveStatement(x.c) && x.c.range.join(',') !== tree.compactRange().map((n) => n.toString('hex')).join(',')) bad ??= x;
    }
    if (!any) return;
    if (bad === undefined) {
      signedSize = size;
      return;
    }
    fail({ ok: false, size, seq: signedSize + 1, reason: bad.fromWitness ? 'fork' : 'checkpoint-mismatch', detail: `the rows up to ${size} do not match the signed ${bad.fromWitness ? 'witness ' : ''}checkpoint at that size (root or head differs): a row after ${signedSize} was changed` });
  };
  checkAt(seq, expectedPrev);
  for (; !first.done; first = rows.next()) {
    const row = first.value;
    const want = seq + 1;
    if (row.seq !== want) {
      rowFailure = row.seq > want
        ? { ok: false, size: seq, seq: want, reason: 'missing-row', detail: `row ${want} is missing (next row is ${row.seq})` }
        : { ok: false, size: seq, seq: row.seq, reason: 'out-of-order', detail: `row ${row.seq} comes after row ${seq}` };
      break;
    }
    if (!same(row.prevHash, expectedPrev)) {
      if (want === 1) rowFailure = { ok: false, size: seq, seq: want, reason: 'wrong-instance', detail: "row 1 does not start from this instance's genesis hash: the log belongs to another instance or was replaced" };
      else if (beforePrev !== undefined && same(row.prevHash, beforePrev)) rowFailure = { ok: false, size: seq, seq: seq, reason: 'inserted-row', detail: `row ${want} links to row ${seq - 1}: row ${seq} was inserted` };
      else rowFailure = { ok: false, size: seq, seq: want, reason: 'broken-link', detail: `row ${want}'s prev_hash is not the hash of row ${seq}: a row was changed, removed or moved here` };
      break;
    }
    const hash = computeEventHash(row.prevHash, row.event);
    if (!same(hash, row.hash)) {
      rowFailure = { ok: false, size: seq, seq: want, reason: 'hash-mismatch', detail: `row ${want}'s event does not hash to its stored hash: its content was changed` };
      break;
    }
    if (row.columns !== undefined) {
      const differs = searchColumnsDiffer(typeof row.event === 'string' ? row.event : Buffer.from(row.event).toString('utf8'), row.columns);
      if (differs !== undefined) {
        rowFailure = { ok: false, size: seq, seq: want, reason: 'index-mismatch', detail: `row ${want}'s search column \`${differs}\` does not match its event: a search would hide or misplace it` };
        break;
      }
    }
    seq = want;
    beforePrev = expectedPrev;
    expectedPrev = row.hash;
    tree.append(row.hash);
    if (next < checked.length) checkAt(seq, row.hash);
  }
  if (rowFailure !== undefined) return { ...rowFailure, size: seq };
  if (failure !== undefined) return { ...(failure as Failure), size: seq };
  const beyond = checked.slice(next);
  if (beyond.length > 0) {
    const top = beyond[beyond.length - 1] as Checked;
    return { ok: false, size: seq, seq: seq + 1, reason: 'truncated', detail: `a signed ${top.fromWitness ? 'witness ' : ''}checkpoint covers ${top.c.treeSize} rows, but the log ends at ${seq}: rows were deleted from the end or the log was rolled back to an older copy` };
  }
  // A retired key signed a checkpoint at its retirement size: the log held that many events.
  const retired = (input.scope ?? 'log') === 'log' ? Math.max(0, ...keys.keys.map((k) => k.retiredAfter ?? 0)) : 0;
  if (retired > seq) {
    return { ok: false, size: seq, seq: seq + 1, reason: 'truncated', detail: `the key file retired a key after tree size ${retired}, but the log ends at ${seq}: rows were deleted from the end or the log was replaced` };
  }
  if (seq - signedSize > keys.checkpointEvery) {
    return { ok: false, size: seq, seq: signedSize + 1, reason: 'unsigned-tail', detail: `${seq - signedSize} rows after tree size ${signedSize} are covered by no valid checkpoint (at most ${keys.checkpointEvery} may be): checkpoints were removed or forged` };
  }
  return { ok: true, size: seq, checkpoints: checked.filter((x) => !x.fromWitness).length, witnessed: checked.filter((x) => x.fromWitness).length, signedSize, start, empty: seq === 0 };
}

/** Byte equality without copying either side. */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return (a instanceof Buffer ? a : Buffer.from(a.buffer, a.byteOffset, a.length)).equals(b);
}

/** The first search column that differs from what the event says, if any. */
function searchColumnsDiffer(eventText: string, columns: NonNullable<AuditRow['columns']>): string | undefined {
  let event: { time?: unknown; action?: unknown; outcome?: unknown; principal?: { id?: unknown } };
  try {
    event = JSON.parse(eventText) as typeof event;
  } catch {
    return 'event';
  }
  if (columns.time !== event.time) return 'time';
  if (columns.actor !== (event.principal?.id ?? null)) return 'actor';
  if (columns.action !== event.action) return 'action';
  if (columns.decision !== event.outcome) return 'decision';
  return undefined;
}
