import { join } from 'node:path';
import { silentLogger, systemClock, type Clock, type Logger } from '../kernel/index.js';
import { sealIdentityStores, sealPlaintextIdentityMaterial } from '../identity/index.js';
import { keyRingLocation, openVault, type OpenedVault } from '../secrets/index.js';
import { openSqliteStore, type StateStore } from '../store/index.js';

/** A project's state: the store (identity secrets sealed by the vault) and the vault. */
export interface ProjectState {
  /** The state store, whose TOTP secrets and private signing keys are sealed under the vault's keys. */
  readonly store: StateStore;
  readonly vault: OpenedVault;
  close(): Promise<void>;
}

/** Options of {@link openProjectState}. */
export interface ProjectStateOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Told when a new key ring was created; default: a warning on standard error. */
  readonly onKeyCreated?: (path: string, kekId: string) => void;
  /** Where `PALISADE_MASTER_KEY` is read; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The loud warning for a new KEK: without a backup, losing the file loses every secret. */
export function keyCreatedWarning(path: string): string {
  return [
    `warning: created a new key-encryption key in \`${path}\` (mode 0600).`,
    '  every secret, KV value, TOTP secret and signing key of this project is encrypted under it.',
    '  back it up now, apart from the state store: if it is lost, nothing encrypted under it can be recovered.',
  ].join('\n');
}

const warnOnStderr = (path: string): void => {
  process.stderr.write(`${keyCreatedWarning(path)}\n`);
};

/**
 * Opens `.palisade/state.db` and the secrets vault of a project, seals any identity material
 * still in plaintext (a store from before sealing), and returns the store with identity secrets
 * sealed on write and opened on read.
 *
 * @example
 * ```ts
 * const state = await openProjectState('/srv/shop');
 * try { await state.vault.admin.listSecrets(); } finally { await state.close(); }
 * ```
 */
export async function openProjectState(projectDir: string, options: ProjectStateOptions = {}): Promise<ProjectState> {
  const stateDir = join(projectDir, '.palisade');
  const raw = openSqliteStore(join(stateDir, 'state.db'));
  let vault: OpenedVault | undefined;
  try {
    vault = await openVault({
      store: raw.vault,
      stateDir,
      logger: options.logger ?? silentLogger,
      clock: options.clock ?? systemClock,
      onKeyCreated: options.onKeyCreated ?? warnOnStderr,
      ...(options.env === undefined ? {} : { env: options.env }),
    });
    const sealed = await sealPlaintextIdentityMaterial(raw, vault.sealedBox);
    if (sealed.totpSecrets + sealed.signingKeys > 0) options.logger?.info('identity material sealed under the vault key hierarchy', { count: sealed.totpSecrets + sealed.signingKeys });
    const store = sealIdentityStores(raw, vault.sealedBox);
    const opened = vault;
    return {
      store,
      vault: opened,
      async close() {
        await opened.close();
        await raw.close();
      },
    };
  } catch (error) {
    await vault?.close().catch(() => undefined);
    await raw.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Creates the project's key ring (`.palisade/master.key`, 0600) unless it, or
 * `PALISADE_MASTER_KEY`, exists; for `palisade init`. Returns the path when it created one.
 */
export async function ensureProjectKeyRing(projectDir: string): Promise<string | undefined> {
  const stateDir = join(projectDir, '.palisade');
  const where = keyRingLocation({ stateDir });
  if (where.exists) return undefined;
  let created: string | undefined;
  const state = await openProjectState(projectDir, { onKeyCreated: (path) => (created = path) });
  await state.close();
  return created;
}
