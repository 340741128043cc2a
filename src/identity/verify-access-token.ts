import { createHash } from 'node:crypto';
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AuthFailureReason } from '../kernel/index.js';

/** Asymmetric JWS algorithms an issuer may be configured with. HMAC is never accepted. */
export const asymmetricAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/** One allowed algorithm. */
export type AsymmetricAlgorithm = (typeof asymmetricAlgorithms)[number];

/**
 * What a token must satisfy. Every field is an explicit expectation from configuration: nothing
 * is inferred from the token under test.
 */
export interface TokenExpectations {
  readonly expectedIssuer: string;
  readonly expectedAudience: string;
  readonly algorithms: readonly AsymmetricAlgorithm[];
  /** Resolves the verification key by the token's protected header (a JWKS). */
  readonly keys: JWTVerifyGetKey;
  readonly clockSkewSec: number;
  readonly maxTokenBytes: number;
  /** When set, the `typ` header must equal it (RFC 9068: `at+jwt`). */
  readonly typ?: string;
  /** Claims that must be present besides `iss`, `aud`, `exp`, `iat` and `sub`. */
  readonly requiredClaims: readonly string[];
  /** The verifier's notion of now, in milliseconds since the epoch. */
  readonly now: number;
}

/** Result of {@link verifyAccessToken}. */
export type TokenVerification =
  | { readonly ok: true; readonly claims: JWTPayload & { readonly sub: string; readonly exp: number; readonly iat: number } }
  | { readonly ok: false; readonly reason: AuthFailureReason };

// Headers that point at keys the attacker controls (RFC 7515 sections 4.1.2-4.1.6). The key is
// always chosen from the issuer's configured JWKS, so any of these means a crafted token.
const UNTRUSTED_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;

/**
 * Verifies a JWT access token against explicit expectations: size, header hygiene, algorithm
 * allow-list, signature, `iss`, `aud`, `exp`/`nbf`/`iat` within the clock skew, `typ`, required
 * claims. Never throws; a failure carries one reason from the closed vocabulary.
 *
 * @example
 * ```ts
 * const v = await verifyAccessToken(token, { expectedIssuer, expectedAudience: 'shop-api',
 *   algorithms: ['ES256'], keys: jwks, clockSkewSec: 60, maxTokenBytes: 8192,
 *   requiredClaims: [], now: clock.now() });
 * ```
 */
export async function verifyAccessToken(token: string, expect: TokenExpectations): Promise<TokenVerification> {
  // Bound the work an attacker can cause before any parsing (CWE-400).
  if (token.length > expect.maxTokenBytes) return { ok: false, reason: 'token-too-large' };
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return { ok: false, reason: 'malformed-token' };
  }
  if (UNTRUSTED_HEADERS.some((h) => h in header)) return { ok: false, reason: 'untrusted-header' };
  if (typeof header.alg !== 'string' || !(expect.algorithms as readonly string[]).includes(header.alg)) return { ok: false, reason: 'alg-not-allowed' };
  if (header.crit !== undefined) return { ok: false, reason: 'unsupported-crit' };
  const nowSec = Math.floor(expect.now / 1000);
  try {
    const { payload } = await jwtVerify(token, expect.keys, {
      issuer: expect.expectedIssuer,
      audience: expect.expectedAudience,
      algorithms: [...expect.algorithms],
      clockTolerance: expect.clockSkewSec,
      currentDate: new Date(expect.now),
      requiredClaims: ['iss', 'aud', 'exp', 'iat', 'sub', ...expect.requiredClaims],
      ...(expect.typ === undefined ? {} : { typ: expect.typ }),
      crit: {},
    });
    // A token minted in the future is a forged or mis-clocked one (RFC 7519 section 4.1.6).
    if (typeof payload.iat !== 'number' || payload.iat > nowSec + expect.clockSkewSec) return { ok: false, reason: 'token-iat-future' };
    if (typeof payload.sub !== 'string' || payload.sub === '') return { ok: false, reason: 'missing-claim' };
    return { ok: true, claims: payload as TokenVerification extends { ok: true; claims: infer C } ? C : never };
  } catch (error) {
    return { ok: false, reason: reasonOf(error) };
  }
}

function reasonOf(error: unknown): AuthFailureReason {
  if (error instanceof errors.JWTExpired) return 'token-expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'nbf':
        return 'token-not-yet-valid';
      case 'iat':
        return error.reason === 'check_failed' ? 'token-iat-future' : 'missing-claim';
      case 'iss':
        return error.reason === 'missing' ? 'missing-claim' : 'wrong-issuer';
      case 'aud':
        return error.reason === 'missing' ? 'missing-claim' : 'wrong-audience';
      case 'typ':
        return 'wrong-typ';
      default:
        return 'missing-claim';
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad-signature';
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return 'unknown-kid';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'alg-not-allowed';
  if (error instanceof errors.JOSENotSupported) return 'unsupported-crit';
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return 'issuer-unavailable';
  return 'malformed-token';
}

/** SHA-256 of a token, hex: the key of caches and revocation lists (never the token itself). */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
