import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StateStore } from './ports.js';

/**
 * The behaviour every `StateStore` implementation must have. Each implementation's test file
 * calls this with a factory that opens a fresh, real store.
 *
 * @example
 * ```ts
 * runStoreConformance('sqlite', async () => openSqliteStore(':memory:'));
 * ```
 */
export function runStoreConformance(name: string, open: () => Promise<StateStore>, openPeers?: (count: number) => Promise<StateStore[]>): void {
  // N handles on one fresh database (separate connections where the implementation has them),
  // so the concurrency cases below race real connections, not one.
  const peers = openPeers ?? (async (count: number) => {
    const store = await open();
    return Array.from({ length: count }, () => store);
  });
  const closeAll = async (stores: readonly StateStore[]) => {
    for (const s of new Set(stores)) await s.close();
  };
  test(`${name}: migrations bring a new store to the latest schema`, async () => {
    const store = await open();
    try {
      assert.ok((await store.schemaVersion()) >= 1);
    } finally {
      await store.close();
    }
  });

  test(`${name}: records deployments and lists them newest first`, async () => {
    const store = await open();
    try {
      const digest = 'a'.repeat(64);
      const first = await store.deployments.recordDeployment({ manifestDigest: digest, functions: ['a', 'b'], startedAt: 1000 });
      const second = await store.deployments.recordDeployment({ manifestDigest: 'b'.repeat(64), functions: ['c'], startedAt: 2000 });
      assert.ok(second.id > first.id);
      const listed = await store.deployments.listDeployments(10);
      assert.deepEqual(listed.map((d) => d.id), [second.id, first.id]);
      assert.deepEqual(listed[1]?.functions, ['a', 'b']);
      assert.equal(listed[1]?.manifestDigest, digest);
      assert.equal((await store.deployments.listDeployments(1)).length, 1);
    } finally {
      await store.close();
    }
  });

  test(`${name}: stores api keys by id, lists, touches and revokes them once`, async () => {
    const store = await open();
    try {
      const record = { id: 'k1', name: 'ci', secretDigest: 'd'.repeat(64), roles: ['deployer'], createdAt: 10, expiresAt: null };
      await store.apiKeys.insert(record);
      assert.deepEqual(await store.apiKeys.find('k1'), { ...record, lastUsedAt: null, revokedAt: null });
      assert.equal(await store.apiKeys.find('nope'), undefined);
      await store.apiKeys.touch('k1', 20);
      assert.equal((await store.apiKeys.find('k1'))?.lastUsedAt, 20);
      assert.equal(await store.apiKeys.revoke('k1', 30), true);
      assert.equal(await store.apiKeys.revoke('k1', 40), false, 'a second revoke changes nothing');
      assert.equal((await store.apiKeys.find('k1'))?.revokedAt, 30);
      assert.equal((await store.apiKeys.list()).length, 1);
      await assert.rejects(store.apiKeys.insert({ ...record }), 'ids are unique');
    } finally {
      await store.close();
    }
  });

  test(`${name}: revocations stay in force until the token would have expired`, async () => {
    const store = await open();
    try {
      await store.revocations.revoke('jti-a', 100);
      await store.revocations.revoke('jti-b', 300);
      assert.deepEqual([...(await store.revocations.listActive(50))].sort(), ['jti-a', 'jti-b']);
      assert.deepEqual(await store.revocations.listActive(200), ['jti-b']);
      assert.deepEqual([...(await store.revocations.listActive(50))].sort(), ['jti-a', 'jti-b'], 'listing prunes nothing');
      assert.equal(await store.revocations.prune(200), 1);
      assert.deepEqual(await store.revocations.listActive(50), ['jti-b']);
      const before = store.revocations.changeCounter();
      await store.revocations.revoke('jti-c', 400);
      assert.notEqual(store.revocations.changeCounter(), before, 'a write through this handle is visible');
      assert.equal(await store.revocations.issuedBefore(), 0);
      await store.revocations.revokeIssuedBefore(5000);
      await store.revocations.revokeIssuedBefore(4000);
      assert.equal(await store.revocations.issuedBefore(), 5000, 'the cut-off only moves forward');
    } finally {
      await store.close();
    }
  });

  test(`${name}: client certificates are revoked by fingerprint or by issuer and serial`, async () => {
    const store = await open();
    try {
      await store.certificateRevocations.revoke({ fingerprint256: 'ab:cd:ef' }, 1);
      await store.certificateRevocations.revoke({ fingerprint256: 'ABCDEF' }, 2);
      await store.certificateRevocations.revoke({ issuer: 'CN=Client CA', serial: '0a:1b' }, 3);
      assert.deepEqual(await store.certificateRevocations.list(), [
        { fingerprint256: 'ABCDEF', revokedAt: 1 },
        { issuer: 'CN=Client CA', serial: '0A1B', revokedAt: 3 },
      ]);
    } finally {
      await store.close();
    }
  });

  test(`${name}: users: unique usernames, field updates, one-time recovery codes`, async () => {
    const store = await open();
    try {
      await store.users.insert({ id: 'u1', username: 'alice', passwordHash: '$argon2id$x', roles: ['customer'], createdAt: 1 });
      await assert.rejects(store.users.insert({ id: 'u2', username: 'alice', passwordHash: 'h', roles: [], createdAt: 1 }));
      const alice = await store.users.findByUsername('alice');
      assert.deepEqual([alice?.id, alice?.roles, alice?.totpSecret, alice?.tokenEpoch], ['u1', ['customer'], null, 0]);
      await store.users.update('u1', { tokenEpoch: 3, roles: ['admin'], totpSecret: 'JBSWY3DP' });
      const updated = await store.users.findById('u1');
      assert.deepEqual([updated?.tokenEpoch, updated?.roles, updated?.totpSecret], [3, ['admin'], 'JBSWY3DP']);
      await store.users.replaceRecoveryCodes('u1', ['c1', 'c2']);
      assert.equal(await store.users.consumeRecoveryCode('u1', 'c1', 5), true);
      assert.equal(await store.users.consumeRecoveryCode('u1', 'c1', 6), false, 'a recovery code works once');
      assert.equal(await store.users.consumeRecoveryCode('u1', 'zz', 6), false);
      await store.users.replaceRecoveryCodes('u1', ['c3']);
      assert.equal(await store.users.consumeRecoveryCode('u1', 'c2', 7), false, 'replaced codes are gone');
      assert.equal((await store.users.list()).length, 1);
      assert.equal(await store.users.loginFailures('ghost'), undefined);
      const policy = { maxFailures: 3, lockMs: 1000 };
      assert.deepEqual(await store.users.countLoginAttempt('ghost', 100, policy), { admitted: true, failures: 1, lockedUntil: null });
      assert.deepEqual(await store.users.countLoginAttempt('ghost', 110, policy), { admitted: true, failures: 2, lockedUntil: null });
      assert.deepEqual(await store.users.countLoginAttempt('ghost', 120, policy), { admitted: true, failures: 3, lockedUntil: 1120 }, 'the attempt that reaches the limit is admitted and locks');
      assert.deepEqual(await store.users.countLoginAttempt('ghost', 130, policy), { admitted: false, failures: 4, lockedUntil: 1120 });
      assert.deepEqual(await store.users.loginFailures('ghost'), { failures: 4, lockedUntil: 1120 });
      assert.deepEqual(await store.users.countLoginAttempt('ghost', 1120, policy), { admitted: true, failures: 1, lockedUntil: null }, 'an expired lock starts a new period');
      await store.users.countLoginAttempt('old', 300, policy);
      await store.users.countLoginAttempt('new', 300 + 86_400_001, policy);
      assert.equal(await store.users.pruneLoginFailures(300 + 1), 1);
      assert.equal(await store.users.loginFailures('old'), undefined, 'idle entries are pruned');
      await store.users.clearLoginFailures('ghost');
      assert.equal(await store.users.loginFailures('ghost'), undefined);
      assert.equal(await store.users.advanceTotpStep('u1', 10), true);
      assert.equal(await store.users.advanceTotpStep('u1', 10), false, 'a step is accepted once');
      assert.equal(await store.users.advanceTotpStep('u1', 9), false, 'and never an older one');
      assert.equal((await store.users.findById('u1'))?.totpLastStep, 10);
    } finally {
      await store.close();
    }
  });

  test(`${name}: refresh tokens are spent once; families and users can be revoked`, async () => {
    const store = await open();
    try {
      await store.users.insert({ id: 'u1', username: 'alice', passwordHash: 'h', roles: [], createdAt: 1 });
      await store.refreshTokens.insert({ digest: 'r1', familyId: 'f1', userId: 'u1', expiresAt: 100, amr: ['pwd', 'otp'], authTime: 1, accessJti: 'a1', accessExpiresAt: 60 });
      await store.refreshTokens.insert({ digest: 'r2', familyId: 'f1', userId: 'u1', expiresAt: 100, amr: ['pwd'], authTime: 1, accessJti: 'a2', accessExpiresAt: 70 });
      assert.equal(await store.refreshTokens.spend('r1', 5), true);
      assert.equal(await store.refreshTokens.spend('r1', 6), false, 'a spent token cannot be spent again');
      assert.deepEqual((await store.refreshTokens.find('r1'))?.amr, ['pwd', 'otp']);
      const live = await store.refreshTokens.revokeFamily('f1', 7);
      assert.deepEqual([...live].sort((a, b) => a.jti.localeCompare(b.jti)), [{ jti: 'a1', expiresAt: 60 }, { jti: 'a2', expiresAt: 70 }], 'the family names its access tokens');
      assert.equal(await store.refreshTokens.spend('r2', 8), false, 'a revoked family is dead');
      assert.equal((await store.refreshTokens.find('r2'))?.revokedAt, 7);
      assert.deepEqual(await store.refreshTokens.revokeFamily('f1', 9), [], 'revoking twice names nothing again');
      assert.equal(await store.refreshTokens.insert({ digest: 'r9', familyId: 'f1', userId: 'u1', expiresAt: 100, amr: ['pwd'], authTime: 1, accessJti: 'a9', accessExpiresAt: 90 }), false, 'a revoked family takes no new token');
      assert.equal(await store.refreshTokens.find('r9'), undefined);
      await store.refreshTokens.insert({ digest: 'r3', familyId: 'f2', userId: 'u1', expiresAt: 100, amr: ['pwd'], authTime: 1, accessJti: 'a3', accessExpiresAt: 80 });
      assert.deepEqual(await store.refreshTokens.revokeUser('u1', 10), [{ jti: 'a3', expiresAt: 80 }]);
    } finally {
      await store.close();
    }
  });

  test(`${name}: signing keys, newest first, retired in place`, async () => {
    const store = await open();
    try {
      await store.signingKeys.insert({ kid: 'a', privateJwk: '{}', publicJwk: '{}', createdAt: 1 });
      await store.signingKeys.insert({ kid: 'b', privateJwk: '{}', publicJwk: '{}', createdAt: 2 });
      await store.signingKeys.retire('a', 3);
      const keys = await store.signingKeys.list();
      assert.deepEqual(keys.map((k) => [k.kid, k.retiredAt]), [['b', null], ['a', 3]]);
    } finally {
      await store.close();
    }
  });

  test(`${name}: rejects a malformed manifest digest`, async () => {
    const store = await open();
    try {
      await assert.rejects(store.deployments.recordDeployment({ manifestDigest: 'short', functions: [], startedAt: 1 }));
    } finally {
      await store.close();
    }
  });

  test(`${name}: concurrent logins for one name: exactly the limit is admitted, then the name is locked`, async () => {
    const stores = await peers(4);
    try {
      const policy = { maxFailures: 5, lockMs: 60_000 };
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (stores[i % stores.length] as StateStore).users.countLoginAttempt('victim', 1000, policy)));
      assert.equal(results.filter((r) => r.admitted).length, 5);
      assert.deepEqual(results.map((r) => r.failures).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 1), 'no lost update: every attempt counted once');
      assert.deepEqual(await stores[0]?.users.loginFailures('victim'), { failures: 40, lockedUntil: 61_000 });
    } finally {
      await closeAll(stores);
    }
  });

  test(`${name}: concurrent attempts from one address: exactly the free attempts are admitted`, async () => {
    const stores = await peers(4);
    try {
      const policy = { freeAttempts: 10, windowMs: 900_000, maxDelayMs: 900_000 };
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (stores[i % stores.length] as StateStore).loginThrottle.countAttempt('198.51.100.7', 1000, policy)));
      assert.equal(results.filter((r) => r.admitted).length, 10);
      assert.ok(results.filter((r) => !r.admitted).every((r) => r.retryAfterMs === 1000));
      const store = stores[0] as StateStore;
      assert.deepEqual(await store.loginThrottle.countAttempt('198.51.100.7', 1999, policy), { admitted: false, retryAfterMs: 1 });
      assert.deepEqual(await store.loginThrottle.countAttempt('198.51.100.7', 2000, policy), { admitted: true, retryAfterMs: 0 }, 'after the delay one more attempt');
      assert.deepEqual(await store.loginThrottle.countAttempt('198.51.100.7', 2000, policy), { admitted: false, retryAfterMs: 2000 }, 'and the delay doubles');
      assert.equal((await store.loginThrottle.countAttempt('203.0.113.9', 2000, policy)).admitted, true, 'other addresses are not affected');
      await store.loginThrottle.clear('198.51.100.7');
      assert.equal((await store.loginThrottle.countAttempt('198.51.100.7', 2001, policy)).admitted, true, 'a success clears the address');
      assert.equal((await store.loginThrottle.countAttempt('203.0.113.9', 2000 + 900_001, policy)).admitted, true, 'the window ends');
      assert.equal(await store.loginThrottle.prune(3000), 1);
    } finally {
      await closeAll(stores);
    }
  });

  test(`${name}: one TOTP step in concurrent logins is accepted exactly once`, async () => {
    const stores = await peers(4);
    try {
      await stores[0]?.users.insert({ id: 'u1', username: 'alice', passwordHash: 'h', roles: [], createdAt: 1 });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (stores[i % stores.length] as StateStore).users.advanceTotpStep('u1', 42)));
      assert.equal(results.filter(Boolean).length, 1);
    } finally {
      await closeAll(stores);
    }
  });

  test(`${name}: one refresh token spent by concurrent callers succeeds exactly once`, async () => {
    const stores = await peers(4);
    try {
      await stores[0]?.users.insert({ id: 'u1', username: 'alice', passwordHash: 'h', roles: [], createdAt: 1 });
      await stores[0]?.refreshTokens.insert({ digest: 'r1', familyId: 'f1', userId: 'u1', expiresAt: 100, amr: ['pwd'], authTime: 1, accessJti: null, accessExpiresAt: null });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (stores[i % stores.length] as StateStore).refreshTokens.spend('r1', 5)));
      assert.equal(results.filter(Boolean).length, 1);
    } finally {
      await closeAll(stores);
    }
  });

  test(`${name}: concurrent revocations of one jti keep the latest expiry`, async () => {
    const stores = await peers(4);
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => (stores[i % stores.length] as StateStore).revocations.revoke('jti-x', 100 + i)));
      assert.deepEqual(await stores[0]?.revocations.listActive(118), ['jti-x']);
      assert.deepEqual(await stores[0]?.revocations.listActive(119), []);
    } finally {
      await closeAll(stores);
    }
  });

  test(`${name}: vault versions are allocated once each by concurrent callers, and stages stay unique`, async () => {
    const stores = await peers(4);
    try {
      const v = (i: number) => (stores[i % stores.length] as StateStore).vault;
      const allocated = await Promise.all(Array.from({ length: 20 }, (_, i) => v(i).allocateSecretVersion('s', 10, true)));
      assert.deepEqual(allocated.map((a) => a.version).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
      const bytes = new Uint8Array([1, 2, 3]);
      await Promise.all(allocated.map((a, i) => v(i).insertSecretVersion({ name: 's', version: a.version, stage: 'current', ciphertext: bytes, wrappedKey: bytes, kekId: 'k', createdAt: 20 })));
      const meta = await v(0).secretMetadata('s');
      assert.equal(meta?.versions.length, 20);
      assert.equal(meta?.versions.filter((x) => x.stage === 'current').length, 1);
      assert.equal(meta?.versions.filter((x) => x.stage === 'previous').length, 1);
      assert.equal(await v(0).softDeleteSecret('s', 30, 40), 'ok');
      assert.deepEqual(await v(1).allocateSecretVersion('s', 31, true), { outcome: 'deleted', version: 0 });
      assert.equal(await v(2).purgeSecret('s', 35, false), 'in-window');
      assert.equal(await v(3).purgeSecret('s', 40, false), 'purged');
      assert.equal(await v(0).generation(), 22, 'every stored version, the delete and the purge moved the generation');
    } finally {
      await closeAll(stores);
    }
  });

  test(`${name}: a due rotation is claimed by exactly one of concurrent callers; a claim holds until its lease ends`, async () => {
    const stores = await peers(4);
    try {
      const v = (i: number) => (stores[i % stores.length] as StateStore).vault;
      const bytes = new Uint8Array([1, 2, 3]);
      const a = await v(0).allocateSecretVersion('r', 1000, true);
      await v(0).insertSecretVersion({ name: 'r', version: a.version, stage: 'current', ciphertext: bytes, wrappedKey: bytes, kekId: 'k', createdAt: 1000 });
      // Not due yet: it became current at 1000, every 500 → due from 1500.
      assert.deepEqual(await Promise.all([0, 1, 2, 3].map((i) => v(i).claimSecretRotation('r', 1400, 500, 100))), [false, false, false, false]);
      const won = await Promise.all(Array.from({ length: 16 }, (_, i) => v(i).claimSecretRotation('r', 1500, 500, 100)));
      assert.equal(won.filter(Boolean).length, 1, 'exactly one winner');
      assert.equal(await v(1).claimSecretRotation('r', 1599, 500, 100), false, 'the lease still holds');
      assert.equal(await v(2).claimSecretRotation('r', 1601, 500, 100), true, 'an expired lease can be claimed again');
      await v(3).releaseSecretRotation('r');
      assert.equal(await v(0).claimSecretRotation('r', 1602, 0, 100), true, 'a released claim is free');
      assert.equal(await v(0).claimSecretRotation('none', 5000, 0, 100), false, 'no such secret');
      await v(0).releaseSecretRotation('r');
      assert.equal(await v(0).softDeleteSecret('r', 2000, 3000), 'ok');
      assert.equal(await v(1).claimSecretRotation('r', 9000, 0, 100), false, 'a deleted secret is never rotated');
    } finally {
      await closeAll(stores);
    }
  });
}
