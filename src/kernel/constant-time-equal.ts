import { timingSafeEqual, createHash } from 'node:crypto';

/**
 * Compares two secrets in time independent of where they differ.
 *
 * Both sides are hashed first so that unequal lengths do not leak through an early return.
 *
 * @example
 * ```ts
 * constantTimeEqual(presentedKey, storedKey);
 * ```
 */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}
