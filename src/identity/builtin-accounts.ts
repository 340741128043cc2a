import { randomUUID } from 'node:crypto';
import { toString as qrToString } from 'qrcode';
import { PalisadeError, type Clock } from '../kernel/index.js';
import type { RefreshTokenStore, UserRecord, UserStore } from '../store/index.js';
import { checkNewPassword, hashPassword } from './passwords.js';
import { createRecoveryCodes, createTotpSecret, totpUri } from './totp.js';

const USERNAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;
const ROLE = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;

/** The stores account administration needs. */
export interface AccountStores {
  readonly users: UserStore;
  readonly refreshTokens: RefreshTokenStore;
}

/** A user as an operator sees it: no hash, no TOTP secret. */
export interface UserView {
  readonly id: string;
  readonly username: string;
  readonly roles: readonly string[];
  readonly mfa: boolean;
  readonly disabled: boolean;
  readonly locked: boolean;
  readonly createdAt: string;
}

/** An MFA enrolment: shown once. */
export interface MfaEnrollment {
  readonly secret: string;
  readonly uri: string;
  readonly qr: string;
  readonly recoveryCodes: readonly string[];
}

function invalid(message: string): PalisadeError {
  return new PalisadeError('PAL_IDENTITY_INVALID_ACCOUNT', message);
}

async function require(stores: AccountStores, username: string): Promise<UserRecord> {
  const user = await stores.users.findByUsername(username);
  if (user === undefined) throw new PalisadeError('PAL_IDENTITY_USER_NOT_FOUND', `no user \`${username}\``);
  return user;
}

/** Creates a built-in user. */
export async function addUser(stores: AccountStores, input: { username: string; password: string; roles: readonly string[] }, clock: Clock): Promise<UserView> {
  if (!USERNAME.test(input.username)) throw invalid(`username \`${input.username}\` must be lowercase letters, digits and \`._@-\`, at most 64`);
  for (const r of input.roles) if (!ROLE.test(r)) throw invalid(`role \`${r}\` is not a valid role name`);
  const weak = checkNewPassword(input.password, input.username);
  if (weak !== undefined) throw invalid(weak);
  if ((await stores.users.findByUsername(input.username)) !== undefined) throw invalid(`user \`${input.username}\` already exists`);
  const id = randomUUID();
  await stores.users.insert({ id, username: input.username, passwordHash: await hashPassword(input.password), roles: [...input.roles], createdAt: clock.now() });
  return view((await stores.users.findById(id)) as UserRecord, clock, null);
}

/** Lists users without secrets. */
export async function listUsers(stores: AccountStores, clock: Clock): Promise<readonly UserView[]> {
  const users = await stores.users.list();
  return Promise.all(users.map(async (u) => view(u, clock, (await stores.users.loginFailures(u.username))?.lockedUntil ?? null)));
}

/** Sets a new password; every token issued before stops working. */
export async function setPassword(stores: AccountStores, username: string, password: string, clock: Clock): Promise<void> {
  const user = await require(stores, username);
  const weak = checkNewPassword(password, username);
  if (weak !== undefined) throw invalid(weak);
  await stores.users.update(user.id, { passwordHash: await hashPassword(password), tokenEpoch: user.tokenEpoch + 1 });
  await stores.users.clearLoginFailures(username);
  await stores.refreshTokens.revokeUser(user.id, clock.now());
}

/** Disables or enables a user. Disabling voids every token at once. */
export async function setUserDisabled(stores: AccountStores, username: string, disabled: boolean, clock: Clock): Promise<void> {
  const user = await require(stores, username);
  if (disabled) {
    await stores.users.update(user.id, { disabledAt: clock.now(), tokenEpoch: user.tokenEpoch + 1 });
    await stores.refreshTokens.revokeUser(user.id, clock.now());
  } else {
    await stores.users.update(user.id, { disabledAt: null });
    await stores.users.clearLoginFailures(username);
  }
}

/** Enrols (or re-enrols) TOTP MFA: a new secret and ten new recovery codes, shown once. */
export async function enrollMfa(stores: AccountStores, username: string, issuerLabel: string): Promise<MfaEnrollment> {
  const user = await require(stores, username);
  const secret = createTotpSecret();
  const { codes, digests } = createRecoveryCodes();
  await stores.users.update(user.id, { totpSecret: secret, totpLastStep: 0 });
  await stores.users.replaceRecoveryCodes(user.id, digests);
  const uri = totpUri(secret, username, issuerLabel);
  return { secret, uri, qr: await qrToString(uri, { type: 'terminal', small: true }), recoveryCodes: codes };
}

/** Removes MFA (for a lost device); tokens issued before stop working. */
export async function resetMfa(stores: AccountStores, username: string, clock: Clock): Promise<void> {
  const user = await require(stores, username);
  await stores.users.update(user.id, { totpSecret: null, totpLastStep: 0, tokenEpoch: user.tokenEpoch + 1 });
  await stores.users.replaceRecoveryCodes(user.id, []);
  await stores.refreshTokens.revokeUser(user.id, clock.now());
}

function view(u: UserRecord, clock: Clock, lockedUntil: number | null): UserView {
  return { id: u.id, username: u.username, roles: u.roles, mfa: u.totpSecret !== null, disabled: u.disabledAt !== null, locked: lockedUntil !== null && lockedUntil > clock.now(), createdAt: new Date(u.createdAt).toISOString() };
}
