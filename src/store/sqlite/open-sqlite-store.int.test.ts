import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { isPalisadeError } from '../../kernel/index.js';
import { runStoreConformance } from '../store-conformance.test-support.js';
import { openSqliteStore } from './open-sqlite-store.js';

runStoreConformance(
  'sqlite file',
  async () => openSqliteStore(join(mkdtempSync(join(tmpdir(), 'palisade-store-')), 'state.db')),
  async (count) => {
    const path = join(mkdtempSync(join(tmpdir(), 'palisade-store-')), 'state.db');
    return Array.from({ length: count }, () => openSqliteStore(path));
  },
);

test('sqlite: the database file is private and in WAL mode', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'palisade-store-')), 'nested', 'state.db');
  const store = openSqliteStore(path);
  await store.close();
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const db = new Database(path, { readonly: true });
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
});

test('sqlite: reopening keeps data and does not re-run migrations', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'palisade-store-')), 'state.db');
  const a = openSqliteStore(path);
  await a.deployments.recordDeployment({ manifestDigest: 'c'.repeat(64), functions: ['x'], startedAt: 5 });
  await a.close();
  const b = openSqliteStore(path);
  assert.equal((await b.deployments.listDeployments(10)).length, 1);
  assert.equal(await b.schemaVersion(), 7);
  await b.close();
});

test('sqlite: a database from a newer palisade is refused, not downgraded', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'palisade-store-')), 'state.db');
  (await Promise.resolve(openSqliteStore(path))).close();
  const db = new Database(path);
  db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)').run();
  db.close();
  assert.throws(() => openSqliteStore(path), (e: unknown) => isPalisadeError(e, 'PAL_STORE_MIGRATION_FAILED') && /newer/.test(e.message));
});

test('sqlite: a state path that cannot be a directory is a clear PAL_STORE_UNAVAILABLE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-store-'));
  writeFileSync(join(dir, 'blocker'), 'not a directory');
  assert.throws(() => openSqliteStore(join(dir, 'blocker', 'state.db')), (e: unknown) => isPalisadeError(e, 'PAL_STORE_UNAVAILABLE'));
});

test('sqlite: a file that is not a database is refused clearly', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'palisade-store-')), 'state.db');
  writeFileSync(path, 'this is not sqlite'.repeat(100));
  assert.throws(() => openSqliteStore(path), (e: unknown) => isPalisadeError(e) && e.code.startsWith('PAL_STORE_'));
  assert.ok(readFileSync(path, 'utf8').startsWith('this is not sqlite'), 'the file was not overwritten');
});

test('sqlite: login counters hold under truly parallel writers (four threads, four connections)', async () => {
  const { Worker } = await import('node:worker_threads');
  const path = join(mkdtempSync(join(tmpdir(), 'palisade-store-')), 'state.db');
  await openSqliteStore(path).close();
  const module = new URL('./open-sqlite-store.js', import.meta.url).href;
  // Each thread opens its own connection and races the others on one name and one address.
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const { openSqliteStore } = await import(workerData.module);
      const store = openSqliteStore(workerData.path);
      const names = [];
      const addresses = [];
      for (let i = 0; i < 10; i++) {
        names.push((await store.users.countLoginAttempt('victim', 1000, { maxFailures: 5, lockMs: 60000 })).admitted);
        addresses.push((await store.loginThrottle.countAttempt('198.51.100.1', 1000, { freeAttempts: 10, windowMs: 900000, maxDelayMs: 900000 })).admitted);
      }
      await store.close();
      parentPort.postMessage({ names, addresses });
    })();`;
  const runs = await Promise.all(
    Array.from({ length: 4 }, () =>
      new Promise<{ names: boolean[]; addresses: boolean[] }>((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { module, path } });
        w.once('message', resolve);
        w.once('error', reject);
      }),
    ),
  );
  assert.equal(runs.flatMap((r) => r.names).filter(Boolean).length, 5, 'exactly the limit admitted across connections');
  assert.equal(runs.flatMap((r) => r.addresses).filter(Boolean).length, 10, 'exactly the free attempts admitted across connections');
  const store = openSqliteStore(path);
  assert.deepEqual(await store.users.loginFailures('victim'), { failures: 40, lockedUntil: 61_000 }, 'no lost update');
  await store.close();
});
