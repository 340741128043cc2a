import { PalisadeError, systemClock, type Clock } from '../kernel/index.js';
import type { Manifest } from '../manifest/index.js';
import { addUser, enrollMfa, listUsers, resetMfa, setPassword, setUserDisabled, type MfaEnrollment, type UserView } from '../identity/index.js';
import { withProjectStore } from './api-key-admin.js';

function requireBuiltin(manifest: Manifest): void {
  if (!manifest.identity.builtin.enabled) {
    throw new PalisadeError('PAL_MANIFEST_INVALID_VALUE', 'built-in users are not enabled for this project; set `identity.builtin.enabled: true` in palisade.yaml');
  }
}

function withStore<T>(manifest: Manifest, fn: Parameters<typeof withProjectStore<T>>[1]): Promise<T> {
  requireBuiltin(manifest);
  return withProjectStore(manifest, fn);
}

/** Operations on a project's built-in users, for the CLI. */
export const userAdmin = {
  add: (manifest: Manifest, input: { username: string; password: string; roles: readonly string[] }, clock: Clock = systemClock): Promise<UserView> => withStore(manifest, (s) => addUser(s, input, clock)),
  list: (manifest: Manifest, clock: Clock = systemClock): Promise<readonly UserView[]> => withStore(manifest, (s) => listUsers(s, clock)),
  setDisabled: (manifest: Manifest, username: string, disabled: boolean, clock: Clock = systemClock): Promise<void> => withStore(manifest, (s) => setUserDisabled(s, username, disabled, clock)),
  setPassword: (manifest: Manifest, username: string, password: string, clock: Clock = systemClock): Promise<void> => withStore(manifest, (s) => setPassword(s, username, password, clock)),
  enrollMfa: (manifest: Manifest, username: string): Promise<MfaEnrollment> => withStore(manifest, (s) => enrollMfa(s, username, `Palisade ${manifest.name}`)),
  resetMfa: (manifest: Manifest, username: string, clock: Clock = systemClock): Promise<void> => withStore(manifest, (s) => resetMfa(s, username, clock)),
};
