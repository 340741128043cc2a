import { randomUUID } from 'node:crypto';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Creates a request id: a random (v4) UUID from the CSPRNG without dashes, 32 hex characters
 * (122 random bits). `randomUUID` draws from a batched entropy cache, which keeps this cheap on
 * the request path.
 *
 * @example
 * ```ts
 * createRequestId(); // "3f0c8e6a1d2b4c5e9a7b6c5d4e3f2a1b"
 * ```
 */
export function createRequestId(): string {
  return randomUUID().replace(/-/g, '');
}

/** True when `value` has the shape of an id Palisade would accept from elsewhere (logs, headers). */
export function isWellFormedId(value: string): boolean {
  return REQUEST_ID_PATTERN.test(value);
}
