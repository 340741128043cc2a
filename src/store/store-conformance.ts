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

  test(`${name}: rejects a malformed manifest digest`, async () => {
    const store = await open();
    try {
      await assert.rejects(store.deployments.recordDeployment({ manifestDigest: 'short', functions: [], startedAt: 1 }));
    } finally {
      await store.close();
    }
  });
}
