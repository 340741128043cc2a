import { randomBytes } from 'node:crypto';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Creates a request id: 16 random bytes from the CSPRNG, base64url (22 characters).
 *
 * @example
 * ```ts
 * createRequestId(); // "q1Yf0x2mJd3b9Z8kA7c6Qw"
 * ```
 */
export function createRequestId(): string {
  return randomBytes(16).toString('base64url');
}

/** True when `value` has the shape of an id Palisade would accept from elsewhere (logs, headers). */
export function isWellFormedId(value: string): boolean {
  return REQUEST_ID_PATTERN.test(value);
}
