import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { isPalisadeError, silentLogger, type AuditEvent } from '../kernel/index.js';
import { runAuditSinkConformance } from './audit-sink-conformance.test-support.js';
import { makeTestEvent } from './audit-test-events.test-support.js';
import { loadAuditKeyFile } from './audit-keys.js';
import { openAuditLog, type AuditLog } from './open-audit-log.js';
import { openAuditDatabaseReadOnly, verifyAuditLog } from './read-audit-log.js';
import { mountSmallTmpfs } from './small-tmpfs.test-support.js';

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
function tempState(): string {
  const d = mkdtempSync(join(tmpdir(), 'palisade-auditlog-'));
  roots.push(d);
  return join(d, '.palisade');
}

function readEvents(stateDir: string): AuditEvent[] {
  const db = openAuditDatabaseReadOnly(stateDir);
  try {
    return (db.prepare('SELECT event FROM audit_events ORDER BY seq').pluck().all() as string[]).map((t) => JSON.parse(t) as AuditEvent);
  } finally {
    db.close();
  }
}

const open = (stateDir: string, mode: 'sync' | 'async' = 'sync', every = 100): Promise<AuditLog> => openAuditLog({ stateDir, mode, checkpointEvery: every, checkpointEverySec: 60, logger: silentLogger });

runAuditSinkConformance('the audit chain, sync mode', async () => {
  const stateDir = tempState();
  const log = await open(stateDir);
  return { sink: log, readBack: async () => readEvents(stateDir), close: () => log.close() };
});

describe('the audit log', () => {
  test('concurrent appends share commits (group commit), and the chain verifies', async () => {
    const stateDir = tempState();
    const log = await open(stateDir);
    await Promise.all(Array.from({ length: 2000 }, (_, i) => log.append(makeTestEvent(i))));
    const stats = log.stats();
    assert.equal(stats.events, 2000);
    assert.ok(stats.batches < 200, `2000 concurrent appends took ${stats.batches} commits`);
    await log.close();
    const r = verifyAuditLog({ stateDir });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.size, 2000);
  });

  test('every acknowledged append survives a SIGKILL of the writing process, repeatedly, and the chain verifies', async () => {
    const stateDir = tempState();
    const child = fileURLToPath(new URL('./append-until-killed.test-support.js', import.meta.url));
    const acked = new Set<string>();
    for (let round = 0; round < 3; round++) {
      await new Promise<void>((resolve, reject) => {
        const p = spawn(process.execPath, [child, stateDir, String(round * 1_000_000)], { stdio: ['ignore', 'pipe', 'inherit'] });
        p.on('error', reject);
        let buf = '';
        let count = 0;
        p.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop() ?? '';
          for (const l of lines) {
            if (!l.startsWith('ack ')) continue;
            acked.add(l.slice(4));
            // Kill at a different point each round, mid-flight with commits in progress.
            if (++count === 300 + round * 170) p.kill('SIGKILL');
          }
        });
        p.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited without being killed (${String(signal)})`))));
      });
    }
    const stored = new Set(readEvents(stateDir).map((e) => e.requestId));
    const missing = [...acked].filter((id) => !stored.has(id));
    assert.deepEqual(missing, [], 'an acknowledged event was lost');
    // Reopening signs the unsigned tail a crash left; then the whole chain verifies.
    await (await open(stateDir, 'sync', 50)).close();
    const r = verifyAuditLog({ stateDir });
    assert.equal(r.ok, true, JSON.stringify(r));
  });

  test('a full disk: appends are refused with PAL_AUDIT_UNAVAILABLE, nothing refused is recorded, and writing resumes by itself', async () => {
    const fs = mountSmallTmpfs(1024);
    let log: AuditLog | undefined;
    try {
      const stateDir = join(fs.dir, '.palisade');
      log = await open(stateDir, 'sync', 1000);
      await log.append(makeTestEvent(0));
      // Fill the disk to the last block.
      const free = statfsSync(fs.dir);
      writeFileSync(join(fs.dir, 'filler'), Buffer.alloc(Number(free.bavail) * Number(free.bsize)));
      const refused: string[] = [];
      const accepted: string[] = [];
      for (let i = 1; i <= 400 && refused.length === 0; i++) {
        const batch = Array.from({ length: 50 }, (_, k) => makeTestEvent(i * 100 + k, { route: `/${'r'.repeat(200)}` }));
        const results = await Promise.allSettled(batch.map((e) => (log as AuditLog).append(e)));
        results.forEach((res, k) => {
          const id = (batch[k] as AuditEvent).requestId;
          if (res.status === 'fulfilled') accepted.push(id);
          else {
            assert.ok(isPalisadeError(res.reason) && res.reason.code === 'PAL_AUDIT_UNAVAILABLE', String(res.reason));
            refused.push(id);
          }
        });
      }
      assert.ok(refused.length > 0, 'the disk never filled');
      await assert.rejects((log as AuditLog).append(makeTestEvent(99_999_999)), (e: unknown) => isPalisadeError(e) && e.code === 'PAL_AUDIT_UNAVAILABLE');
      const stored = new Set(readEvents(stateDir).map((e) => e.requestId));
      for (const id of accepted) assert.ok(stored.has(id), `accepted ${id} is not stored`);
      for (const id of refused) assert.ok(!stored.has(id), `refused ${id} is stored anyway`);
      // Room again: the next append succeeds, without reopening anything.
      rmSync(join(fs.dir, 'filler'));
      const started = Date.now();
      let recovered = false;
      while (!recovered && Date.now() - started < 10_000) {
        recovered = await (log as AuditLog).append(makeTestEvent(77_777_777)).then(() => true, async () => {
          await new Promise((r) => setTimeout(r, 200));
          return false;
        });
      }
      assert.ok(recovered, 'appends did not resume within 10 s');
      await log.close();
      const r = verifyAuditLog({ stateDir });
      assert.equal(r.ok, true, JSON.stringify(r));
    } finally {
      // A writer left open would keep this test process alive.
      await log?.close();
      fs.unmount();
    }
  });

  test('a deleted log whose keys remain is refused at open (PAL_AUDIT_LOG_MISSING), not replaced by a fresh chain', async () => {
    const stateDir = tempState();
    const log = await open(stateDir);
    for (let i = 1; i <= 5; i++) await log.append(makeTestEvent(i));
    await log.close();
    for (const f of ['audit.db', 'audit.db-wal', 'audit.db-shm']) rmSync(join(stateDir, f), { force: true });
    const outcome = await open(stateDir).then(
      async (l) => {
        await l.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    assert.ok(isPalisadeError(outcome) && outcome.code === 'PAL_AUDIT_LOG_MISSING', String(outcome));
  });

  test('async mode resolves before the commit, and still writes every event', async () => {
    const stateDir = tempState();
    const log = await open(stateDir, 'async');
    assert.equal(log.mode, 'async');
    await Promise.all(Array.from({ length: 300 }, (_, i) => log.append(makeTestEvent(i))));
    await log.close();
    assert.equal(readEvents(stateDir).length, 300);
    assert.equal(verifyAuditLog({ stateDir }).ok, true);
  });

  test('close signs the tail, so a clean shutdown leaves no unsigned event', async () => {
    const stateDir = tempState();
    const log = await open(stateDir, 'sync', 1000);
    await Promise.all(Array.from({ length: 7 }, (_, i) => log.append(makeTestEvent(i))));
    await log.close();
    const r = verifyAuditLog({ stateDir });
    assert.ok(r.ok && r.signedSize === 7, JSON.stringify(r));
  });

  test('a checkpoint is signed after everySeconds even when fewer than everyEvents arrive', async () => {
    const stateDir = tempState();
    const log = await openAuditLog({ stateDir, mode: 'sync', checkpointEvery: 1000, checkpointEverySec: 1, logger: silentLogger });
    try {
      await Promise.all(Array.from({ length: 5 }, (_, i) => log.append(makeTestEvent(i))));
      const signed = (): number => {
        const db = openAuditDatabaseReadOnly(stateDir);
        try {
          return (db.prepare('SELECT max(tree_size) FROM audit_checkpoints').pluck().get() as number | null) ?? 0;
        } finally {
          db.close();
        }
      };
      const started = Date.now();
      while (signed() < 5 && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 100));
      assert.equal(signed(), 5);
    } finally {
      await log.close();
    }
  });

  test('rotating the key through the running log: old checkpoints still verify, new ones carry the new key', async () => {
    const stateDir = tempState();
    const log = await open(stateDir, 'sync', 10);
    await Promise.all(Array.from({ length: 25 }, (_, i) => log.append(makeTestEvent(i))));
    const { retired, active } = await log.rotateKey();
    assert.notEqual(retired, active);
    await Promise.all(Array.from({ length: 25 }, (_, i) => log.append(makeTestEvent(100 + i))));
    await log.close();
    const keys = loadAuditKeyFile(join(stateDir, 'audit.pub'));
    assert.equal(keys.keys.find((k) => k.keyId === retired)?.retiredAfter, 25);
    assert.equal(keys.keys.find((k) => k.keyId === active)?.retiredAfter, undefined);
    const r = verifyAuditLog({ stateDir });
    assert.ok(r.ok && r.size === 50 && r.signedSize === 50, JSON.stringify(r));
  });
});
