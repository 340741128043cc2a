import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createManualClock } from '../kernel/index.js';
import { openSqliteStore } from '../store/index.js';
import { addUser, enrollMfa } from './builtin-accounts.js';
import { createBuiltinIssuer } from './builtin-issuer.js';
import { sealIdentityStores, sealPlaintextIdentityMaterial, type SealedBox } from './sealed-identity-stores.js';
import { currentTotp } from './totp.js';

// A test double of the port: reversible, and bound to purpose and id like the real one.
const box: SealedBox = {
  isSealed: (v) => v.startsWith('sealed:'),
  async seal(purpose, id, plaintext) {
    return `sealed:${Buffer.from(JSON.stringify([purpose, id, plaintext])).toString('base64url')}`;
  },
  async open(purpose, id, sealed) {
    if (!sealed.startsWith('sealed:')) throw new Error('not sealed');
    const [p, i, v] = JSON.parse(Buffer.from(sealed.slice(7), 'base64url').toString()) as [string, string, string];
    if (p !== purpose || i !== id) throw new Error('moved');
    return v;
  },
};

const settings = { mfa: 'required' as const, accessTokenTtlSec: 600, refreshTokenTtlSec: 3600, lockout: { maxFailures: 3, lockSec: 900 } };

test('TOTP secrets and signing keys are sealed on write; login works through the sealed stores', async () => {
  const clock = createManualClock(Date.UTC(2026, 10, 22, 12));
  const raw = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'palisade-sealed-')), 'state.db'));
  const stores = sealIdentityStores(raw, box);
  const issuer = await createBuiltinIssuer(stores, settings, clock);
  await addUser(stores, { username: 'alice', password: 'correct horse battery staple', roles: [] }, clock);
  const { secret } = await enrollMfa(stores, 'alice', 'test');
  const stored = await raw.users.findByUsername('alice');
  assert.ok(stored?.totpSecret?.startsWith('sealed:'), 'the raw store holds only the sealed form');
  assert.ok((await raw.signingKeys.list()).every((k) => k.privateJwk.startsWith('sealed:')));
  const out = await issuer.login({ username: 'alice', password: 'correct horse battery staple', totp: currentTotp(secret, clock.now()) }, '10.0.0.1');
  assert.equal(out.ok, true);
  await issuer.close();
  await raw.close();
});

test('plaintext rows from before sealing are sealed in place, once', async () => {
  const clock = createManualClock(Date.UTC(2026, 10, 22, 12));
  const raw = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'palisade-sealed-')), 'state.db'));
  const issuer = await createBuiltinIssuer(raw, settings, clock);
  await addUser(raw, { username: 'bob', password: 'correct horse battery staple', roles: [] }, clock);
  const { secret } = await enrollMfa(raw, 'bob', 'test');
  await issuer.close();
  assert.deepEqual(await sealPlaintextIdentityMaterial(raw, box), { totpSecrets: 1, signingKeys: 1 });
  assert.deepEqual(await sealPlaintextIdentityMaterial(raw, box), { totpSecrets: 0, signingKeys: 0 }, 'idempotent');
  const sealed = sealIdentityStores(raw, box);
  assert.equal((await sealed.users.findByUsername('bob'))?.totpSecret, secret);
  const again = await createBuiltinIssuer(sealed, settings, clock);
  const out = await again.login({ username: 'bob', password: 'correct horse battery staple', totp: currentTotp(secret, clock.now()) }, '10.0.0.2');
  assert.equal(out.ok, true, 'the migrated key and TOTP secret still work');
  await again.close();
  await raw.close();
});
