import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Logger } from '../kernel/index.js';
import { makeTestEvent } from './audit-test-events.test-support.js';
import { ChainWriter } from './chain-writer.js';
import { openAuditLog } from './open-audit-log.js';
import { verifyAuditLog } from './read-audit-log.js';

// A node appends to its audit chain while CLI commands (`palisade secrets rotate-kek`, `users
// add`, …) append to the same log from another process. Each writer must link its next event to
// the real last row, not to the last row it wrote itself.
const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'palisade-audit-writers-'));
  roots.push(d);
  return join(d, '.palisade');
}

describe('two writers of one audit chain', () => {
  test('alternating appends from two writers each link to the other’s last event; checkpoints stay valid; the chain verifies', () => {
    const dir = stateDir();
    const options = { stateDir: dir, mode: 'sync' as const, checkpointEvery: 5, checkpointEverySec: 3600, now: Date.now };
    const a = new ChainWriter(options);
    a.append([makeTestEvent(1)]);
    const b = new ChainWriter(options);
    let n = 2;
    for (let round = 0; round < 20; round++) {
      assert.equal(a.append([makeTestEvent(n++), makeTestEvent(n++)]).lastSeq, n - 1);
      assert.equal(b.append([makeTestEvent(n++)]).lastSeq, n - 1);
      if (round % 7 === 0) b.checkpoint('periodic');
    }
    a.close();
    b.close();
    const report = verifyAuditLog({ stateDir: dir });
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.equal(report.ok && report.size, n - 1);
  });

  test('two audit logs (each its own writer thread) appending at the same time: every append succeeds and the chain verifies', async () => {
    const dir = stateDir();
    const open = () => openAuditLog({ stateDir: dir, mode: 'sync', checkpointEvery: 50, checkpointEverySec: 3600, logger: quiet });
    const first = await open();
    const second = await open();
    const writes = (log: typeof first, from: number) => Promise.all(Array.from({ length: 150 }, (_, i) => log.append(makeTestEvent(from + i))));
    const results = await Promise.allSettled([writes(first, 0), writes(second, 1000)]);
    await first.close();
    await second.close();
    assert.deepEqual(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')), ['ok', 'ok']);
    const report = verifyAuditLog({ stateDir: dir });
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.equal(report.ok && report.size, 300);
  });
});
