import { createHash } from 'node:crypto';
import { PalisadeError } from '../kernel/index.js';
import { hmacSha256, KEY_BYTES, openAead, sealAead } from './envelope.js';

/**
 * The port a key-encryption key (KEK) sits behind: a local key today, a KMS later. It wraps and
 * unwraps data keys; the KEK itself never leaves it.
 */
export interface KeyProvider {
  /** Names the KEK (for a local key `local:<fingerprint>`); stored beside every key it wraps. */
  readonly id: string;
  wrapKey(dataKey: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  unwrapKey(wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
}

/** A local KEK: a {@link KeyProvider} that also has a check value to detect a wrong key early. */
export interface LocalKeyProvider extends KeyProvider {
  /** HMAC-SHA256(KEK, "palisade-kek-check-v1"): stored in the state store, reveals nothing of the key. */
  readonly checkValue: Uint8Array;
}

/**
 * The id of a local KEK: `local:` and 32 hex digits of SHA-256 over a label and the key. It is a
 * fingerprint, so a different key always has a different id.
 *
 * @example
 * ```ts
 * localKekId(randomBytes(32)); // 'local:9f2c…'
 * ```
 */
export function localKekId(key: Uint8Array): string {
  return `local:${createHash('sha256').update('palisade-kek-id-v1\0').update(key).digest('hex').slice(0, 32)}`;
}

/**
 * A {@link KeyProvider} over a 256-bit KEK held in memory: data keys are wrapped with
 * AES-256-GCM under the KEK, bound to the caller's associated data.
 *
 * @example
 * ```ts
 * const kek = createLocalKeyProvider(randomBytes(32));
 * const wrapped = await kek.wrapKey(dataKey, aad);
 * ```
 */
export function createLocalKeyProvider(key: Uint8Array): LocalKeyProvider {
  if (key.byteLength !== KEY_BYTES) throw new PalisadeError('PAL_SECRETS_KEY_UNAVAILABLE', 'a key-encryption key must be 32 bytes', { expose: true });
  const kek = Buffer.from(key);
  const id = localKekId(kek);
  return Object.freeze({
    id,
    checkValue: new Uint8Array(hmacSha256(kek, 'palisade-kek-check-v1')),
    async wrapKey(dataKey: Uint8Array, aad: Uint8Array) {
      return sealAead(kek, dataKey, aad);
    },
    async unwrapKey(wrapped: Uint8Array, aad: Uint8Array) {
      return new Uint8Array(openAead(kek, wrapped, aad, 'a wrapped data key'));
    },
  });
}
