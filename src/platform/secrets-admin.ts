import { createRequestId, isPalisadeError, silentLogger, systemClock, type AuditEvent, type AuditSink, type Clock, type SecretAdminAction } from '../kernel/index.js';
import { openAuditLog, type AuditLog } from '../audit/index.js';
import type { Manifest } from '../manifest/index.js';
import type { KekStatus, OpenedVault, SecretMetadata } from '../secrets/index.js';
import { join } from 'node:path';
import { openProjectState } from './project-state.js';

/** A secret as the CLI shows it: metadata and the functions granted to read it; never a value. */
export interface SecretView {
  readonly name: string;
  readonly state: 'active' | 'deleted';
  readonly currentVersion: number | null;
  readonly pendingVersion: number | null;
  readonly versions: ReadonlyArray<{ readonly version: number; readonly stage: string | null; readonly createdAt: string; readonly kekId: string }>;
  readonly createdAt: string;
  readonly lastReadAt: string | null;
  readonly lastRotatedAt: string | null;
  readonly deletedAt: string | null;
  readonly purgeAfter: string | null;
  /** Functions whose manifest `secrets:` grants this secret; empty when none or not declared. */
  readonly readers: readonly string[];
}

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

/** The functions of a manifest that list `name` under `secrets:` (tolerates manifests without grants). */
export function secretReaders(manifest: Manifest, name: string): string[] {
  const out: string[] = [];
  for (const fn of manifest.functions.values()) {
    const grants = (fn as { readonly secrets?: unknown }).secrets;
    if (Array.isArray(grants) && grants.some((g) => g === name || (typeof g === 'object' && g !== null && (g as { name?: unknown }).name === name))) out.push(fn.name);
  }
  return out.sort();
}

function toView(manifest: Manifest, m: SecretMetadata): SecretView {
  return {
    name: m.name,
    state: m.deletedAt === null ? 'active' : 'deleted',
    currentVersion: m.currentVersion,
    pendingVersion: m.pendingVersion,
    versions: m.versions.map((v) => ({ version: v.version, stage: v.stage, createdAt: new Date(v.createdAt).toISOString(), kekId: v.kekId })),
    createdAt: new Date(m.createdAt).toISOString(),
    lastReadAt: iso(m.lastReadAt),
    lastRotatedAt: iso(m.lastRotatedAt),
    deletedAt: iso(m.deletedAt),
    purgeAfter: iso(m.purgeAfter),
    readers: secretReaders(manifest, m.name),
  };
}

/** What an audited operation reports for its event (never a value). */
interface Recorded<T> {
  readonly result: T;
  readonly secret?: { readonly name: string; readonly version?: number };
  readonly kekId?: string;
}

/** Who made a vault change, as its audit event names it. */
export interface SecretChangeActor {
  readonly requestId: string;
  /** `CLI`, or the HTTP method of an admin API request. */
  readonly method: string;
  readonly clientIp: string;
  readonly route?: string;
  readonly principal?: AuditEvent['principal'];
}

/**
 * Runs one administrative vault operation on an open vault and appends one audit event for it to
 * `audit` (the CLI's and the admin API's path alike). The event names the secret and version,
 * never the value; an operation that fails with a `PalisadeError` is recorded as an error.
 */
export async function auditedVaultChange<T>(vault: OpenedVault, audit: AuditSink, action: SecretAdminAction, target: { name?: string; kekId?: string }, actor: SecretChangeActor, clock: Clock, fn: (vault: OpenedVault) => Promise<Recorded<T>>): Promise<T> {
  const started = clock.now();
  const event = (outcome: 'allow' | 'error', status: number, extra: Partial<AuditEvent>): AuditEvent => ({
    time: clock.now(),
    requestId: actor.requestId,
    action,
    outcome,
    reason: outcome === 'allow' ? 'allowed' : 'internal-error',
    status,
    method: actor.method,
    ...(actor.route === undefined ? {} : { route: actor.route }),
    ...(actor.principal === undefined ? {} : { principal: actor.principal }),
    clientIp: actor.clientIp,
    durationMs: clock.now() - started,
    ...(target.name === undefined ? {} : { secret: { name: target.name } }),
    ...(target.kekId === undefined ? {} : { kekId: target.kekId }),
    ...extra,
  });
  try {
    const done = await fn(vault);
    await audit.append(event('allow', 200, { ...(done.secret === undefined ? {} : { secret: done.secret }), ...(done.kekId === undefined ? {} : { kekId: done.kekId }) }));
    return done.result;
  } catch (error) {
    if (isPalisadeError(error)) await audit.append(event('error', error.status, { code: error.code })).catch(() => undefined);
    throw error;
  }
}

/**
 * Runs one administrative vault operation and records one audit event for it, in the project's
 * audit chain (opened as `palisade up` opens it). The audit log is opened first: when it cannot
 * record, nothing changes. The event names the secret and version, never the value.
 */
async function audited<T>(manifest: Manifest, action: SecretAdminAction, target: { name?: string; kekId?: string }, clock: Clock, fn: (vault: OpenedVault) => Promise<Recorded<T>>): Promise<T> {
  const stateDir = join(manifest.projectDir, '.palisade');
  const audit: AuditLog = await openAuditLog({
    stateDir,
    mode: 'sync',
    checkpointEvery: manifest.audit.checkpoint.everyEvents,
    checkpointEverySec: manifest.audit.checkpoint.everySeconds,
    ...(manifest.audit.witness === undefined ? {} : { witnessPath: manifest.audit.witness }),
    logger: silentLogger,
  });
  try {
    const state = await openProjectState(manifest.projectDir, { clock });
    try {
      return await auditedVaultChange(state.vault, audit, action, target, { requestId: createRequestId(), method: 'CLI', clientIp: 'local' }, clock, fn);
    } finally {
      await state.close();
    }
  } finally {
    await audit.close();
  }
}

/**
 * The secrets operations of the admin API, on the node's open vault and audit chain: metadata
 * out, values only in, one audit event per change naming the HTTP principal.
 */
export function vaultSecretsAdmin(manifest: Manifest, vault: OpenedVault, audit: AuditSink, clock: Clock = systemClock) {
  const change = <T>(action: SecretAdminAction, name: string, actor: SecretChangeActor, fn: (v: OpenedVault) => Promise<Recorded<T>>): Promise<T> => auditedVaultChange(vault, audit, action, { name }, actor, clock, fn);
  const current = (name: string, m: SecretMetadata) => ({ name, ...(m.currentVersion === null ? {} : { version: m.currentVersion }) });
  return {
    list: async (): Promise<readonly SecretView[]> => (await vault.admin.listSecrets()).map((m) => toView(manifest, m)),
    versions: async (name: string): Promise<SecretView> => toView(manifest, await vault.admin.listVersions(name)),
    set: (name: string, value: Uint8Array, actor: SecretChangeActor): Promise<SecretView> =>
      change('secret-set', name, actor, async (v) => {
        const m = await v.admin.setSecret(name, value);
        return { result: toView(manifest, m), secret: current(name, m) };
      }),
    rotate: (name: string, value: Uint8Array, actor: SecretChangeActor): Promise<SecretView> =>
      change('secret-rotate', name, actor, async (v) => {
        const m = await v.admin.rotateSecret(name, value);
        return { result: toView(manifest, m), secret: current(name, m) };
      }),
    delete: (name: string, actor: SecretChangeActor): Promise<SecretView> => change('secret-delete', name, actor, async (v) => ({ result: toView(manifest, await v.admin.deleteSecret(name)), secret: { name } })),
    restore: (name: string, actor: SecretChangeActor): Promise<SecretView> =>
      change('secret-restore', name, actor, async (v) => {
        const m = await v.admin.restoreSecret(name);
        const version = latest(m);
        return { result: toView(manifest, m), secret: { name, ...(version === undefined ? {} : { version }) } };
      }),
  };
}

/** The admin API's view of the node's secrets (see {@link vaultSecretsAdmin}). */
export type VaultSecretsAdmin = ReturnType<typeof vaultSecretsAdmin>;

async function readOnly<T>(manifest: Manifest, fn: (vault: OpenedVault) => Promise<T>): Promise<T> {
  const state = await openProjectState(manifest.projectDir);
  try {
    return await fn(state.vault);
  } finally {
    await state.close();
  }
}

const latest = (m: SecretMetadata): number | undefined => m.versions.at(-1)?.version;

/**
 * Operations on a project's secrets and key-encryption keys, for the CLI. Values go in as bytes
 * and never come out; every change is one audit event.
 */
export const secretsAdmin = {
  set: (manifest: Manifest, name: string, value: Uint8Array, clock: Clock = systemClock): Promise<SecretView> =>
    audited(manifest, 'secret-set', { name }, clock, async (v) => {
      const m = await v.admin.setSecret(name, value);
      return { result: toView(manifest, m), secret: { name, ...(m.currentVersion === null ? {} : { version: m.currentVersion }) } };
    }),
  rotate: (manifest: Manifest, name: string, value: Uint8Array, clock: Clock = systemClock): Promise<SecretView> =>
    audited(manifest, 'secret-rotate', { name }, clock, async (v) => {
      const m = await v.admin.rotateSecret(name, value);
      return { result: toView(manifest, m), secret: { name, ...(m.currentVersion === null ? {} : { version: m.currentVersion }) } };
    }),
  stage: (manifest: Manifest, name: string, value: Uint8Array, clock: Clock = systemClock): Promise<SecretView> =>
    audited(manifest, 'secret-stage', { name }, clock, async (v) => {
      const m = await v.admin.stagePending(name, value);
      return { result: toView(manifest, m), secret: { name, ...(m.pendingVersion === null ? {} : { version: m.pendingVersion }) } };
    }),
  promote: (manifest: Manifest, name: string, version: number | 'pending', clock: Clock = systemClock): Promise<SecretView> =>
    audited(manifest, 'secret-promote', { name }, clock, async (v) => {
      const m = version === 'pending' ? await v.admin.promotePending(name) : await v.admin.promoteVersion(name, version);
      return { result: toView(manifest, m), secret: { name, ...(m.currentVersion === null ? {} : { version: m.currentVersion }) } };
    }),
  discard: (manifest: Manifest, name: string, clock: Clock = systemClock): Promise<SecretView> =>
    audited(manifest, 'secret-discard', { name }, clock, async (v) => ({ result: toView(manifest, await v.admin.discardPending(name)), secret: { name } })),
  delete: (manifest: Manifest, name: string, recoveryDays: number, clock: Clock = systemClock): Promise<SecretView> =>
    audited(manifest, 'secret-delete', { name }, clock, async (v) => ({ result: toView(manifest, await v.admin.deleteSecret(name, { recoveryDays })), secret: { name } })),
  restore: (manifest: Manifest, name: string, clock: Clock = systemClock): Promise<SecretView> =>
    audited(manifest, 'secret-restore', { name }, clock, async (v) => {
      const m = await v.admin.restoreSecret(name);
      const version = latest(m);
      return { result: toView(manifest, m), secret: { name, ...(version === undefined ? {} : { version }) } };
    }),
  purge: (manifest: Manifest, name: string, force: boolean, clock: Clock = systemClock): Promise<void> =>
    audited(manifest, 'secret-purge', { name }, clock, async (v) => ({ result: await v.admin.purgeSecret(name, { force }), secret: { name } })),
  list: (manifest: Manifest): Promise<readonly SecretView[]> => readOnly(manifest, async (v) => (await v.admin.listSecrets()).map((m) => toView(manifest, m))),
  versions: (manifest: Manifest, name: string): Promise<SecretView> => readOnly(manifest, async (v) => toView(manifest, await v.admin.listVersions(name))),
  rotateKek: (manifest: Manifest, clock: Clock = systemClock): Promise<{ readonly activeKekId: string; readonly rewrapped: number; readonly remaining: number; readonly source: 'env' | 'file'; readonly path: string | null }> =>
    audited(manifest, 'kek-rotate', {}, clock, async (v) => {
      const r = await v.keys.rotateKek();
      return { result: { ...r, source: v.keys.source, path: v.keys.path ?? null }, kekId: r.activeKekId };
    }),
  retireKek: (manifest: Manifest, id: string, clock: Clock = systemClock): Promise<{ readonly source: 'env' | 'file' }> =>
    audited(manifest, 'kek-retire', { kekId: id }, clock, async (v) => {
      await v.keys.retireKek(id);
      return { result: { source: v.keys.source }, kekId: id };
    }),
  keys: (manifest: Manifest): Promise<readonly KekStatus[]> => readOnly(manifest, (v) => v.keys.status()),
};
