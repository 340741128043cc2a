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

  test(`${name}: rejects a malformed manifest digest`, async () => {
    const store = await open();
    try {
      await assert.rejects(store.deployments.recordDeployment({ manifestDigest: 'short', functions: [], startedAt: 1 }));
    } finally {
      await store.close();
    }
  });
}
