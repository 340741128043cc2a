import { appendFileSync, chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { PalisadeError, type AuditEvent } from '../kernel/index.js';
import { AUDIT_PUBLIC_KEY_FILE, ensureAuditSigningKey, rotateAuditSigningKey, type AuditSigningKey } from './audit-keys.js';
import { AUDIT_DB_FILE, prepareAuditDatabase } from './audit-schema.js';
import { canonicalizeJson } from './canonical-json.js';
import { computeEventHash, computeGenesisHash } from './chain-hash.js';
import { parseArchiveStatement, signCheckpoint, type CheckpointKind, type SignedCheckpoint } from './checkpoint.js';
import { MerkleFrontier } from './merkle.js';

/** How the chain writer runs. */
export interface ChainWriterOptions {
  /** The `.palisade/` directory: holds `audit.db`, `audit.pub` and `audit-keys/`. */
  readonly stateDir: string;
  /** `sync`: `synchronous=FULL` (each commit fsync'd); `async`: `synchronous=NORMAL`. */
  readonly mode: 'sync' | 'async';
  /** Sign a checkpoint once this many events are unsigned (inside the same transaction). */
  readonly checkpointEvery: number;
  /** Sign a checkpoint when events are unsigned for this long. */
  readonly checkpointEverySec: number;
  /** Also append each checkpoint to this file (JSON lines), fsync'd. */
  readonly witnessPath?: string;
  readonly now: () => number;
}

interface ChainHead {
  seq: number;
  head: Buffer;
  tree: MerkleFrontier;
  signedSize: number;
  signedAt: number;
}

/**
 * The writer of one audit chain (one per process; another process appending to the same log, the
 * CLI while a node runs, is taken into the head inside each write transaction): canonicalises, hashes and inserts events in one
 * transaction per batch (group commit), and signs checkpoints. Synchronous (better-sqlite3):
 * run it off the gateway's event loop (see `openAuditLog`, which hosts it in a worker thread).
 *
 * INVARIANT: the in-memory head changes only after its transaction committed; a failed batch
 * leaves both the database and the head as they were, so the next batch simply retries.
 */
export class ChainWriter {
  readonly #options: ChainWriterOptions;
  readonly #dbPath: string;
  #db: Database.Database | undefined;
  #key: AuditSigningKey;
  #state: ChainHead;
  #broken = false;
  readonly #warnings: string[] = [];

  constructor(options: ChainWriterOptions) {
    this.#options = options;
    this.#dbPath = join(options.stateDir, AUDIT_DB_FILE);
    // Keys without their log prove a log existed: a deleted log must not become a fresh chain.
    if (existsSync(join(options.stateDir, AUDIT_PUBLIC_KEY_FILE)) && !existsSync(this.#dbPath)) {
      throw new PalisadeError('PAL_AUDIT_LOG_MISSING', `\`${this.#dbPath}\` is missing while the audit signing keys of this instance exist: the log was deleted or moved`, { expose: true });
    }
    this.#key = ensureAuditSigningKey(options.stateDir, options.checkpointEvery, options.now());
    this.#db = this.#open();
    this.#state = this.#load(this.#db);
    // A crash may have left events after the last checkpoint: sign them now.
    if (this.#state.seq > this.#state.signedSize) this.checkpoint('startup');
  }

  /** The instance id bound into this chain. */
  get instance(): string {
    return this.#key.instance;
  }

  /** Number of events in the chain. */
  get size(): number {
    return this.#state.seq;
  }

  #open(): Database.Database {
    try {
      mkdirSync(this.#options.stateDir, { recursive: true, mode: 0o700 });
      const db = new Database(this.#dbPath);
      chmodSync(this.#dbPath, 0o600);
      prepareAuditDatabase(db, this.#options.mode === 'sync' ? 'FULL' : 'NORMAL');
      const stored = db.prepare("SELECT value FROM audit_meta WHERE key = 'instance'").pluck().get() as string | undefined;
      if (stored === undefined) db.prepare("INSERT INTO audit_meta (key, value) VALUES ('instance', ?)").run(this.#key.instance);
      else if (stored !== this.#key.instance) {
        db.close();
        throw new PalisadeError('PAL_AUDIT_KEYS_INVALID', `\`${this.#dbPath}\` belongs to audit instance \`${stored}\`, but \`audit.pub\` to \`${this.#key.instance}\``, { expose: true });
      }
      return db;
    } catch (error) {
      if (error instanceof PalisadeError) throw error;
      throw new PalisadeError('PAL_AUDIT_UNAVAILABLE', `cannot open the audit log \`${this.#dbPath}\``, { cause: error, expose: true });
    }
  }

  #load(db: Database.Database): ChainHead {
    let tree = new MerkleFrontier();
    let seq = 0;
    let head = computeGenesisHash(this.#key.instance);
    const first = db.prepare('SELECT MIN(seq) FROM audit_events').pluck().get() as number | null;
    if (first === null || first > 1) {
      // A pruned log resumes from its archive checkpoint: the head and the compact Merkle range
      // of the archived prefix, so later checkpoints sign roots over every event since genesis.
      const anchor = this.#findArchiveAnchor(db, first === null ? undefined : first - 1);
      if (anchor !== undefined) {
        tree = anchor.tree;
        seq = anchor.tree.size;
        head = anchor.head;
      } else if (first !== null) {
        throw new PalisadeError('PAL_AUDIT_CHAIN_BROKEN', `\`${this.#dbPath}\` starts at row ${first} without an archive checkpoint: its first rows were deleted`, { expose: true });
      }
    }
    for (const row of db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq').raw().iterate() as IterableIterator<[number, Buffer]>) {
      seq = row[0];
      head = row[1];
      tree.append(head);
    }
    const last = db.prepare('SELECT MAX(tree_size) FROM audit_checkpoints').pluck().get() as number | null;
    return { seq, head, tree, signedSize: last ?? 0, signedAt: this.#options.now() };
  }

  /** The archive checkpoint at `size` (or the largest one when `size` is undefined), as a resumable tree. */
  #findArchiveAnchor(db: Database.Database, size: number | undefined): { tree: MerkleFrontier; head: Buffer } | undefined {
    const rows = db.prepare("SELECT statement FROM audit_checkpoints WHERE statement LIKE 'palisade-audit-archive/1%' ORDER BY tree_size DESC").pluck().all() as string[];
    for (const text of rows) {
      const s = parseArchiveStatement(text);
      if (s === undefined || (size !== undefined && s.treeSize !== size)) continue;
      const tree = MerkleFrontier.fromCompactRange(s.treeSize, s.range.map((h) => Buffer.from(h, 'hex')));
      if (tree !== undefined) return { tree, head: Buffer.from(s.head, 'hex') };
    }
    return undefined;
  }

  /** Reopens the database after a failure, and reloads the head if it moved. */
  #ensureOpen(): Database.Database {
    if (this.#db !== undefined && !this.#broken) return this.#db;
    try {
      this.#db?.close();
    } catch {
      // The old connection is being replaced; its close error carries nothing new.
    }
    this.#db = undefined;
    const db = this.#open();
    const top = db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').raw().get() as [number, Buffer] | undefined;
    if ((top?.[0] ?? 0) !== this.#state.seq || (top !== undefined && !top[1].equals(this.#state.head))) this.#state = this.#load(db);
    this.#db = db;
    this.#broken = false;
    return db;
  }

  /**
   * Appends events in one transaction, signing a checkpoint in the same transaction when the
   * unsigned tail reaches `checkpointEvery`. Returns the sequence number of the last event once
   * committed; throws `PAL_AUDIT_UNAVAILABLE` (nothing written) when it cannot.
   */
  append(events: readonly AuditEvent[]): { lastSeq: number; checkpoints: SignedCheckpoint[] } {
    if (events.length === 0) return { lastSeq: this.#state.seq, checkpoints: [] };
    let next: ChainHead | undefined;
    const checkpoints: SignedCheckpoint[] = [];
    try {
      const db = this.#ensureOpen();
      const insert = db.prepare('INSERT INTO audit_events (seq, time, actor, action, decision, event, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      const insertCheckpoint = db.prepare('INSERT INTO audit_checkpoints (tree_size, statement, signature) VALUES (?, ?, ?)');
      // IMMEDIATE: the write lock is taken before the head is read, so another process (the CLI
      // while a node runs) cannot append between the read and the insert.
      db.transaction(() => {
        checkpoints.length = 0;
        const base = this.#catchUp(db);
        const tree = base.tree.clone();
        let seq = base.seq;
        let head = base.head;
        let signedSize = base.signedSize;
        for (const event of events) {
          const text = canonicalizeJson(event);
          const hash = computeEventHash(head, text);
          seq++;
          insert.run([seq, event.time, event.principal?.id ?? null, event.action, event.outcome, text, head, hash]);
          head = hash;
          tree.append(hash);
          if (seq - signedSize >= this.#options.checkpointEvery) {
            const c = this.#sign(seq, head, tree, 'periodic');
            insertCheckpoint.run(seq, c.statement, c.signature);
            checkpoints.push(c);
            signedSize = seq;
          }
        }
        next = { seq, head, tree, signedSize, signedAt: base.signedAt };
      }).immediate();
    } catch (error) {
      this.#broken = true;
      throw unavailable(this.#dbPath, error);
    }
    const done = next as ChainHead;
    this.#state = { ...done, signedAt: checkpoints.length > 0 ? this.#options.now() : done.signedAt };
    for (const c of checkpoints) this.#witness(c);
    return { lastSeq: done.seq, checkpoints };
  }

  /**
   * The chain's head as the database has it, read inside the caller's write transaction. Another
   * process may have appended since this writer's last commit (a `palisade secrets …` or
   * `palisade users …` command while a node runs): its rows are taken into the head (only the
   * new rows when they continue this writer's head, else the whole chain is reloaded), so the
   * next event links to the real last one instead of colliding with it. Does not change
   * `#state` (the transaction may still roll back).
   */
  #catchUp(db: Database.Database): ChainHead {
    const state = this.#state;
    const top = db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').raw().get() as [number, Buffer] | undefined;
    if ((top?.[0] ?? 0) === state.seq && (top === undefined || top[1].equals(state.head))) return state;
    const mine = state.seq === 0 ? undefined : (db.prepare('SELECT hash FROM audit_events WHERE seq = ?').pluck().get(state.seq) as Buffer | undefined);
    if (top === undefined || top[0] < state.seq || mine === undefined || !mine.equals(state.head)) return this.#load(db);
    const tree = state.tree.clone();
    let seq = state.seq;
    let head = state.head;
    for (const [s, prev, hash] of db.prepare('SELECT seq, prev_hash, hash FROM audit_events WHERE seq > ? ORDER BY seq').raw().iterate(state.seq) as IterableIterator<[number, Buffer, Buffer]>) {
      if (s !== seq + 1 || !prev.equals(head)) return this.#load(db);
      seq = s;
      head = hash;
      tree.append(hash);
    }
    const signed = db.prepare('SELECT MAX(tree_size) FROM audit_checkpoints').pluck().get() as number | null;
    return { seq, head, tree, signedSize: Math.max(state.signedSize, signed ?? 0), signedAt: state.signedAt };
  }

  #sign(size: number, head: Buffer, tree: MerkleFrontier, kind: CheckpointKind): SignedCheckpoint {
    return signCheckpoint({ instance: this.#key.instance, treeSize: size, head: head.toString('hex'), root: tree.root().toString('hex'), time: this.#options.now(), keyId: this.#key.keyId, kind }, this.#key.privateKey);
  }

  #witness(c: SignedCheckpoint): void {
    const path = this.#options.witnessPath;
    if (path === undefined) return;
    try {
      mkdirSync(dirname(path), { recursive: true });
      appendFileSync(path, `${JSON.stringify(c)}\n`, { mode: 0o644 });
      const fd = openSync(path, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      // The checkpoint is committed in the log; a witness that cannot be written is reported,
      // and the next checkpoint (which covers this one) is copied again.
      this.#warnings.push(`cannot write the audit witness \`${path}\`: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown'}`);
    }
  }

  /** Warnings since the last call (witness copies that failed). */
  takeWarnings(): string[] {
    return this.#warnings.splice(0);
  }

  /** Signs a checkpoint over the whole chain now (also when nothing is unsigned, for `rotation`/`archive`). */
  checkpoint(kind: CheckpointKind): SignedCheckpoint {
    let c: SignedCheckpoint | undefined;
    let base: ChainHead = this.#state;
    try {
      const db = this.#ensureOpen();
      db.transaction(() => {
        base = this.#catchUp(db);
        c = this.#sign(base.seq, base.head, base.tree, kind);
        db.prepare('INSERT INTO audit_checkpoints (tree_size, statement, signature) VALUES (?, ?, ?)').run(base.seq, c.statement, c.signature);
      }).immediate();
    } catch (error) {
      this.#broken = true;
      throw unavailable(this.#dbPath, error);
    }
    const signed = c as SignedCheckpoint;
    this.#state = base;
    this.#state.signedSize = this.#state.seq;
    this.#state.signedAt = this.#options.now();
    this.#witness(signed);
    return signed;
  }

  /** Signs a checkpoint when events have been unsigned for `checkpointEverySec`. */
  checkpointIfDue(): SignedCheckpoint | undefined {
    if (this.#state.seq === this.#state.signedSize) return undefined;
    if (this.#options.now() - this.#state.signedAt < this.#options.checkpointEverySec * 1000) return undefined;
    return this.checkpoint('periodic');
  }

  /**
   * Rotates the signing key: a last checkpoint with the old key, then the old key is retired
   * after that tree size (its private key deleted) and a new key signs from now on.
   */
  rotateKey(): { retired: string; active: string } {
    const retired = this.#key.keyId;
    this.checkpoint('rotation');
    this.#key = rotateAuditSigningKey(this.#options.stateDir, this.#state.seq, this.#options.now());
    this.checkpoint('rotation');
    return { retired, active: this.#key.keyId };
  }

  /** Signs the tail (when unsigned) and closes the database. */
  close(): void {
    try {
      if (this.#state.seq > this.#state.signedSize) this.checkpoint('shutdown');
    } finally {
      this.#db?.close();
      this.#db = undefined;
    }
  }
}

function sizeOf(c: SignedCheckpoint): number {
  const m = /\ntree-size: ([0-9]+)\n/.exec(c.statement);
  return Number(m?.[1] ?? 0);
}

function unavailable(path: string, error: unknown): PalisadeError {
  const code = (error as { code?: unknown }).code;
  return new PalisadeError('PAL_AUDIT_UNAVAILABLE', `cannot write the audit log \`${path}\`${typeof code === 'string' ? ` (${code.toLowerCase()})` : ''}`, { cause: error });
}
