/**
 * Why authentication failed, from a closed vocabulary. Goes to the operator log and the audit
 * event, never to the client.
 */
export const authFailureReasons = [
  'no-credentials',
  'malformed-token',
  'token-too-large',
  'alg-not-allowed',
  'bad-signature',
  'unknown-kid',
  'untrusted-header',
  'unsupported-crit',
  'token-expired',
  'token-not-yet-valid',
  'token-iat-future',
  'wrong-issuer',
  'wrong-audience',
  'wrong-typ',
  'missing-claim',
  'unknown-issuer',
  'issuer-unavailable',
  'token-revoked',
  'user-disabled',
  'key-revoked',
  'key-expired',
  'unknown-key',
  'method-not-accepted',
  'client-cert-invalid',
  'bad-credentials',
  'account-locked',
  'throttled',
  'mfa-missing',
  'mfa-invalid',
  'mfa-replay',
  'mfa-enrollment-required',
  'refresh-invalid',
  'refresh-reuse',
  'refresh-expired',
  'invalid-claim',
  'token-lifetime-too-long',
  'revocation-unavailable',
  'client-cert-revoked',
] as const;

/** One authentication failure reason. */
export type AuthFailureReason = (typeof authFailureReasons)[number];

/** The method name routes use in `auth` to accept built-in users. */
export const BUILTIN_METHOD = 'builtin';

/** The method name routes use in `auth` to accept client certificates. */
export const MTLS_METHOD = 'mtls';

/** The method name routes use in `auth` to accept API keys. */
export const API_KEY_METHOD = 'api-key';
