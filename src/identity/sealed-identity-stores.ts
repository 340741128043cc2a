import type { SigningKeyRecord, SigningKeyStore, UserRecord, UserStore } from '../store/index.js';

/**
 * Encrypts small identity material before it reaches the store, and decrypts it after. Declared
 * here, implemented by the secrets vault and wired by platform: identity does not import secrets.
 * `seal` binds the value to `purpose` and `id`, so a sealed value moved to another row fails `open`.
 */
export interface SealedBox {
  seal(purpose: string, id: string, plaintext: string): Promise<string>;
  /** Throws (`PAL_SECRETS_DECRYPT_FAILED`) for a value that is modified, moved, or not sealed at all. */
  open(purpose: string, id: string, sealed: string): Promise<string>;
  /** True when `value` has the sealed form (it may still fail to open). */
  isSealed(value: string): boolean;
}

/** The sealing purpose of TOTP secrets (id: the user id). */
export const TOTP_SECRET_PURPOSE = 'totp-secret';
/** The sealing purpose of the built-in issuer's private signing keys (id: the `kid`). */
export const SIGNING_KEY_PURPOSE = 'signing-key';

/** The stores that hold identity secrets at rest. */
export interface SealableIdentityStores {
  readonly users: UserStore;
  readonly signingKeys: SigningKeyStore;
}

/**
 * Wraps `users` and `signingKeys` so that TOTP secrets and private signing JWKs are sealed on
 * write and opened on read; everything else passes through. The built-in issuer and account
 * administration use the wrapped stores unchanged.
 *
 * @example
 * ```ts
 * const stores = sealIdentityStores(stateStore, vault.sealedBox);
 * const issuer = await createBuiltinIssuer(stores, settings, clock);
 * ```
 */
export function sealIdentityStores<T extends SealableIdentityStores>(stores: T, box: SealedBox): T {
  const raw = stores.users;
  const openUser = async (u: UserRecord | undefined): Promise<UserRecord | undefined> => (u === undefined || u.totpSecret === null ? u : { ...u, totpSecret: await box.open(TOTP_SECRET_PURPOSE, u.id, u.totpSecret) });
  const users: UserStore = {
    insert: (record) => raw.insert(record),
    findByUsername: async (username) => openUser(await raw.findByUsername(username)),
    findById: async (id) => openUser(await raw.findById(id)),
    list: async () => Promise.all((await raw.list()).map(async (u) => (await openUser(u)) as UserRecord)),
    async update(id, fields) {
      const totp = fields.totpSecret;
      await raw.update(id, typeof totp === 'string' ? { ...fields, totpSecret: await box.seal(TOTP_SECRET_PURPOSE, id, totp) } : fields);
    },
    replaceTotpSecret: (userId, expected, next) => raw.replaceTotpSecret(userId, expected, next),
    replaceRecoveryCodes: (userId, digests) => raw.replaceRecoveryCodes(userId, digests),
    consumeRecoveryCode: (userId, digest, at) => raw.consumeRecoveryCode(userId, digest, at),
    loginFailures: (username) => raw.loginFailures(username),
    countLoginAttempt: (username, at, policy) => raw.countLoginAttempt(username, at, policy),
    clearLoginFailures: (username) => raw.clearLoginFailures(username),
    pruneLoginFailures: (before) => raw.pruneLoginFailures(before),
    advanceTotpStep: (userId, step) => raw.advanceTotpStep(userId, step),
  };
  const rawKeys = stores.signingKeys;
  const signingKeys: SigningKeyStore = {
    insert: async (record) => rawKeys.insert({ ...record, privateJwk: await box.seal(SIGNING_KEY_PURPOSE, record.kid, record.privateJwk) }),
    list: async () => Promise.all((await rawKeys.list()).map(async (k): Promise<SigningKeyRecord> => ({ ...k, privateJwk: await box.open(SIGNING_KEY_PURPOSE, k.kid, k.privateJwk) }))),
    retire: (kid, at) => rawKeys.retire(kid, at),
    replacePrivateJwk: (kid, expected, next) => rawKeys.replacePrivateJwk(kid, expected, next),
  };
  return { ...stores, users, signingKeys };
}

/**
 * Seals, in place, every TOTP secret and private signing key still stored in plaintext (a store
 * from before sealing). Each row is a compare-and-set, so a concurrent enrolment is never
 * overwritten. Run on the raw stores, before {@link sealIdentityStores} serves them.
 */
export async function sealPlaintextIdentityMaterial(stores: SealableIdentityStores, box: SealedBox): Promise<{ readonly totpSecrets: number; readonly signingKeys: number }> {
  let totpSecrets = 0;
  let signingKeys = 0;
  for (const u of await stores.users.list()) {
    if (u.totpSecret === null || box.isSealed(u.totpSecret)) continue;
    if (await stores.users.replaceTotpSecret(u.id, u.totpSecret, await box.seal(TOTP_SECRET_PURPOSE, u.id, u.totpSecret))) totpSecrets++;
  }
  for (const k of await stores.signingKeys.list()) {
    if (box.isSealed(k.privateJwk)) continue;
    if (await stores.signingKeys.replacePrivateJwk(k.kid, k.privateJwk, await box.seal(SIGNING_KEY_PURPOSE, k.kid, k.privateJwk))) signingKeys++;
  }
  return { totpSecrets, signingKeys };
}
