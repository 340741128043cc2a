import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { PalisadeError } from '../kernel/index.js';

/** Format byte of every ciphertext this module writes: AES-256-GCM, 12-byte nonce, 16-byte tag. */
const FORMAT_AES_256_GCM = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Key length of AES-256 and of every data key. */
export const KEY_BYTES = 32;

/**
 * Encrypts `plaintext` under `key` with AES-256-GCM and a fresh random 96-bit nonce, binding
 * `aad` (authenticated, not stored). Output: `0x01 || nonce || ciphertext || tag`.
 *
 * @example
 * ```ts
 * const sealed = sealAead(dataKey, value, aadFor(['palisade-secret-v1', 'db-url', 3]));
 * ```
 */
export function sealAead(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  if (key.byteLength !== KEY_BYTES) throw new PalisadeError('PAL_INTERNAL', 'an encryption key is not 32 bytes');
  // Random 96-bit nonces: every data key encrypts few messages (one per secret version, one per
  // KV write of a function), far below the 2^32 limit of NIST SP 800-38D section 8.3.
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(FORMAT_AES_256_GCM), nonce, body, cipher.getAuthTag()]);
}

/**
 * Decrypts what {@link sealAead} wrote. Throws `PAL_SECRETS_DECRYPT_FAILED` when the tag does
 * not verify (modified bytes, another row's ciphertext, another key, another `aad`): no part of
 * an unauthenticated plaintext is ever returned.
 */
export function openAead(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array, what: string): Buffer {
  if (sealed.byteLength < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] !== FORMAT_AES_256_GCM) throw decryptFailed(what);
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(1, 1 + NONCE_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(buf.subarray(buf.byteLength - TAG_BYTES));
    return Buffer.concat([decipher.update(buf.subarray(1 + NONCE_BYTES, buf.byteLength - TAG_BYTES)), decipher.final()]);
  } catch (error) {
    throw decryptFailed(what, error);
  }
}

/** The error for a ciphertext that failed authentication. The message names the row, never data. */
export function decryptFailed(what: string, cause?: unknown): PalisadeError {
  return new PalisadeError('PAL_SECRETS_DECRYPT_FAILED', `${what} failed authentication: it was modified, moved from another row, or wrapped under another key; nothing of it was used`, { cause, expose: false });
}

/**
 * Associated data from a tuple of labels and ids: JSON of an array, so no two different tuples
 * encode to the same bytes (`['a-b', 'c']` and `['a', 'b-c']` differ).
 */
export function aadFor(parts: ReadonlyArray<string | number>): Buffer {
  return Buffer.from(JSON.stringify(parts), 'utf8');
}

/** A fresh random 256-bit data key. */
export function createDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** A sub-key derived with HKDF-SHA256 (RFC 5869) for one use (`info`), so one data key never serves two algorithms. */
export function deriveSubkey(dataKey: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), info, KEY_BYTES));
}

/** HMAC-SHA256. */
export function hmacSha256(key: Uint8Array, data: Uint8Array | string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
