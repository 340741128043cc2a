import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import type { AuthFailureReason, Clock, Principal } from '../kernel/index.js';
import type { AccessTokenRef, LoginThrottleStore, RefreshTokenStore, RevocationStore, SigningKeyStore, UserRecord, UserStore } from '../store/index.js';
import { throttleKeyFor } from './login-throttle.js';
import type { IssuerVerification, OidcIssuer } from './oidc-issuer.js';
import { createPasswordVerifierPool, type PasswordVerifierPool } from './password-verifier-pool.js';
import { dummyPasswordHash } from './passwords.js';
import { matchTotp, recoveryCodeDigest } from './totp.js';
import { verifyAccessToken } from './verify-access-token.js';

/** Settings of the built-in issuer (manifest `identity.builtin`). */
export interface BuiltinSettings {
  readonly mfa: 'required' | 'optional';
  readonly accessTokenTtlSec: number;
  readonly refreshTokenTtlSec: number;
  readonly lockout: { readonly maxFailures: number; readonly lockSec: number };
  /** Rotate the signing key when the active one is older than this. */
  readonly keyRotationDays?: number;
  /** Per-address backoff (IPv6 per /64): free attempts in the window, then 2^n s, capped. */
  readonly addressThrottle?: { readonly freeAttempts: number; readonly windowSec: number; readonly maxDelaySec: number };
}

/** Options of {@link createBuiltinIssuer}. */
export interface BuiltinOptions {
  /** Verifies passwords off the event loop; one is created (and closed by `close`) when absent. */
  readonly passwordPool?: PasswordVerifierPool;
  /** Told of every access token this issuer revokes (logout, refresh reuse), so it is refused at once. */
  readonly onRevoke?: (jti: string) => void;
}

/** What a login or refresh yields. */
export interface TokenSet {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly refresh_token: string;
}

/** Outcome of login and refresh. `reason` is for operators; clients see only the status. */
export type TokenOutcome = { readonly ok: true; readonly tokens: TokenSet; readonly userId: string } | { readonly ok: false; readonly status: 401 | 429; readonly reason: AuthFailureReason; readonly retryAfterSec?: number; readonly userId?: string };

/** A login attempt. */
export interface LoginInput {
  readonly username: string;
  readonly password: string;
  readonly totp?: string;
  readonly recoveryCode?: string;
}

/** The built-in issuer: users, MFA, tokens, keys. */
export interface BuiltinIssuer extends OidcIssuer {
  /** Sets the issuer URL once the gateway knows its address. */
  setIssuer(url: string): void;
  login(input: LoginInput, clientIp: string): Promise<TokenOutcome>;
  refresh(refreshToken: string): Promise<TokenOutcome>;
  /** Revokes the refresh token's family and the access tokens issued with it; true when the token was known. */
  logout(refreshToken: string): Promise<boolean>;
  /** Password verifications computed (argon2id runs), for tests and operators. */
  passwordVerifications(): number;
  /** Stops the password verifier threads this issuer started. */
  close(): Promise<void>;
  jwks(): Promise<{ keys: JWK[] }>;
  discovery(): Record<string, unknown>;
  /** Creates a new signing key; the previous one stays published for one access-token lifetime. */
  rotateSigningKey(): Promise<string>;
}

/** The stores the built-in issuer needs. */
export interface BuiltinStores {
  readonly users: UserStore;
  readonly refreshTokens: RefreshTokenStore;
  readonly signingKeys: SigningKeyStore;
  readonly loginThrottle: LoginThrottleStore;
  readonly revocations: RevocationStore;
}

const REFRESH_PREFIX = 'palr_';
const BUILTIN_AUDIENCE = 'palisade';

/**
 * Creates the built-in issuer. Access tokens are EdDSA JWTs (`typ: at+jwt`, ~10 minutes, `amr`
 * per RFC 8176, `auth_time`, `jti`); refresh tokens are opaque, stored as digests, rotated on
 * every use, and a reused one revokes its whole family.
 *
 * @example
 * ```ts
 * const builtin = await createBuiltinIssuer(store, { mfa: 'required', accessTokenTtlSec: 600,
 *   refreshTokenTtlSec: 2592000, lockout: { maxFailures: 5, lockSec: 900 } }, clock);
 * ```
 */
export async function createBuiltinIssuer(stores: BuiltinStores, settings: BuiltinSettings, clock: Clock, options: BuiltinOptions = {}): Promise<BuiltinIssuer> {
  let issuer = 'urn:palisade:builtin';
  const ownPool = options.passwordPool === undefined;
  const pool = options.passwordPool ?? createPasswordVerifierPool();
  const throttlePolicy = { freeAttempts: settings.addressThrottle?.freeAttempts ?? 10, windowMs: (settings.addressThrottle?.windowSec ?? 900) * 1000, maxDelayMs: (settings.addressThrottle?.maxDelaySec ?? 900) * 1000 };
  const lockPolicy = { maxFailures: settings.lockout.maxFailures, lockMs: settings.lockout.lockSec * 1000 };
  const revokeAccess = async (refs: readonly AccessTokenRef[]) => {
    for (const r of refs) {
      if (r.expiresAt <= clock.now()) continue;
      await stores.revocations.revoke(r.jti, r.expiresAt);
      options.onRevoke?.(r.jti);
    }
  };
  const rotationMs = (settings.keyRotationDays ?? 30) * 86_400_000;
  const overlapMs = settings.accessTokenTtlSec * 1000;

  const publishedKeys = async () => {
    const now = clock.now();
    return (await stores.signingKeys.list()).filter((k) => k.retiredAt === null || now - k.retiredAt < overlapMs);
  };
  // The verification key set, rebuilt at most once a second (and at once after a rotation here),
  // so a burst of first-seen tokens does not read the store for every one.
  let keySet: { set: ReturnType<typeof createLocalJWKSet>; builtAt: number } | undefined;
  const verificationKeys = async () => {
    if (keySet === undefined || clock.now() - keySet.builtAt >= 1000) {
      keySet = { set: createLocalJWKSet({ keys: (await publishedKeys()).map((k) => JSON.parse(k.publicJwk) as JWK) }), builtAt: clock.now() };
    }
    return keySet.set;
  };

  const rotateSigningKey = async (): Promise<string> => {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = randomUUID();
    const now = clock.now();
    const active = (await stores.signingKeys.list()).filter((k) => k.retiredAt === null);
    await stores.signingKeys.insert({ kid, privateJwk: JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' }), publicJwk: JSON.stringify({ ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' }), createdAt: now });
    for (const k of active) await stores.signingKeys.retire(k.kid, now);
    keySet = undefined;
    return kid;
  };

  const activeKey = async () => {
    let [newest] = (await stores.signingKeys.list()).filter((k) => k.retiredAt === null);
    if (newest === undefined || clock.now() - newest.createdAt > rotationMs) {
      await rotateSigningKey();
      [newest] = (await stores.signingKeys.list()).filter((k) => k.retiredAt === null);
    }
    if (newest === undefined) throw new Error('no signing key');
    return { kid: newest.kid, key: await importJWK(JSON.parse(newest.privateJwk) as JWK, 'EdDSA') };
  };
  await activeKey();

  const issueTokens = async (user: UserRecord, amr: readonly string[], authTime: number, familyId: string): Promise<TokenSet | undefined> => {
    const { kid, key } = await activeKey();
    const nowSec = Math.floor(clock.now() / 1000);
    const jti = randomUUID();
    const access = await new SignJWT({ roles: [...user.roles], amr: [...amr], auth_time: authTime, pal_epoch: user.tokenEpoch })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
      .setIssuer(issuer)
      .setAudience(BUILTIN_AUDIENCE)
      .setSubject(user.id)
      .setJti(jti)
      .setIssuedAt(nowSec)
      .setExpirationTime(nowSec + settings.accessTokenTtlSec)
      .sign(key);
    const refresh = `${REFRESH_PREFIX}${randomBytes(32).toString('base64url')}`;
    // The refresh record names its access token, so revoking the family revokes that too.
    // Refused when the family was revoked meanwhile (a concurrent reuse or logout): no token leaves.
    if (!(await stores.refreshTokens.insert({ digest: digest(refresh), familyId, userId: user.id, expiresAt: clock.now() + settings.refreshTokenTtlSec * 1000, amr, authTime, accessJti: jti, accessExpiresAt: (nowSec + settings.accessTokenTtlSec) * 1000 }))) return undefined;
    return { access_token: access, token_type: 'Bearer', expires_in: settings.accessTokenTtlSec, refresh_token: refresh };
  };

  const fail = (reason: AuthFailureReason, userId?: string): TokenOutcome => ({ ok: false, status: 401, reason, ...(userId === undefined ? {} : { userId }) });

  const self: BuiltinIssuer = {
    name: 'builtin',
    get issuer() {
      return issuer;
    },
    setIssuer(url) {
      issuer = url;
    },
    async verify(token): Promise<IssuerVerification> {
      const v = await verifyAccessToken(token, { expectedIssuer: issuer, expectedAudience: BUILTIN_AUDIENCE, algorithms: ['EdDSA'], keys: await verificationKeys(), clockSkewSec: 30, maxTokenBytes: 4096, maxLifetimeSec: settings.accessTokenTtlSec, typ: 'at+jwt', requiredClaims: ['jti', 'auth_time'], now: clock.now() });
      if (!v.ok) return v;
      // A user disabled, or whose password or MFA was reset, loses every token issued before.
      const user = await stores.users.findById(v.claims.sub);
      if (user === undefined || user.disabledAt !== null) return { ok: false, reason: 'user-disabled' };
      if (v.claims.pal_epoch !== user.tokenEpoch) return { ok: false, reason: 'token-revoked' };
      const amr = Array.isArray(v.claims.amr) ? v.claims.amr.filter((a): a is string => typeof a === 'string') : [];
      const principal: Principal = { type: 'User', id: user.id, roles: user.roles, mfa: amr.includes('otp'), authMethod: 'builtin', authTime: Number(v.claims.auth_time), issuer, tokenId: String(v.claims.jti) };
      return { ok: true, principal, exp: v.claims.exp, iat: v.claims.iat };
    },

    async login(input, clientIp) {
      const now = clock.now();
      // INVARIANT: every attempt is counted, in one atomic store operation, BEFORE the password
      // is hashed: concurrent guesses cannot all read the same old count (CWE-362), and refused
      // attempts cost no argon2 run.
      const address = await stores.loginThrottle.countAttempt(throttleKeyFor(clientIp), now, throttlePolicy);
      if (!address.admitted) return { ok: false, status: 429, reason: 'throttled', retryAfterSec: Math.max(1, Math.ceil(address.retryAfterMs / 1000)) };
      const username = typeof input.username === 'string' ? input.username.slice(0, 128) : '';
      // INVARIANT: an unknown username takes the same path as a known one: the same failure
      // record counted, the same argon2id verification (against a dummy hash), the same lockout.
      // Neither timing nor lockout reveals which usernames exist.
      const count = await stores.users.countLoginAttempt(username, now, lockPolicy);
      const user = username === '' ? undefined : await stores.users.findByUsername(username);
      if (!count.admitted) return fail('account-locked', user?.id);
      const verdict = await pool.verify(String(input.password ?? ''), user?.passwordHash ?? (await dummyPasswordHash()));
      // More verifications queued than the pool takes: refuse without hashing (CWE-400).
      if (verdict === 'busy') return { ok: false, status: 429, reason: 'throttled', retryAfterSec: 1 };
      if (user === undefined || verdict !== 'match') return fail('bad-credentials', user?.id);
      if (user.disabledAt !== null) return fail('user-disabled', user.id);

      const amr = ['pwd'];
      if (user.totpSecret !== null) {
        if (typeof input.totp === 'string' && input.totp !== '') {
          const step = matchTotp(user.totpSecret, input.totp, now);
          if (step === undefined) return fail('mfa-invalid', user.id);
          // RFC 6238 section 5.2: a code is accepted once. Compare-and-set, so of N concurrent
          // logins with one code exactly one wins.
          if (!(await stores.users.advanceTotpStep(user.id, step))) return fail('mfa-replay', user.id);
          amr.push('otp');
        } else if (typeof input.recoveryCode === 'string' && input.recoveryCode !== '') {
          if (!(await stores.users.consumeRecoveryCode(user.id, recoveryCodeDigest(input.recoveryCode), now))) return fail('mfa-invalid', user.id);
          amr.push('otp');
        } else {
          return fail('mfa-missing', user.id);
        }
      } else if (settings.mfa === 'required') {
        return fail('mfa-enrollment-required', user.id);
      }
      await stores.loginThrottle.clear(throttleKeyFor(clientIp));
      await stores.users.clearLoginFailures(username);
      const fresh = (await stores.users.findById(user.id)) ?? user;
      const tokens = await issueTokens(fresh, amr, Math.floor(now / 1000), randomUUID());
      if (tokens === undefined) throw new Error('a new refresh family was refused by the store');
      return { ok: true, userId: user.id, tokens };
    },

    async refresh(refreshToken) {
      if (typeof refreshToken !== 'string' || !refreshToken.startsWith(REFRESH_PREFIX) || refreshToken.length > 100) return fail('refresh-invalid');
      const record = await stores.refreshTokens.find(digest(refreshToken));
      if (record === undefined) return fail('refresh-invalid');
      const now = clock.now();
      if (!(await stores.refreshTokens.spend(record.digest, now))) {
        // A spent or revoked token presented again: it was stolen, or the thief already used it.
        await revokeAccess(await stores.refreshTokens.revokeFamily(record.familyId, now));
        return fail('refresh-reuse', record.userId);
      }
      if (record.expiresAt <= now) return fail('refresh-expired', record.userId);
      const user = await stores.users.findById(record.userId);
      if (user === undefined || user.disabledAt !== null) return fail('user-disabled', record.userId);
      const tokens = await issueTokens(user, record.amr, record.authTime, record.familyId);
      // The family was revoked while this refresh was signing (its token raced a reuse or a logout).
      if (tokens === undefined) return fail('refresh-reuse', record.userId);
      return { ok: true, userId: user.id, tokens };
    },

    async logout(refreshToken) {
      if (typeof refreshToken !== 'string') return false;
      const record = await stores.refreshTokens.find(digest(refreshToken));
      if (record === undefined) return false;
      // Logout ends the session everywhere: the refresh family and every access token issued with it.
      await revokeAccess(await stores.refreshTokens.revokeFamily(record.familyId, clock.now()));
      return true;
    },

    passwordVerifications: () => pool.computed,

    async close() {
      if (ownPool) await pool.close();
    },

    async jwks() {
      return { keys: (await publishedKeys()).map((k) => JSON.parse(k.publicJwk) as JWK) };
    },

    discovery() {
      return {
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        // Only what /token does (RFC 8414 section 2): no authorization endpoint, no ID tokens.
        token_endpoint: `${issuer}/token`,
        response_types_supported: [],
        subject_types_supported: ['public'],
        grant_types_supported: ['password', 'refresh_token'],
        token_endpoint_auth_methods_supported: ['none'],
      };
    },

    rotateSigningKey,
  };
  return self;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
