import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createManualClock } from '../kernel/index.js';
import { openSqliteStore } from '../store/index.js';
import { createApiKey, createApiKeyVerifier, looksLikeApiKey } from './api-keys.js';

const clock = createManualClock(Date.UTC(2026, 10, 22));

test('a created key has the pal_ prefix, a 16-char id and 256 bits of secret', () => {
  const { plaintext, record } = createApiKey({ name: 'ci', roles: ['deployer'], expiresAt: null }, clock);
  assert.match(plaintext, /^pal_[a-z0-9]{16}_[A-Za-z0-9_-]{43}$/);
  assert.ok(plaintext.includes(record.id));
  assert.ok(!plaintext.includes(record.secretDigest));
  assert.ok(looksLikeApiKey(plaintext));
  assert.equal(plaintext.slice(21).length, 43, 'the secret is everything after pal_<16-char id>_');
  assert.notEqual(createApiKey({ name: 'ci', roles: [], expiresAt: null }, clock).plaintext, plaintext);
});

test('verifies a key, then refuses it once revoked, expired, altered or unknown', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-keys-'));
  const store = openSqliteStore(join(dir, 'state.db'));
  const verify = createApiKeyVerifier(store.apiKeys, clock);
  const live = createApiKey({ name: 'ci', roles: ['deployer'], expiresAt: null }, clock);
  const short = createApiKey({ name: 'temp', roles: [], expiresAt: clock.now() + 1000 }, clock);
  await store.apiKeys.insert(live.record);
  await store.apiKeys.insert(short.record);

  const ok = await verify(live.plaintext);
  assert.deepEqual(ok, { ok: true, principal: { type: 'ServiceAccount', id: `apikey:${live.record.id}`, issuer: 'urn:palisade:api-keys', roles: ['deployer'], mfa: false, authMethod: 'api-key' } });
  assert.ok((await store.apiKeys.find(live.record.id))?.lastUsedAt !== null, 'last use recorded');

  const altered = `${live.plaintext.slice(0, -1)}${live.plaintext.endsWith('A') ? 'B' : 'A'}`;
  assert.deepEqual(await verify(altered), { ok: false, reason: 'unknown-key' });
  assert.deepEqual(await verify(`pal_${'z'.repeat(16)}_${'A'.repeat(43)}`), { ok: false, reason: 'unknown-key' });
  assert.deepEqual(await verify('pal_short'), { ok: false, reason: 'malformed-token' });

  assert.equal((await verify(short.plaintext)).ok, true);
  clock.advance(1000);
  assert.deepEqual(await verify(short.plaintext), { ok: false, reason: 'key-expired' });

  await store.apiKeys.revoke(live.record.id, clock.now());
  assert.deepEqual(await verify(live.plaintext), { ok: false, reason: 'key-revoked' });
  await store.close();

  // The key itself appears in no file of the store (database, WAL, shared memory).
  const secret = live.plaintext.slice(21);
  for (const f of readdirSync(dir)) assert.ok(!readFileSync(join(dir, f)).includes(secret), f);
});
