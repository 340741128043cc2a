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
export function runStoreConformance(name: string, open: () => Promise<StateStore>): void {
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
      const before = store.revocations.changeCounter();
      await store.revocations.revoke('jti-c', 400);
      assert.notEqual(store.revocations.changeCounter(), before, 'a write through this handle is visible');
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
      await store.users.setLoginFailures('ghost', 2, null, 100);
      await store.users.setLoginFailures('ghost', 0, 900, 200);
      assert.deepEqual(await store.users.loginFailures('ghost'), { failures: 0, lockedUntil: 900 });
      await store.users.setLoginFailures('old', 1, null, 300);
      await store.users.setLoginFailures('new', 1, null, 300 + 86_400_001);
      assert.equal(await store.users.loginFailures('old'), undefined, 'idle entries are pruned');
      await store.users.clearLoginFailures('ghost');
      assert.equal(await store.users.loginFailures('ghost'), undefined);
    } finally {
      await store.close();
    }
  });

  test(`${name}: refresh tokens are spent once; families and users can be revoked`, async () => {
    const store = await open();
    try {
      await store.users.insert({ id: 'u1', username: 'alice', passwordHash: 'h', roles: [], createdAt: 1 });
      await store.refreshTokens.insert({ digest: 'r1', familyId: 'f1', userId: 'u1', expiresAt: 100, amr: ['pwd', 'otp'], authTime: 1 });
      await store.refreshTokens.insert({ digest: 'r2', familyId: 'f1', userId: 'u1', expiresAt: 100, amr: ['pwd'], authTime: 1 });
      assert.equal(await store.refreshTokens.spend('r1', 5), true);
      assert.equal(await store.refreshTokens.spend('r1', 6), false, 'a spent token cannot be spent again');
      assert.deepEqual((await store.refreshTokens.find('r1'))?.amr, ['pwd', 'otp']);
      await store.refreshTokens.revokeFamily('f1', 7);
      assert.equal(await store.refreshTokens.spend('r2', 8), false, 'a revoked family is dead');
      assert.equal((await store.refreshTokens.find('r2'))?.revokedAt, 7);
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
}
