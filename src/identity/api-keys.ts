import { createHash, randomBytes } from 'node:crypto';
import { constantTimeEqual, type AuthFailureReason, type Clock, type Principal } from '../kernel/index.js';
import type { ApiKeyRecord, ApiKeyStore } from '../store/index.js';

/** The issuer of API-key principals: Palisade's own key store. */
export const API_KEY_ISSUER = 'urn:palisade:api-keys';

/** The prefix that makes a leaked key recognisable to secret scanners. */
export const API_KEY_PREFIX = 'pal_';
const FORMAT = /^pal_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$/;
/** Write `last used` at most this often per key: each write is an fsync. */
const TOUCH_INTERVAL_MS = 60_000;

/** A newly created key: `plaintext` is shown once and never stored. */
export interface CreatedApiKey {
  readonly plaintext: string;
  readonly record: Omit<ApiKeyRecord, 'lastUsedAt' | 'revokedAt'>;
}

/**
 * Creates an API key `pal_<id>_<secret>`: a 16-character id and 32 random bytes of secret. Only
 * the SHA-256 of the secret is kept; a 256-bit secret needs no slow hash.
 *
 * @example
 * ```ts
 * const { plaintext, record } = createApiKey({ name: 'ci', roles: ['deployer'], expiresAt: null }, clock);
 * await store.apiKeys.insert(record);
 * ```
 */
export function createApiKey(input: { name: string; roles: readonly string[]; expiresAt: number | null }, clock: Clock): CreatedApiKey {
  const id = randomBytes(10).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 16).padEnd(16, '0');
  const secret = randomBytes(32).toString('base64url');
  return {
    plaintext: `${API_KEY_PREFIX}${id}_${secret}`,
    record: { id, name: input.name, secretDigest: digest(secret), roles: [...input.roles], createdAt: clock.now(), expiresAt: input.expiresAt },
  };
}

/** Result of {@link verifyApiKey}. */
export type ApiKeyVerification = { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly reason: AuthFailureReason };

/** True when a bearer credential has the shape of a Palisade API key. */
export function looksLikeApiKey(credential: string): boolean {
  return credential.startsWith(API_KEY_PREFIX);
}

/**
 * Verifies an API key against the store: format, existence, secret (constant time), revocation
 * and expiry, read on every request so a revocation takes effect at once.
 */
export function createApiKeyVerifier(store: ApiKeyStore, clock: Clock): (credential: string) => Promise<ApiKeyVerification> {
  const lastTouched = new Map<string, number>();
  return async (credential) => {
    const m = FORMAT.exec(credential);
    if (m === null) return { ok: false, reason: 'malformed-token' };
    const [, id, secret] = m as unknown as [string, string, string];
    const record = await store.find(id);
    // The digest comparison runs whether or not the id exists, so timing does not reveal ids.
    const matches = constantTimeEqual(digest(secret), record?.secretDigest ?? '0'.repeat(64));
    if (record === undefined || !matches) return { ok: false, reason: 'unknown-key' };
    const now = clock.now();
    if (record.revokedAt !== null) return { ok: false, reason: 'key-revoked' };
    if (record.expiresAt !== null && record.expiresAt <= now) return { ok: false, reason: 'key-expired' };
    if (now - (lastTouched.get(id) ?? 0) >= TOUCH_INTERVAL_MS) {
      lastTouched.set(id, now);
      await store.touch(id, now);
    }
    return { ok: true, principal: { type: 'ServiceAccount', id: `apikey:${record.id}`, issuer: API_KEY_ISSUER, roles: record.roles, mfa: false, authMethod: 'api-key' } };
  };
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
