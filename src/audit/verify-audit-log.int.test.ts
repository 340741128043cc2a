import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import Database from 'better-sqlite3';
import { AUDIT_PUBLIC_KEY_FILE, loadAuditKeyFile } from './audit-keys.js';
import { makeTestEvent } from './audit-test-events.test-support.js';
import { canonicalizeJson } from './canonical-json.js';
import { computeEventHash, computeGenesisHash } from './chain-hash.js';
import { ChainWriter } from './chain-writer.js';
import { formatCheckpoint, parseCheckpoint, signCheckpoint } from './checkpoint.js';
import { MerkleFrontier } from './merkle.js';
import { verifyAuditLog } from './read-audit-log.js';

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'palisade-audit-'));
  roots.push(d);
  return d;
}

const EVERY = 10;

function writeLog(stateDir: string, count: number, options: { witness?: string; from?: number } = {}): ChainWriter {
  const w = new ChainWriter({ stateDir, mode: 'sync', checkpointEvery: EVERY, checkpointEverySec: 3600, now: () => 1_764_662_400_000, ...(options.witness === undefined ? {} : { witnessPath: options.witness }) });
  const from = options.from ?? w.size + 1;
  for (let i = 0; i < count; i += 7) w.append(Array.from({ length: Math.min(7, count - i) }, (_, k) => makeTestEvent(from + i + k)));
  return w;
}

function makeLog(count = 50, witness?: string): { dir: string; witness: string } {
  const dir = tempDir();
  const w = witness ?? join(dir, 'witness.jsonl');
  writeLog(join(dir, '.palisade'), count, { witness: w }).close();
  return { dir: join(dir, '.palisade'), witness: w };
}

function withDb(dir: string, fn: (db: Database.Database) => void): void {
  const db = new Database(join(dir, 'audit.db'));
  try {
    fn(db);
  } finally {
    db.close();
  }
}

function expectFailure(report: ReturnType<typeof verifyAuditLog>, seq: number, reason: string): void {
  assert.equal(report.ok, false, `expected ${reason} at ${seq}, got ok`);
  if (report.ok) return;
  assert.equal(report.reason, reason, report.detail);
  assert.equal(report.seq, seq, report.detail);
}

type Row = { seq: number; event: string; prev_hash: Buffer; hash: Buffer };

/** Re-hashes rows from `fromSeq` on, as an attacker without the signing key would. */
function rehashFrom(db: Database.Database, fromSeq: number): void {
  const rows = db.prepare('SELECT seq, event, prev_hash, hash FROM audit_events ORDER BY seq').all() as Row[];
  let prev = rows.find((r) => r.seq === fromSeq)?.prev_hash as Buffer;
  const upd = db.prepare('UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?');
  for (const r of rows.filter((x) => x.seq >= fromSeq)) {
    const hash = computeEventHash(prev, r.event);
    upd.run(prev, hash, r.seq);
    prev = hash;
  }
}

/** Signs checkpoints over the current rows with `key`, claiming `keyId`. */
function forgeCheckpoints(db: Database.Database, instance: string, keyId: string, privatePem: string): void {
  const rows = db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq').all() as { seq: number; hash: Buffer }[];
  const tree = new MerkleFrontier();
  db.exec('DELETE FROM audit_checkpoints');
  const ins = db.prepare('INSERT INTO audit_checkpoints (tree_size, statement, signature) VALUES (?, ?, ?)');
  for (const r of rows) {
    tree.append(r.hash);
    if (r.seq % EVERY === 0 || r.seq === rows.length) {
      const c = signCheckpoint({ instance, treeSize: r.seq, head: r.hash.toString('hex'), root: tree.root().toString('hex'), time: 1, keyId, kind: 'periodic' }, privatePem);
      ins.run(r.seq, c.statement, c.signature);
    }
  }
}

describe('audit verification: the tamper matrix', () => {
  test('a clean log verifies, with its stored and witnessed checkpoints', () => {
    const { dir, witness } = makeLog();
    const r = verifyAuditLog({ stateDir: dir, witnessPath: witness });
    assert.equal(r.ok, true, JSON.stringify(r));
    if (r.ok) {
      assert.equal(r.size, 50);
      assert.equal(r.signedSize, 50);
      assert.ok(r.checkpoints >= 5 && r.witnessed >= 5);
    }
  });

  test('a changed field: the row no longer hashes to its stored hash', () => {
    const { dir } = makeLog();
    withDb(dir, (db) => db.prepare("UPDATE audit_events SET event = replace(event, '\"status\":200', '\"status\":201') WHERE seq = 17").run());
    expectFailure(verifyAuditLog({ stateDir: dir }), 17, 'hash-mismatch');
  });

  test('a changed field with the row re-hashed: the next row no longer links to it', () => {
    const { dir } = makeLog();
    withDb(dir, (db) => {
      const r = db.prepare('SELECT event, prev_hash FROM audit_events WHERE seq = 17').get() as Row;
      const event = r.event.replace('"outcome":"allow"', '"outcome":"deny"');
      // The search column follows, as a careful forger would make it.
      db.prepare("UPDATE audit_events SET event = ?, hash = ?, decision = 'deny' WHERE seq = 17").run(event, computeEventHash(r.prev_hash, event));
    });
    expectFailure(verifyAuditLog({ stateDir: dir }), 18, 'broken-link');
  });

  test('a search column rewritten (decision, actor or time): a search would hide the row, so verification fails at it', () => {
    for (const [column, sql] of [
      ['decision', "UPDATE audit_events SET decision = CASE decision WHEN 'allow' THEN 'deny' ELSE 'allow' END WHERE seq = 12"],
      ['actor', "UPDATE audit_events SET actor = 'someone-else' WHERE seq = 12"],
      ['time', 'UPDATE audit_events SET time = time - 34560000000 WHERE seq = 12'],
    ] as const) {
      const { dir } = makeLog();
      withDb(dir, (db) => db.prepare(sql).run());
      const report = verifyAuditLog({ stateDir: dir });
      expectFailure(report, 12, 'index-mismatch');
      assert.ok(!report.ok && report.detail.includes(column), column);
    }
  });

  test('a checkpoint row whose size column disagrees with its signed statement', () => {
    const { dir } = makeLog();
    withDb(dir, (db) => db.prepare('UPDATE audit_checkpoints SET tree_size = 999999 WHERE id = (SELECT min(id) FROM audit_checkpoints)').run());
    assert.equal(verifyAuditLog({ stateDir: dir }).ok, false);
  });

  test('a deleted row in the middle', () => {
    const { dir } = makeLog();
    withDb(dir, (db) => db.prepare('DELETE FROM audit_events WHERE seq = 23').run());
    expectFailure(verifyAuditLog({ stateDir: dir }), 23, 'missing-row');
  });

  test('a deleted row in the middle with the rest renumbered', () => {
    const { dir } = makeLog();
    withDb(dir, (db) => {
      db.prepare('DELETE FROM audit_events WHERE seq = 23').run();
      db.prepare('UPDATE audit_events SET seq = -(seq - 1) WHERE seq > 23').run();
      db.prepare('UPDATE audit_events SET seq = -seq WHERE seq < 0').run();
    });
    expectFailure(verifyAuditLog({ stateDir: dir }), 23, 'broken-link');
  });

  test('deleted tail rows, against the latest stored checkpoint', () => {
    const { dir } = makeLog();
    withDb(dir, (db) => db.prepare('DELETE FROM audit_events WHERE seq > 45').run());
    expectFailure(verifyAuditLog({ stateDir: dir }), 46, 'truncated');
  });

  test('deleted tail rows and their checkpoints, against the witness', () => {
    const { dir, witness } = makeLog();
    withDb(dir, (db) => {
      db.prepare('DELETE FROM audit_events WHERE seq > 35').run();
      db.prepare('DELETE FROM audit_checkpoints WHERE tree_size > 30').run();
    });
    // Without the witness the shorter log is self-consistent: the witness is what makes truncation visible.
    assert.equal(verifyAuditLog({ stateDir: dir }).ok, true);
    expectFailure(verifyAuditLog({ stateDir: dir, witnessPath: witness }), 36, 'truncated');
  });

  test('reordered rows', () => {
    const { dir } = makeLog();
    withDb(dir, (db) => {
      const a = db.prepare('SELECT * FROM audit_events WHERE seq = 20').get() as Row;
      const b = db.prepare('SELECT * FROM audit_events WHERE seq = 21').get() as Row;
      const upd = db.prepare('UPDATE audit_events SET event = ?, prev_hash = ?, hash = ? WHERE seq = ?');
      upd.run(b.event, b.prev_hash, b.hash, 20);
      upd.run(a.event, a.prev_hash, a.hash, 21);
    });
    expectFailure(verifyAuditLog({ stateDir: dir }), 20, 'broken-link');
  });

  test('an inserted forged row, correctly hashed onto its predecessor', () => {
    const { dir } = makeLog();
    withDb(dir, (db) => {
      db.prepare('UPDATE audit_events SET seq = -(seq + 1) WHERE seq >= 30').run();
      db.prepare('UPDATE audit_events SET seq = -seq WHERE seq < 0').run();
      const prev = (db.prepare('SELECT hash FROM audit_events WHERE seq = 29').get() as Row).hash;
      const forged = makeTestEvent(999, { outcome: 'allow' });
      const event = canonicalizeJson(forged);
      // A careful forger keeps the search columns consistent with the forged event.
      db.prepare('INSERT INTO audit_events (seq, time, actor, action, decision, event, prev_hash, hash) VALUES (30, ?, ?, ?, ?, ?, ?, ?)').run(forged.time, forged.principal?.id ?? null, 'invoke', 'allow', event, prev, computeEventHash(prev, event));
    });
    expectFailure(verifyAuditLog({ stateDir: dir }), 30, 'inserted-row');
  });

  test('a fully re-hashed forged chain: the signed checkpoints no longer match', () => {
    const { dir } = makeLog();
    withDb(dir, (db) => {
      db.prepare("UPDATE audit_events SET event = replace(event, '\"status\":200', '\"status\":201') WHERE seq = 25").run();
      rehashFrom(db, 25);
    });
    // Rows 21..25 are the first that no valid checkpoint covers.
    expectFailure(verifyAuditLog({ stateDir: dir }), 21, 'checkpoint-mismatch');
  });

  test('a re-hashed chain with every checkpoint removed: the unsigned tail is too long', () => {
    const { dir } = makeLog();
    withDb(dir, (db) => {
      db.prepare("UPDATE audit_events SET event = replace(event, '\"status\":200', '\"status\":201') WHERE seq = 25").run();
      rehashFrom(db, 25);
      db.exec('DELETE FROM audit_checkpoints');
    });
    expectFailure(verifyAuditLog({ stateDir: dir }), 1, 'unsigned-tail');
  });

  test('checkpoints signed with another key, claimed as ours or as a new key', () => {
    const { dir } = makeLog();
    const keys = loadAuditKeyFile(join(dir, AUDIT_PUBLIC_KEY_FILE));
    const attacker = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    withDb(dir, (db) => forgeCheckpoints(db, keys.instance, keys.keys[0]?.keyId as string, attacker));
    expectFailure(verifyAuditLog({ stateDir: dir }), 10, 'bad-signature');
    withDb(dir, (db) => forgeCheckpoints(db, keys.instance, 'a0a0a0a0a0a0a0a0', attacker));
    expectFailure(verifyAuditLog({ stateDir: dir }), 10, 'unknown-key');
  });

  test('a checkpoint key planted in the database is never used', () => {
    const { dir } = makeLog();
    const keys = loadAuditKeyFile(join(dir, AUDIT_PUBLIC_KEY_FILE));
    const pair = generateKeyPairSync('ed25519');
    withDb(dir, (db) => {
      db.prepare("UPDATE audit_events SET event = replace(event, '\"status\":200', '\"status\":201') WHERE seq = 3").run();
      rehashFrom(db, 3);
      db.exec('CREATE TABLE audit_keys (key_id TEXT, public_key TEXT)');
      db.prepare('INSERT INTO audit_keys VALUES (?, ?)').run('b1b1b1b1b1b1b1b1', pair.publicKey.export({ format: 'jwk' }).x as string);
      db.prepare("INSERT INTO audit_meta (key, value) VALUES ('public_key', ?)").run(pair.publicKey.export({ format: 'pem', type: 'spki' }).toString());
      forgeCheckpoints(db, keys.instance, 'b1b1b1b1b1b1b1b1', pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    });
    // The planted key signs valid-looking checkpoints, but only the key file's keys count.
    expectFailure(verifyAuditLog({ stateDir: dir }), 10, 'unknown-key');
  });

  test('a rollback to an older state, and a fork written after it, are caught by the witness', () => {
    const base = tempDir();
    const dir = join(base, '.palisade');
    const witness = join(base, 'witness.jsonl');
    const w = writeLog(dir, 30, { witness });
    w.close();
    const backup = join(base, 'backup.db');
    copyFileSync(join(dir, 'audit.db'), backup);
    writeLog(dir, 20, { witness }).close();
    assert.equal(verifyAuditLog({ stateDir: dir, witnessPath: witness }).ok, true);
    // Roll back: the older copy is a valid log on its own.
    for (const f of readdirSync(dir).filter((x) => x.startsWith('audit.db'))) rmSync(join(dir, f));
    copyFileSync(backup, join(dir, 'audit.db'));
    assert.equal(verifyAuditLog({ stateDir: dir }).ok, true);
    expectFailure(verifyAuditLog({ stateDir: dir, witnessPath: witness }), 31, 'truncated');
    // Fork: the node goes on from the old state and writes a different history.
    writeLog(dir, 25, { witness, from: 5000 }).close();
    assert.equal(verifyAuditLog({ stateDir: dir }).ok, true);
    expectFailure(verifyAuditLog({ stateDir: dir, witnessPath: witness }), 31, 'fork');
  });

  test("another instance's log replayed in place of this one", () => {
    const mine = makeLog();
    const theirs = makeLog();
    for (const f of readdirSync(mine.dir).filter((x) => x.startsWith('audit.db'))) rmSync(join(mine.dir, f));
    copyFileSync(join(theirs.dir, 'audit.db'), join(mine.dir, 'audit.db'));
    expectFailure(verifyAuditLog({ stateDir: mine.dir }), 1, 'wrong-instance');
  });

  test('a deleted -wal file: the committed tail is gone, and the witness shows it', () => {
    const base = tempDir();
    const dir = join(base, '.palisade');
    const witness = join(base, 'witness.jsonl');
    const w = writeLog(dir, 50, { witness });
    // The files as a crash leaves them: the committed events sit in the WAL, not yet in audit.db.
    const crashed = join(base, 'crashed');
    mkdirSync(crashed);
    for (const f of ['audit.db', 'audit.db-wal', AUDIT_PUBLIC_KEY_FILE]) copyFileSync(join(dir, f), join(crashed, f));
    w.close();
    assert.ok(statSync(join(crashed, 'audit.db-wal')).size > 0);
    assert.equal(verifyAuditLog({ stateDir: crashed, witnessPath: witness }).ok, true);
    rmSync(join(crashed, 'audit.db-wal'));
    const r = verifyAuditLog({ stateDir: crashed, witnessPath: witness });
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.reason, 'truncated', r.detail);
  });

  test('VACUUM (rows physically moved, logically intact) verifies clean', () => {
    const { dir, witness } = makeLog();
    withDb(dir, (db) => {
      db.prepare('DELETE FROM audit_sink_cursors').run();
      db.exec('VACUUM');
    });
    assert.equal(verifyAuditLog({ stateDir: dir, witnessPath: witness }).ok, true);
  });

  test('a clean restart with key rotation verifies clean; the retired key cannot sign later checkpoints', () => {
    const base = tempDir();
    const dir = join(base, '.palisade');
    const witness = join(base, 'witness.jsonl');
    const w = writeLog(dir, 25, { witness });
    const before = loadAuditKeyFile(join(dir, AUDIT_PUBLIC_KEY_FILE));
    const oldId = before.keys[0]?.keyId as string;
    const oldPem = createPrivateKey({ key: Buffer.from(readKeyPem(dir, oldId)), format: 'pem' }).export({ format: 'pem', type: 'pkcs8' }).toString();
    const { retired, active } = w.rotateKey();
    assert.equal(retired, oldId);
    assert.notEqual(active, oldId);
    assert.ok(!existsSync(join(dir, 'audit-keys', `${oldId}.pem`)), 'the retired private key is deleted');
    w.append([makeTestEvent(100), makeTestEvent(101)]);
    w.close();
    writeLog(dir, 23, { witness, from: 200 }).close();
    const ok = verifyAuditLog({ stateDir: dir, witnessPath: witness });
    assert.equal(ok.ok, true, JSON.stringify(ok));
    const keys = loadAuditKeyFile(join(dir, AUDIT_PUBLIC_KEY_FILE));
    assert.equal(keys.keys.find((k) => k.keyId === oldId)?.retiredAfter, 25);
    // Someone who kept the retired private key signs a checkpoint beyond its retirement.
    withDb(dir, (db) => {
      const last = db.prepare('SELECT statement FROM audit_checkpoints ORDER BY id DESC LIMIT 1').pluck().get() as string;
      const s = parseCheckpoint(last);
      assert.ok(s !== undefined);
      const c = signCheckpoint({ ...s, keyId: oldId }, oldPem);
      db.prepare('INSERT INTO audit_checkpoints (tree_size, statement, signature) VALUES (?, ?, ?)').run(s.treeSize, c.statement, c.signature);
      assert.equal(formatCheckpoint(s).length > 0, true);
    });
    expectFailure(verifyAuditLog({ stateDir: dir }), 26, 'retired-key');
  });

  test('a new log with no events verifies, and says it is empty', () => {
    const dir = join(tempDir(), '.palisade');
    writeLog(dir, 0).close();
    const r = verifyAuditLog({ stateDir: dir });
    assert.equal(r.ok, true, JSON.stringify(r));
    if (r.ok) assert.deepEqual([r.empty, r.size, r.start], [true, 0, 1]);
  });

  test('an emptied log fails: every row and checkpoint deleted, yet a witness or a retired key shows it was longer', () => {
    const { dir, witness } = makeLog(30);
    withDb(dir, (db) => db.exec('DELETE FROM audit_events; DELETE FROM audit_checkpoints;'));
    assert.equal(verifyAuditLog({ stateDir: dir }).ok, true, 'without other evidence an emptied log looks new');
    expectFailure(verifyAuditLog({ stateDir: dir, witnessPath: witness }), 1, 'truncated');
    // A key retired after tree size 30 proves the log held 30 events.
    const rotated = tempDir();
    const w = writeLog(join(rotated, '.palisade'), 30);
    w.rotateKey();
    w.close();
    withDb(join(rotated, '.palisade'), (db) => db.exec('DELETE FROM audit_events; DELETE FROM audit_checkpoints;'));
    expectFailure(verifyAuditLog({ stateDir: join(rotated, '.palisade') }), 1, 'truncated');
  });

  test('an empty database without the audit tables or the instance id is not a new log', () => {
    const { dir } = makeLog(0);
    withDb(dir, (db) => db.exec("DELETE FROM audit_meta WHERE key = 'instance'"));
    expectFailure(verifyAuditLog({ stateDir: dir }), 1, 'wrong-instance');
    withDb(dir, (db) => db.exec('DROP TABLE audit_events; DROP TABLE audit_checkpoints; DROP TABLE audit_meta;'));
    expectFailure(verifyAuditLog({ stateDir: dir }), 1, 'truncated');
  });

  test('the genesis hash binds the instance id', () => {
    assert.notDeepEqual(computeGenesisHash('a'), computeGenesisHash('b'));
  });
});

function readKeyPem(dir: string, keyId: string): string {
  return readFileSync(join(dir, 'audit-keys', `${keyId}.pem`), 'utf8');
}
