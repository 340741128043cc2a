import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { isPalisadeError, silentLogger } from '../kernel/index.js';
import { archiveAuditLog, writeAuditArchive } from './archive-audit-log.js';
import { AUDIT_PUBLIC_KEY_FILE, loadAuditKeyFile } from './audit-keys.js';
import { makeTestEvent } from './audit-test-events.test-support.js';
import { ChainWriter } from './chain-writer.js';
import { parseArchiveStatement, signArchiveStatement } from './checkpoint.js';
import { openAuditLog } from './open-audit-log.js';
import { createAuditProof, verifyAuditProof } from './query-audit-log.js';
import { verifyAuditArchives, verifyAuditLog } from './read-audit-log.js';

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const EVERY = 10;
const NOW = (): number => 1_764_662_400_000;

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'palisade-retention-'));
  roots.push(d);
  return d;
}

function writer(stateDir: string, witness?: string): ChainWriter {
  return new ChainWriter({ stateDir, mode: 'sync', checkpointEvery: EVERY, checkpointEverySec: 3600, now: NOW, ...(witness === undefined ? {} : { witnessPath: witness }) });
}

function append(w: ChainWriter, count: number, from = w.size + 1): void {
  for (let i = 0; i < count; i += 7) w.append(Array.from({ length: Math.min(7, count - i) }, (_, k) => makeTestEvent(from + i + k)));
}

function makeLog(count = 50): { base: string; dir: string; witness: string } {
  const base = tempDir();
  const dir = join(base, '.palisade');
  const witness = join(base, 'witness.jsonl');
  const w = writer(dir, witness);
  append(w, count);
  w.close();
  return { base, dir, witness };
}

function archive(dir: string, beforeSeq: number, out: string, witness?: string): { file: string; first: number; last: number } {
  const r = archiveAuditLog({ stateDir: dir, cut: { beforeSeq }, out, now: NOW, ...(witness === undefined ? {} : { witnessPath: witness }) });
  assert.equal(r.archived, true, JSON.stringify(r));
  if (!r.archived) throw new Error('not archived');
  return r;
}

function withDb<T>(dir: string, fn: (db: Database.Database) => T): T {
  const db = new Database(join(dir, 'audit.db'));
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function expectFailure(report: { ok: boolean; reason?: string; seq?: number; detail?: string }, seq: number, reason: string): void {
  assert.equal(report.ok, false, `expected ${reason} at ${seq}, got ok`);
  assert.equal(report.reason, reason, report.detail);
  assert.equal(report.seq, seq, report.detail);
}

function assertOk(report: { ok: boolean }, what: string): void {
  assert.equal(report.ok, true, `${what}: ${JSON.stringify(report)}`);
}

describe('audit retention: archive and prune with a signed archive checkpoint', () => {
  test('a pruned log verifies from its new start, the archive alone, and both together from genesis', () => {
    const { base, dir, witness } = makeLog(50);
    const out = join(base, 'archive-1.jsonl');
    const r = archive(dir, 31, out, witness);
    assert.deepEqual([r.first, r.last], [1, 30]);
    const { rows, min, below } = withDb(dir, (db) => ({
      rows: db.prepare('SELECT COUNT(*) FROM audit_events').pluck().get(),
      min: db.prepare('SELECT MIN(seq) FROM audit_events').pluck().get(),
      below: db.prepare("SELECT COUNT(*) FROM audit_checkpoints WHERE tree_size <= 30 AND statement NOT LIKE 'palisade-audit-archive/1%'").pluck().get(),
    }));
    assert.deepEqual([rows, min, below], [20, 31, 0]);
    const live = verifyAuditLog({ stateDir: dir, witnessPath: witness });
    assertOk(live, 'live log with witness');
    if (live.ok) assert.deepEqual([live.start, live.size, live.empty], [31, 50, false]);
    const alone = verifyAuditArchives({ archives: [out], keyFile: join(dir, AUDIT_PUBLIC_KEY_FILE) });
    assertOk(alone, 'archive alone');
    if (alone.ok) assert.deepEqual([alone.start, alone.size], [1, 30]);
    const together = verifyAuditLog({ stateDir: dir, archives: [out], witnessPath: witness });
    assertOk(together, 'archive and log');
    if (together.ok) assert.deepEqual([together.start, together.size], [1, 50]);
  });

  test('head rows deleted without an archive checkpoint are still tampering', () => {
    const { dir } = makeLog(50);
    withDb(dir, (db) => db.prepare('DELETE FROM audit_events WHERE seq <= 30').run());
    expectFailure(verifyAuditLog({ stateDir: dir }), 1, 'missing-row');
  });

  test('a pruned log whose archive checkpoint was removed fails; rows deleted beyond it fail', () => {
    const { base, dir } = makeLog(50);
    archive(dir, 31, join(base, 'a.jsonl'));
    withDb(dir, (db) => db.prepare('DELETE FROM audit_events WHERE seq <= 33').run());
    expectFailure(verifyAuditLog({ stateDir: dir }), 1, 'missing-row');
    const other = makeLog(50);
    archive(other.dir, 31, join(other.base, 'a.jsonl'));
    withDb(other.dir, (db) => db.prepare("DELETE FROM audit_checkpoints WHERE statement LIKE 'palisade-audit-archive/1%'").run());
    expectFailure(verifyAuditLog({ stateDir: other.dir }), 1, 'missing-row');
  });

  test('a forged archive checkpoint (another key claimed as ours, or a planted key) does not excuse deleted rows', () => {
    const { base, dir } = makeLog(50);
    archive(dir, 21, join(base, 'a.jsonl'));
    const keys = loadAuditKeyFile(join(dir, AUDIT_PUBLIC_KEY_FILE));
    const attacker = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    // The attacker deletes rows 21..40 and covers them with an archive checkpoint of their own,
    // copying every field a genuine one would have (a genuine range and root from a real log).
    const genuine = makeLog(50);
    archive(genuine.dir, 41, join(genuine.base, 'g.jsonl'));
    const model = withDb(genuine.dir, (db) => parseArchiveStatement(db.prepare("SELECT statement FROM audit_checkpoints WHERE statement LIKE 'palisade-audit-archive/1%'").pluck().get() as string));
    assert.ok(model !== undefined);
    const head = withDb(dir, (db) => (db.prepare('SELECT prev_hash FROM audit_events WHERE seq = 41').pluck().get() as Buffer).toString('hex'));
    for (const keyId of [keys.keys[0]?.keyId as string, 'c2c2c2c2c2c2c2c2']) {
      withDb(dir, (db) => {
        db.prepare('DELETE FROM audit_events WHERE seq <= 40').run();
        const forged = signArchiveStatement({ ...model, instance: keys.instance, head, keyId }, attacker);
        db.prepare('INSERT INTO audit_checkpoints (tree_size, statement, signature) VALUES (40, ?, ?)').run(forged.statement, forged.signature);
      });
      const r = verifyAuditLog({ stateDir: dir });
      assert.equal(r.ok, false);
      if (!r.ok) assert.ok(['bad-signature', 'unknown-key'].includes(r.reason), r.detail);
      if (!r.ok) assert.equal(r.reason, keyId === keys.keys[0]?.keyId ? 'bad-signature' : 'unknown-key');
      withDb(dir, (db) => db.prepare('DELETE FROM audit_checkpoints WHERE tree_size = 40').run());
    }
  });

  test('a modified archive file is rejected: an event changed, a line removed, or the digest re-signed by someone else', () => {
    const { base, dir } = makeLog(50);
    const out = join(base, 'a.jsonl');
    archive(dir, 31, out);
    const keyFile = join(dir, AUDIT_PUBLIC_KEY_FILE);
    const original = readFileSync(out, 'utf8');
    const lines = original.split('\n');
    writeFileSync(out, original.replace('\\"status\\":200', '\\"status\\":201'));
    expectFailure(verifyAuditArchives({ archives: [out], keyFile }), 1, 'archive-modified');
    expectFailure(verifyAuditLog({ stateDir: dir, archives: [out] }), 1, 'archive-modified');
    writeFileSync(out, [...lines.slice(0, 5), ...lines.slice(6)].join('\n'));
    expectFailure(verifyAuditArchives({ archives: [out], keyFile }), 1, 'archive-modified');
    writeFileSync(out, `${original}{"extra":1}\n`);
    expectFailure(verifyAuditArchives({ archives: [out], keyFile }), 1, 'archive-modified');
    // The attacker changes an event and fixes the digest in the trailer: the signature breaks.
    const changed = lines.slice(0, -2).join('\n').replace('\\"status\\":200', '\\"status\\":201');
    const trailer = JSON.parse(lines[lines.length - 2] as string) as { archive: { statement: string; signature: string } };
    const digest = createHash('sha256').update(`${changed}\n`).digest('hex');
    trailer.archive.statement = trailer.archive.statement.replace(/archive: [0-9a-f]{64}/, `archive: ${digest}`);
    writeFileSync(out, `${changed}\n${JSON.stringify(trailer)}\n`);
    const r = verifyAuditArchives({ archives: [out], keyFile });
    assert.equal(r.ok, false);
    if (!r.ok) assert.ok(['bad-signature', 'hash-mismatch'].includes(r.reason), r.detail);
  });

  test('the writer resumes a pruned log: later checkpoints sign roots over every event since genesis', () => {
    const { base, dir, witness } = makeLog(50);
    const a1 = join(base, 'a1.jsonl');
    archive(dir, 31, a1, witness);
    const w = writer(dir, witness);
    assert.equal(w.size, 50);
    append(w, 25);
    w.close();
    assertOk(verifyAuditLog({ stateDir: dir, witnessPath: witness }), 'live after restart');
    assertOk(verifyAuditLog({ stateDir: dir, archives: [a1], witnessPath: witness }), 'archive + live after restart');
    // A second archive starts from the first archive checkpoint, and carries it.
    const a2 = join(base, 'a2.jsonl');
    const r = archive(dir, 61, a2, witness);
    assert.deepEqual([r.first, r.last], [31, 60]);
    assertOk(verifyAuditLog({ stateDir: dir, witnessPath: witness }), 'live after the second archive');
    assertOk(verifyAuditArchives({ archives: [a2], keyFile: join(dir, AUDIT_PUBLIC_KEY_FILE) }), 'second archive alone');
    assertOk(verifyAuditLog({ stateDir: dir, archives: [a2] }), 'second archive + live');
    const all = verifyAuditLog({ stateDir: dir, archives: [a2, a1] });
    assertOk(all, 'both archives + live');
    if (all.ok) assert.deepEqual([all.start, all.size], [1, 75]);
    // Leaving out the middle archive is a gap, not a silent pass.
    expectFailure(verifyAuditLog({ stateDir: dir, archives: [a1] }), 31, 'missing-row');
  });

  test('a crash after the archive is written but before the prune leaves a consistent log; the command runs again', () => {
    const { base, dir } = makeLog(50);
    const out = join(base, 'a.jsonl');
    const child = fileURLToPath(new URL('./archive-then-killed.test-support.js', import.meta.url));
    const run = spawnSync(process.execPath, [child, dir, '31', out], { encoding: 'utf8' });
    assert.equal(run.signal, 'SIGKILL', run.stderr);
    assert.ok(existsSync(out), 'the archive was fsync\'d and renamed before the crash');
    const rows = withDb(dir, (db) => db.prepare('SELECT COUNT(*) FROM audit_events').pluck().get());
    assert.equal(rows, 50, 'nothing was pruned');
    assertOk(verifyAuditLog({ stateDir: dir }), 'log after the crash');
    assertOk(verifyAuditArchives({ archives: [out], keyFile: join(dir, AUDIT_PUBLIC_KEY_FILE) }), 'orphan archive alone');
    // Run again: the unfinished archive of rows still in the log is replaced.
    archive(dir, 31, out);
    assertOk(verifyAuditLog({ stateDir: dir, archives: [out] }), 'after the re-run');
    // An archive whose rows are already pruned is never overwritten.
    assert.throws(() => archive(dir, 41, out), (e: unknown) => isPalisadeError(e) && e.code === 'PAL_AUDIT_ARCHIVE_REFUSED');
  });

  test('archiving while the node writes: the writer thread keeps appending and everything verifies', async () => {
    const base = tempDir();
    const dir = join(base, '.palisade');
    const log = await openAuditLog({ stateDir: dir, mode: 'sync', checkpointEvery: EVERY, checkpointEverySec: 60, logger: silentLogger });
    let i = 1;
    for (; i <= 200; i++) await log.append(makeTestEvent(i));
    let stop = false;
    const appender = (async () => {
      while (!stop) await log.append(makeTestEvent(i++));
    })();
    const outs: string[] = [];
    try {
      for (const before of [101, 181]) {
        await new Promise((r) => setTimeout(r, 20));
        const out = join(base, `a-${before}.jsonl`);
        const r = archiveAuditLog({ stateDir: dir, cut: { beforeSeq: before }, out, now: Date.now });
        assert.equal(r.archived, true);
        outs.push(out);
      }
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      stop = true;
      await appender;
      await log.close();
    }
    const live = verifyAuditLog({ stateDir: dir });
    assertOk(live, 'live log');
    if (live.ok) assert.deepEqual([live.start, live.size], [181, i - 1]);
    assertOk(verifyAuditLog({ stateDir: dir, archives: outs }), 'archives + live log');
  });

  test('--older-than archives the contiguous prefix of old events and always keeps the newest', () => {
    const { base, dir } = makeLog(50);
    const r = archiveAuditLog({ stateDir: dir, cut: { olderThan: makeTestEvent(21).time }, out: join(base, 'a.jsonl'), now: NOW });
    assert.equal(r.archived, true);
    if (r.archived) assert.equal(r.last, 20);
    const all = archiveAuditLog({ stateDir: dir, cut: { olderThan: makeTestEvent(9999).time }, out: join(base, 'b.jsonl'), now: NOW });
    if (all.archived) assert.equal(all.last, 49);
    assertOk(verifyAuditLog({ stateDir: dir, archives: [join(base, 'a.jsonl'), join(base, 'b.jsonl')] }), 'both');
    const none = archiveAuditLog({ stateDir: dir, cut: { beforeSeq: 50 }, out: join(base, 'c.jsonl'), now: NOW });
    assert.equal(none.archived, false);
  });

  test('proofs: an archived event points to the archive; a live event still proves against a signed root', () => {
    const { base, dir } = makeLog(50);
    archive(dir, 23, join(base, 'a.jsonl'));
    assert.throws(() => createAuditProof(dir, 5), (e: unknown) => isPalisadeError(e) && e.code === 'PAL_AUDIT_ARCHIVED' && /archived/.test(e.message));
    const keys = loadAuditKeyFile(join(dir, AUDIT_PUBLIC_KEY_FILE));
    for (const seq of [23, 24, 33, 40, 50]) {
      const proof = createAuditProof(dir, seq);
      assert.deepEqual(verifyAuditProof(proof, keys), { ok: true }, `seq ${seq}`);
    }
  });

  test('refuses to prune what a live sink has not delivered, and refuses a log that does not verify', () => {
    const { base, dir } = makeLog(50);
    withDb(dir, (db) => db.prepare("INSERT INTO audit_sink_cursors (sink, delivered_seq) VALUES ('siem', 12)").run());
    assert.throws(() => archive(dir, 31, join(base, 'a.jsonl')), (e: unknown) => isPalisadeError(e) && e.code === 'PAL_AUDIT_ARCHIVE_REFUSED');
    archive(dir, 13, join(base, 'a.jsonl'));
    withDb(dir, (db) => db.prepare("UPDATE audit_events SET event = replace(event, '\"status\":200', '\"status\":201') WHERE seq = 20").run());
    assert.throws(() => archive(dir, 14, join(base, 'b.jsonl')), (e: unknown) => isPalisadeError(e) && e.code === 'PAL_AUDIT_CHAIN_BROKEN');
    assert.ok(!existsSync(join(base, 'b.jsonl')));
  });

  test('a writer never continues a log whose head rows were deleted without an archive checkpoint', () => {
    const { dir } = makeLog(30);
    withDb(dir, (db) => db.prepare('DELETE FROM audit_events WHERE seq <= 5').run());
    assert.throws(() => writer(dir), (e: unknown) => isPalisadeError(e) && e.code === 'PAL_AUDIT_CHAIN_BROKEN');
  });
});
