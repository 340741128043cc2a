import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { createManualClock, isPalisadeError } from '../kernel/index.js';
import { openSqliteStore, type StateStore } from '../store/index.js';
import { openVault, type OpenedVault } from './open-vault.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined | null) => (b === undefined || b === null ? undefined : new TextDecoder().decode(b));
const newDir = () => mkdtempSync(join(tmpdir(), 'palisade-vault-'));

interface Opened {
  readonly store: StateStore;
  readonly vault: OpenedVault;
  close(): Promise<void>;
}

async function open(dir: string, extra: Partial<Parameters<typeof openVault>[0]> = {}): Promise<Opened> {
  const store = openSqliteStore(join(dir, 'state.db'));
  try {
    const vault = await openVault({ store: store.vault, stateDir: dir, env: {}, ...extra });
    return { store, vault, close: async () => (await vault.close(), await store.close()) };
  } catch (error) {
    await store.close();
    throw error;
  }
}

const envKey = () => randomBytes(32).toString('base64');

test('set, read, rotate: the current version is served, the old one becomes previous', async () => {
  const dir = newDir();
  const created: string[] = [];
  const v = await open(dir, { onKeyCreated: (path) => created.push(path) });
  try {
    assert.deepEqual(created, [join(dir, 'master.key')], 'a first start creates the key ring and says where');
    assert.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600);
    assert.equal(await v.vault.readCurrent('db-url'), undefined);
    await v.vault.admin.setSecret('db-url', enc('postgres://one'));
    const meta = await v.vault.admin.rotateSecret('db-url', enc('postgres://two'));
    assert.equal(meta.currentVersion, 2);
    assert.deepEqual(meta.versions.map((x) => [x.version, x.stage]), [[1, 'previous'], [2, 'current']]);
    const current = await v.vault.readCurrent('db-url');
    assert.equal(current?.version, 2);
    assert.equal(dec(current?.value), 'postgres://two');
    await v.vault.admin.promoteVersion('db-url', 1);
    assert.equal(dec((await v.vault.readCurrent('db-url'))?.value), 'postgres://one', 'rollback to an older version');
    await assert.rejects(v.vault.admin.rotateSecret('nope', enc('x')), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_NOT_FOUND'));
    await assert.rejects(v.vault.admin.setSecret('Bad Name', enc('x')), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_INVALID_NAME'));
    await assert.rejects(v.vault.admin.setSecret('empty', new Uint8Array()), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_VALUE_INVALID'));
    await assert.rejects(v.vault.admin.setSecret('huge', new Uint8Array(65_537)), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_VALUE_INVALID'));
  } finally {
    await v.close();
  }
});

test('last read moves on a use, not on the platform reading for itself (redaction)', async () => {
  const v = await open(newDir());
  try {
    await v.vault.admin.setSecret('api-token', enc('t0ken-value'));
    const lastRead = async () => (await v.vault.admin.listSecrets()).find((s) => s.name === 'api-token')?.lastReadAt;
    assert.equal(dec((await v.vault.readCurrent('api-token', { use: false }))?.value), 't0ken-value');
    await new Promise((r) => setImmediate(r));
    assert.equal(await lastRead(), null, 'loading a value for redaction is not a read');
    await v.vault.readCurrent('api-token');
    await new Promise((r) => setImmediate(r));
    assert.equal(typeof (await lastRead()), 'number', 'a function\'s read is');
  } finally {
    await v.close();
  }
});

test('pending: staged, tested, then promoted or discarded; readers see current until promotion', async () => {
  const v = await open(newDir());
  try {
    await v.vault.admin.setSecret('api-token', enc('old'));
    const staged = await v.vault.admin.stagePending('api-token', enc('new'));
    assert.equal(staged.pendingVersion, 2);
    assert.equal(dec((await v.vault.readCurrent('api-token'))?.value), 'old');
    await v.vault.admin.promotePending('api-token');
    assert.equal(dec((await v.vault.readCurrent('api-token'))?.value), 'new');
    await v.vault.admin.stagePending('api-token', enc('newer'));
    const discarded = await v.vault.admin.discardPending('api-token');
    assert.equal(discarded.pendingVersion, null);
    assert.equal(discarded.versions.length, 2, 'a discarded value is not kept');
    await assert.rejects(v.vault.admin.promotePending('api-token'), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_NOT_FOUND'));
  } finally {
    await v.close();
  }
});

test('soft delete, restore, purge only after delete and after the window unless forced', async () => {
  const clock = createManualClock(1_000_000);
  const v = await open(newDir(), { clock });
  try {
    await v.vault.admin.setSecret('s', enc('v'));
    await assert.rejects(v.vault.admin.purgeSecret('s'), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_INVALID_STATE'));
    const d = await v.vault.admin.deleteSecret('s', { recoveryDays: 2 });
    assert.equal(d.purgeAfter, 1_000_000 + 2 * 86_400_000);
    assert.equal(await v.vault.readCurrent('s'), undefined, 'a deleted secret is not served');
    await assert.rejects(v.vault.admin.rotateSecret('s', enc('w')), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_INVALID_STATE'));
    await v.vault.admin.restoreSecret('s');
    assert.equal(dec((await v.vault.readCurrent('s'))?.value), 'v');
    await v.vault.admin.deleteSecret('s', { recoveryDays: 2 });
    await assert.rejects(v.vault.admin.purgeSecret('s'), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_INVALID_STATE') && /recovery window/.test(e.message));
    clock.advance(2 * 86_400_000);
    await v.vault.admin.purgeSecret('s');
    assert.deepEqual(await v.vault.admin.listSecrets(), []);
    await v.vault.admin.setSecret('t', enc('v'));
    await v.vault.admin.deleteSecret('t');
    await v.vault.admin.purgeSecret('t', { force: true });
    await assert.rejects(v.vault.admin.restoreSecret('t'), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_NOT_FOUND'));
  } finally {
    await v.close();
  }
});

test('a wrong KEK is refused at open with PAL_SECRETS_KEY_MISMATCH; nothing is decrypted', async () => {
  const dir = newDir();
  const right = envKey();
  const a = await open(dir, { env: { PALISADE_MASTER_KEY: right } });
  await a.vault.admin.setSecret('db-url', enc('postgres://secret'));
  await a.close();
  await assert.rejects(open(dir, { env: { PALISADE_MASTER_KEY: envKey() } }), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_KEY_MISMATCH') && !e.message.includes('postgres'));
  // The key file of another project is just as wrong.
  const other = newDir();
  await (await open(other)).close();
  await assert.rejects(open(dir, { keyFile: join(other, 'master.key') }), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_KEY_MISMATCH'));
  const b = await open(dir, { env: { PALISADE_MASTER_KEY: right } });
  assert.equal(dec((await b.vault.readCurrent('db-url'))?.value), 'postgres://secret');
  await b.close();
});

test('a missing key file for a store that has keys is refused, never replaced by a new key', async () => {
  const dir = newDir();
  const a = await open(dir);
  await a.vault.admin.setSecret('x', enc('y'));
  await a.close();
  const { rmSync } = await import('node:fs');
  rmSync(join(dir, 'master.key'));
  await assert.rejects(open(dir), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_KEY_UNAVAILABLE') && /backup/.test(e.message));
  assert.throws(() => statSync(join(dir, 'master.key')), 'no new key was made');
});

test('a key file others can read, or a malformed one, is refused with a fix', async () => {
  const dir = newDir();
  await (await open(dir)).close();
  chmodSync(join(dir, 'master.key'), 0o644);
  await assert.rejects(open(dir), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_KEY_FILE_INSECURE') && /chmod 600/.test(e.message));
  const bad = newDir();
  writeFileSync(join(bad, 'master.key'), '{"format":"palisade-key-ring"}', { mode: 0o600 });
  await assert.rejects(open(bad), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_KEY_UNAVAILABLE') && /malformed/.test(e.message));
  await assert.rejects(open(newDir(), { env: { PALISADE_MASTER_KEY: 'c2hvcnQ=' } }), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_KEY_UNAVAILABLE'));
  // A bare base64 key (openssl rand -base64 32 > master.key) is a ring of one.
  const bare = newDir();
  writeFileSync(join(bare, 'master.key'), `${envKey()}\n`, { mode: 0o600 });
  const v = await open(bare);
  await v.vault.admin.setSecret('ok', enc('1'));
  await v.close();
});

test('a modified ciphertext byte or wrapped-key byte is rejected with PAL_SECRETS_DECRYPT_FAILED, not a crash', async () => {
  const dir = newDir();
  const v = await open(dir);
  try {
    await v.vault.admin.setSecret('a', enc('alpha-value'));
    await v.vault.admin.setSecret('b', enc('bravo-value'));
    const raw = new Database(join(dir, 'state.db'));
    const row = raw.prepare("SELECT ciphertext, wrapped_key FROM secret_versions WHERE name = 'a'").get() as { ciphertext: Buffer; wrapped_key: Buffer };
    const flipped = Buffer.from(row.ciphertext);
    flipped[20] = (flipped[20] ?? 0) ^ 0x01;
    raw.prepare("UPDATE secret_versions SET ciphertext = ? WHERE name = 'a'").run(flipped);
    await assert.rejects(v.vault.readCurrent('a'), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_DECRYPT_FAILED') && !e.expose);
    raw.prepare("UPDATE secret_versions SET ciphertext = ? WHERE name = 'a'").run(row.ciphertext);
    assert.equal(dec((await v.vault.readCurrent('a'))?.value), 'alpha-value');
    const wk = Buffer.from(row.wrapped_key);
    wk[wk.length - 1] = (wk[wk.length - 1] ?? 0) ^ 0x80;
    raw.prepare("UPDATE secret_versions SET wrapped_key = ? WHERE name = 'a'").run(wk);
    await assert.rejects(v.vault.readCurrent('a'), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_DECRYPT_FAILED'));
    raw.close();
    assert.equal(dec((await v.vault.readCurrent('b'))?.value), 'bravo-value', 'other secrets keep working');
  } finally {
    await v.close();
  }
});

test('rows swapped between two secrets, or between two versions, fail authentication', async () => {
  const dir = newDir();
  const v = await open(dir);
  try {
    await v.vault.admin.setSecret('a', enc('alpha-value'));
    await v.vault.admin.setSecret('b', enc('bravo-value'));
    await v.vault.admin.rotateSecret('b', enc('bravo-two'));
    const raw = new Database(join(dir, 'state.db'));
    const get = raw.prepare('SELECT ciphertext, wrapped_key, kek_id FROM secret_versions WHERE name = ? AND version = ?');
    const put = raw.prepare('UPDATE secret_versions SET ciphertext = ?, wrapped_key = ?, kek_id = ? WHERE name = ? AND version = ?');
    const a1 = get.get('a', 1) as { ciphertext: Buffer; wrapped_key: Buffer; kek_id: string };
    const b2 = get.get('b', 2) as { ciphertext: Buffer; wrapped_key: Buffer; kek_id: string };
    const b1 = get.get('b', 1) as { ciphertext: Buffer; wrapped_key: Buffer; kek_id: string };
    // A whole row (ciphertext with its wrapped key) of the same version moved from b to a: the wrapped key is bound to `b`.
    put.run(b1.ciphertext, b1.wrapped_key, b1.kek_id, 'a', 1);
    await assert.rejects(v.vault.readCurrent('a'), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_DECRYPT_FAILED') && /the data key of secret `a` version 1/.test(e.message), 'refused when unwrapping, before the value is touched');
    // Only the ciphertext moved: wrong data key.
    put.run(b2.ciphertext, a1.wrapped_key, a1.kek_id, 'a', 1);
    await assert.rejects(v.vault.readCurrent('a'), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_DECRYPT_FAILED'));
    put.run(a1.ciphertext, a1.wrapped_key, a1.kek_id, 'a', 1);
    // An old version's row put in the current version's place (a silent rollback): bound to version 1.
    put.run(b1.ciphertext, b1.wrapped_key, b1.kek_id, 'b', 2);
    await assert.rejects(v.vault.readCurrent('b'), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_DECRYPT_FAILED') && /data key of secret `b` version 2/.test(e.message));
    put.run(b2.ciphertext, b2.wrapped_key, b2.kek_id, 'b', 2);
    raw.close();
    assert.equal(dec((await v.vault.readCurrent('a'))?.value), 'alpha-value');
    assert.equal(dec((await v.vault.readCurrent('b'))?.value), 'bravo-two');
  } finally {
    await v.close();
  }
});

test('KV: per-function namespaces, prefix listing with cursors, limits, names not stored in plaintext', async () => {
  const dir = newDir();
  const v = await open(dir);
  try {
    const orders = v.vault.kv('orders');
    const billing = v.vault.kv('billing');
    for (const k of ['cart:alice', 'cart:bob', 'cart:carol', 'session:zed']) await orders.put(k, enc(`value of ${k}`));
    await billing.put('cart:alice', enc('billing value'));
    assert.equal(dec(await orders.get('cart:alice')), 'value of cart:alice');
    assert.equal(dec(await billing.get('cart:alice')), 'billing value', 'namespaces are separate');
    assert.equal(await orders.get('missing'), null);
    const page1 = await orders.list({ prefix: 'cart:', limit: 2 });
    assert.deepEqual(page1.keys, ['cart:alice', 'cart:bob']);
    assert.ok(page1.cursor !== undefined);
    const page2 = await orders.list({ prefix: 'cart:', limit: 2, cursor: page1.cursor as string });
    assert.deepEqual(page2, { keys: ['cart:carol'] });
    await orders.delete('cart:bob');
    assert.deepEqual((await orders.list()).keys, ['cart:alice', 'cart:carol', 'session:zed']);
    await assert.rejects(orders.put('x'.repeat(513), enc('v')), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_KV_TOO_LARGE'));
    await assert.rejects(orders.put('k', new Uint8Array(1_048_577)), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_KV_TOO_LARGE'));
    await assert.rejects(orders.put('', enc('v')), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_INVALID_NAME'));
    // A value moved from one key to another, or to another function, fails authentication.
    const raw = new Database(join(dir, 'state.db'));
    const rows = raw.prepare("SELECT key_mac, value_ciphertext FROM kv_entries WHERE function_name = 'orders'").all() as Array<{ key_mac: Buffer; value_ciphertext: Buffer }>;
    const [first, second] = rows as [(typeof rows)[0], (typeof rows)[0]];
    raw.prepare("UPDATE kv_entries SET value_ciphertext = ? WHERE function_name = 'orders' AND key_mac = ?").run(second.value_ciphertext, first.key_mac);
    const results = await Promise.allSettled(['cart:alice', 'cart:carol', 'session:zed'].map((k) => orders.get(k)));
    assert.equal(results.filter((r) => r.status === 'rejected' && isPalisadeError(r.reason, 'PAL_SECRETS_DECRYPT_FAILED')).length, 1);
    raw.close();
    const bytes = readFileSync(join(dir, 'state.db')).toString('latin1') + readFileSync(join(dir, 'state.db-wal')).toString('latin1');
    for (const s of ['cart:alice', 'session:zed', 'value of cart', 'billing value']) assert.ok(!bytes.includes(s), `\`${s}\` is not at rest in plaintext`);
  } finally {
    await v.close();
  }
});

test('KEK rotation re-wraps every data key; the old KEK retires only once nothing uses it', async () => {
  const dir = newDir();
  const v = await open(dir);
  let sealed = '';
  try {
    await v.vault.admin.setSecret('a', enc('alpha-value'));
    await v.vault.admin.rotateSecret('a', enc('alpha-two'));
    await v.vault.kv('orders').put('k', enc('kv-value'));
    sealed = await v.vault.sealedBox.seal('totp', 'user-1', 'JBSWY3DPEHPK3PXP');
    const [old] = (await v.vault.keys.status()).filter((k) => k.active);
    assert.ok(old !== undefined && old.wrappedKeys === 4);
    await assert.rejects(v.vault.keys.retireKek(old.id), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_INVALID_STATE') && /active/.test(e.message));
    const rotated = await v.vault.keys.rotateKek();
    assert.notEqual(rotated.activeKekId, old.id);
    assert.equal(rotated.rewrapped, 4);
    assert.equal(rotated.remaining, 0);
    const status = await v.vault.keys.status();
    assert.equal(status.find((k) => k.id === old.id)?.wrappedKeys ?? 0, 0);
    assert.equal(status.find((k) => k.id === rotated.activeKekId)?.wrappedKeys, 4);
    assert.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600, 'the rewritten ring is private');
    await v.vault.keys.retireKek(old.id);
    assert.ok(!readFileSync(join(dir, 'master.key'), 'utf8').includes(old.id), 'the retired key left the ring file');
  } finally {
    await v.close();
  }
  // A fresh open with the new ring reads everything.
  const again = await open(dir);
  try {
    assert.equal(dec((await again.vault.readCurrent('a'))?.value), 'alpha-two');
    await again.vault.admin.promoteVersion('a', 1);
    assert.equal(dec((await again.vault.readCurrent('a'))?.value), 'alpha-value');
    assert.equal(dec(await again.vault.kv('orders').get('k')), 'kv-value');
    assert.equal(await again.vault.sealedBox.open('totp', 'user-1', sealed), 'JBSWY3DPEHPK3PXP');
    await assert.rejects(again.vault.sealedBox.open('totp', 'user-2', sealed), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_DECRYPT_FAILED'), 'bound to its id');
    await assert.rejects(again.vault.sealedBox.open('totp', 'user-1', 'JBSWY3DPEHPK3PXP'), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_DECRYPT_FAILED'), 'plaintext is refused');
  } finally {
    await again.close();
  }
});

test('env keys: a KEK still wrapping data keys cannot be retired; after rewrap it can', async () => {
  const dir = newDir();
  const oldKey = envKey();
  const newKey = envKey();
  const a = await open(dir, { env: { PALISADE_MASTER_KEY: oldKey } });
  await a.vault.admin.setSecret('a', enc('alpha-value'));
  const [oldId] = a.vault.keys.source === 'env' ? (await a.vault.keys.status()).map((k) => k.id) : [];
  await a.close();
  const b = await open(dir, { env: { PALISADE_MASTER_KEY: `${newKey},${oldKey}` } });
  try {
    await assert.rejects(b.vault.keys.retireKek(oldId as string), (e: unknown) => isPalisadeError(e, 'PAL_SECRETS_INVALID_STATE') && /still wraps 1 data key/.test(e.message));
    assert.equal(dec((await b.vault.readCurrent('a'))?.value), 'alpha-value', 'the old key still unwraps');
    assert.deepEqual(await b.vault.keys.rewrapAll(), { rewrapped: 1, remaining: 0 });
    await b.vault.keys.retireKek(oldId as string);
  } finally {
    await b.close();
  }
  const c = await open(dir, { env: { PALISADE_MASTER_KEY: newKey } });
  assert.equal(dec((await c.vault.readCurrent('a'))?.value), 'alpha-value');
  await c.close();
});

test('KEK rotation by another connection while reads continue: every read succeeds', async () => {
  const dir = newDir();
  const reader = await open(dir);
  const names = Array.from({ length: 8 }, (_, i) => `s-${i}`);
  for (const n of names) await reader.vault.admin.setSecret(n, enc(`value-${n}`));
  const rotator = await open(dir);
  try {
    let rotating = true;
    let reads = 0;
    const readLoop = (async () => {
      while (rotating) {
        const batch = await Promise.all(Array.from({ length: 40 }, (_, i) => reader.vault.readCurrent(names[i % names.length] as string)));
        for (const [i, r] of batch.entries()) assert.equal(dec(r?.value), `value-${names[i % names.length]}`);
        reads += batch.length;
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 3; i++) {
      const r = await rotator.vault.keys.rotateKek();
      assert.deepEqual([r.rewrapped, r.remaining], [names.length, 0]);
      await new Promise((r) => setTimeout(r, 20));
    }
    rotating = false;
    await readLoop;
    assert.ok(reads > 100, `reads happened during rotation (${reads})`);
    const after = await Promise.all(names.map((n) => reader.vault.readCurrent(n)));
    assert.deepEqual(after.map((r) => dec(r?.value)), names.map((n) => `value-${n}`), 'the reader unwraps under the new KEK (ring re-read on an unknown id)');
  } finally {
    await rotator.close();
    await reader.close();
  }
});

test('concurrent rotations from four threads lose no version: versions are allocated atomically', async () => {
  const { Worker } = await import('node:worker_threads');
  const dir = newDir();
  const key = envKey();
  const first = await open(dir, { env: { PALISADE_MASTER_KEY: key } });
  await first.vault.admin.setSecret('shared', enc('v0'));
  await first.close();
  const vaultModule = new URL('./open-vault.js', import.meta.url).href;
  const storeModule = new URL('../store/index.js', import.meta.url).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const { openVault } = await import(workerData.vaultModule);
      const { openSqliteStore } = await import(workerData.storeModule);
      const store = openSqliteStore(workerData.db);
      const vault = await openVault({ store: store.vault, stateDir: workerData.dir, env: { PALISADE_MASTER_KEY: workerData.key } });
      const versions = [];
      for (let i = 0; i < 10; i++) {
        const m = await vault.admin.rotateSecret('shared', new TextEncoder().encode('w' + workerData.n + '-' + i));
        versions.push(m.versions.at(-1).version);
      }
      await vault.close();
      await store.close();
      parentPort.postMessage(versions);
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
  const runs = await Promise.all(
    Array.from({ length: 4 }, (_, n) =>
      new Promise<unknown>((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { vaultModule, storeModule, db: join(dir, 'state.db'), dir, key, n } });
        w.once('message', resolve);
        w.once('error', reject);
      }),
    ),
  );
  for (const r of runs) assert.ok(Array.isArray(r), JSON.stringify(r));
  const v = await open(dir, { env: { PALISADE_MASTER_KEY: key } });
  try {
    const meta = await v.vault.admin.listVersions('shared');
    assert.deepEqual(meta.versions.map((x) => x.version), Array.from({ length: 41 }, (_, i) => i + 1), 'every version stored, none lost, none reused');
    assert.equal(meta.versions.filter((x) => x.stage === 'current').length, 1);
    assert.equal(meta.versions.filter((x) => x.stage === 'previous').length, 1);
    const current = await v.vault.readCurrent('shared');
    assert.match(dec(current?.value) ?? '', /^w\d-\d$/);
  } finally {
    await v.close();
  }
});

test('onChange reports a change made through another connection within the poll interval', async () => {
  const dir = newDir();
  const node = await open(dir, { pollMs: 100 });
  const cli = await open(dir);
  try {
    await cli.vault.admin.setSecret('db-url', enc('one'));
    const seen: string[] = [];
    const off = node.vault.onChange((name) => seen.push(name));
    await new Promise((r) => setTimeout(r, 150));
    await cli.vault.admin.rotateSecret('db-url', enc('two'));
    await cli.vault.admin.stagePending('db-url', enc('three'));
    const deadline = Date.now() + 2000;
    while (!seen.includes('db-url') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, ['db-url'], 'one notice for the rotation; staging a pending version changes nothing readers see');
    await cli.vault.admin.deleteSecret('db-url');
    while (seen.length < 2 && Date.now() < deadline + 2000) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, ['db-url', 'db-url']);
    off();
  } finally {
    await cli.close();
    await node.close();
  }
});
