import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createManualClock } from '../kernel/index.js';
import { addUser, createBuiltinIssuer, enrollMfa } from '../identity/index.js';
import { openProjectState } from './project-state.js';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32Decode(text: string): Buffer {
  let bits = '';
  for (const c of text.replace(/=+$/, '')) bits += BASE32.indexOf(c).toString(2).padStart(5, '0');
  return Buffer.from(bits.match(/.{8}/g)?.map((b) => parseInt(b, 2)) ?? []);
}

/** Every encoding of a plaintext that could betray it in a file. */
function forms(plain: Buffer): Buffer[] {
  return [plain, Buffer.from(plain.toString('base64')), Buffer.from(plain.toString('base64url')), Buffer.from(plain.toString('hex')), Buffer.from(plain.toString('hex').toUpperCase())].filter((b) => b.byteLength >= 8);
}

function assertAbsent(file: string, bytes: Buffer, plaintexts: ReadonlyMap<string, Buffer>): void {
  for (const [label, plain] of plaintexts) {
    for (const form of forms(plain)) assert.equal(bytes.indexOf(form), -1, `${label} is at rest in \`${file}\``);
  }
}

test('nothing secret at rest: secrets, KV, TOTP secrets and signing keys are absent from state.db and its WAL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-at-rest-'));
  const clock = createManualClock(Date.UTC(2026, 11, 2, 12));
  const state = await openProjectState(dir, { clock, onKeyCreated: () => undefined, env: {} });
  const plaintexts = new Map<string, Buffer>();
  try {
    const secretValue = 'postgres://app:V3ry-Private-Passw0rd@db/shop';
    await state.vault.admin.setSecret('db-url', Buffer.from(secretValue));
    await state.vault.admin.rotateSecret('db-url', Buffer.from(`${secretValue}-rotated`));
    await state.vault.admin.stagePending('db-url', Buffer.from(`${secretValue}-pending`));
    plaintexts.set('a secret value', Buffer.from(secretValue));
    const kv = state.vault.kv('orders');
    await kv.put('customer:alice@example.com', Buffer.from('kv-plaintext-value-0042'));
    plaintexts.set('a KV key name', Buffer.from('customer:alice@example.com'));
    plaintexts.set('a KV value', Buffer.from('kv-plaintext-value-0042'));

    await addUser(state.store, { username: 'alice', password: 'correct horse battery staple', roles: ['customer'] }, clock);
    const { secret } = await enrollMfa(state.store, 'alice', 'test');
    plaintexts.set('a TOTP secret (base32)', Buffer.from(secret));
    plaintexts.set('a TOTP secret (bytes)', base32Decode(secret));
    const issuer = await createBuiltinIssuer(state.store, { mfa: 'required', accessTokenTtlSec: 600, refreshTokenTtlSec: 3600, lockout: { maxFailures: 5, lockSec: 900 } }, clock);
    await issuer.rotateSigningKey();
    await issuer.close();
    for (const k of await state.store.signingKeys.list()) {
      const d = (JSON.parse(k.privateJwk) as { d: string }).d;
      plaintexts.set(`the private signing key ${k.kid} (d)`, Buffer.from(d));
      plaintexts.set(`the private signing key ${k.kid} (bytes)`, Buffer.from(d, 'base64url'));
    }
    assert.equal(plaintexts.size, 9);
    // Before any checkpoint: the WAL holds the latest pages.
    const wal = readFileSync(join(dir, '.palisade', 'state.db-wal'));
    assert.ok(wal.byteLength > 0, 'the WAL has pages to inspect');
    assertAbsent('state.db-wal', wal, plaintexts);
    assertAbsent('state.db', readFileSync(join(dir, '.palisade', 'state.db')), plaintexts);
    // The plaintexts were really in play: the vault and the sealed stores give them back.
    assert.equal((await state.vault.readCurrent('db-url'))?.version, 2);
    assert.equal((await state.store.users.findByUsername('alice'))?.totpSecret, secret);
  } finally {
    await state.close();
  }
  // After close (checkpoint into the main file).
  assertAbsent('state.db', readFileSync(join(dir, '.palisade', 'state.db')), plaintexts);
});
