import { PalisadeError, systemClock, type Clock } from '../kernel/index.js';
import type { Manifest } from '../manifest/index.js';
import { createApiKey } from '../identity/index.js';
import type { ApiKeyRecord, StateStore } from '../store/index.js';
import { openProjectState } from './project-state.js';

/** An API key as an operator sees it: never the secret, never its digest. */
export interface ApiKeyView {
  readonly id: string;
  readonly name: string;
  readonly roles: readonly string[];
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

/**
 * Opens a project's state store (`.palisade/state.db`) with its identity secrets sealed by the
 * vault; `close` closes both.
 */
export async function openProjectStore(manifest: Manifest): Promise<StateStore> {
  const state = await openProjectState(manifest.projectDir);
  return { ...state.store, close: () => state.close() };
}

/** Opens the project store for one operation and always closes it. */
export async function withProjectStore<T>(manifest: Manifest, fn: (store: StateStore) => Promise<T>): Promise<T> {
  const store = await openProjectStore(manifest);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/**
 * Creates an API key in the project store and returns it once, in plain text.
 *
 * @example
 * ```ts
 * const { key, view } = await createProjectApiKey(manifest, { name: 'ci', roles: ['deployer'], ttlMs: null });
 * ```
 */
export function createProjectApiKey(manifest: Manifest, input: { name: string; roles: readonly string[]; ttlMs: number | null }, clock: Clock = systemClock): Promise<{ key: string; view: ApiKeyView }> {
  if (!manifest.identity.apiKeys.enabled) {
    throw new PalisadeError('PAL_MANIFEST_INVALID_VALUE', 'api keys are not enabled for this project; set `identity.apiKeys.enabled: true` in palisade.yaml');
  }
  return withProjectStore(manifest, async (store) => {
    const created = createApiKey({ name: input.name, roles: input.roles, expiresAt: input.ttlMs === null ? null : clock.now() + input.ttlMs }, clock);
    await store.apiKeys.insert(created.record);
    return { key: created.plaintext, view: toView({ ...created.record, lastUsedAt: null, revokedAt: null }) };
  });
}

/** Lists the project's API keys, without secrets. */
export function listProjectApiKeys(manifest: Manifest): Promise<readonly ApiKeyView[]> {
  return withProjectStore(manifest, async (store) => (await store.apiKeys.list()).map(toView));
}

/** Revokes a key at once; throws `PAL_IDENTITY_KEY_NOT_FOUND` when there is no live key with that id. */
export function revokeProjectApiKey(manifest: Manifest, id: string, clock: Clock = systemClock): Promise<void> {
  return withProjectStore(manifest, async (store) => {
    if (!(await store.apiKeys.revoke(id, clock.now()))) throw new PalisadeError('PAL_IDENTITY_KEY_NOT_FOUND', `no active api key \`${id}\``);
  });
}

/** Replaces a key with a new one of the same name, roles and lifetime, and revokes the old one. */
export function rotateProjectApiKey(manifest: Manifest, id: string, clock: Clock = systemClock): Promise<{ key: string; view: ApiKeyView }> {
  return withProjectStore(manifest, async (store) => {
    const old = await store.apiKeys.find(id);
    if (old === undefined || old.revokedAt !== null) throw new PalisadeError('PAL_IDENTITY_KEY_NOT_FOUND', `no active api key \`${id}\``);
    const ttl = old.expiresAt === null ? null : old.expiresAt - old.createdAt;
    const created = createApiKey({ name: old.name, roles: old.roles, expiresAt: ttl === null ? null : clock.now() + ttl }, clock);
    await store.apiKeys.insert(created.record);
    await store.apiKeys.revoke(id, clock.now());
    return { key: created.plaintext, view: toView({ ...created.record, lastUsedAt: null, revokedAt: null }) };
  });
}

function toView(r: ApiKeyRecord): ApiKeyView {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return { id: r.id, name: r.name, roles: r.roles, createdAt: new Date(r.createdAt).toISOString(), expiresAt: iso(r.expiresAt), lastUsedAt: iso(r.lastUsedAt), revokedAt: iso(r.revokedAt) };
}
