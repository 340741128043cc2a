import { createHash } from 'node:crypto';
import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { safeJsonParse, type AuthFailureReason } from '../kernel/index.js';

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
  /** Longest lifetime accepted: `exp - iat`, and `exp - now`, in seconds. */
  readonly maxLifetimeSec: number;
  /** The `typ` header the token must carry (RFC 9068 section 2.1: `at+jwt`); compared case-insensitively, `application/` optional. */
  readonly typ: string;
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
 * Verifies a JWT access token against explicit expectations: size, strict compact serialisation
 * (canonical base64url, UTF-8 JSON without BOM), header hygiene (`typ` as expected, no `cty`),
 * algorithm allow-list, integer time claims and a lifetime cap, all before the signature; then
 * signature, `iss`, `aud`, `exp`/`nbf`/`iat` within the clock skew, required claims. Never
 * throws; a failure carries one reason from the closed vocabulary.
 *
 * @example
 * ```ts
 * const v = await verifyAccessToken(token, { expectedIssuer, expectedAudience: 'shop-api',
 *   algorithms: ['ES256'], keys: jwks, clockSkewSec: 60, maxTokenBytes: 8192, maxLifetimeSec: 86400,
 *   typ: 'at+jwt', requiredClaims: [], now: clock.now() });
 * ```
 */
export function verifyAccessToken(token: string, expect: TokenExpectations): Promise<TokenVerification> {
  return verify(token, expect, (typ) => typeof typ === 'string' && normaliseTyp(typ) === normaliseTyp(expect.typ));
}

/**
 * Like {@link verifyAccessToken} but accepts tokens without a `typ` header (or `typ: JWT`) besides `at+jwt`, as
 * some identity providers issue. Weakens security: an ID token or another JWT from the same
 * issuer and audience passes as an access token (RFC 9068 section 4). Used only when an issuer
 * sets `allowInsecureUntypedTokens: true`.
 */
export function unsafeVerifyUntypedAccessToken(token: string, expect: Omit<TokenExpectations, 'typ'>): Promise<TokenVerification> {
  return verify(token, { ...expect, typ: 'at+jwt' }, (typ) => typ === undefined || (typeof typ === 'string' && ['jwt', 'at+jwt'].includes(normaliseTyp(typ))));
}

function normaliseTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

// One base64url segment without padding (RFC 7515 section 2: no `=`).
const SEGMENT = /^[A-Za-z0-9_-]+$/;
const TIME_CLAIMS = ['exp', 'nbf', 'iat'] as const;

/**
 * Decodes a compact JWS strictly: three non-empty segments, each in canonical base64url (the
 * unused bits of the last character are zero, so one token has one spelling: caches and
 * revocation keyed by the token string cannot be bypassed by re-spelling), header and payload
 * valid UTF-8 JSON objects without a byte order mark.
 */
export function decodeCompactStrict(token: string): { readonly header: Record<string, unknown>; readonly payload: Record<string, unknown> } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  for (const part of parts) {
    if (!SEGMENT.test(part) || Buffer.from(part, 'base64url').toString('base64url') !== part) return undefined;
  }
  const header = decodeJsonSegment(parts[0] as string);
  const payload = decodeJsonSegment(parts[1] as string);
  if (header === undefined || payload === undefined) return undefined;
  return { header, payload };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeJsonSegment(segment: string): Record<string, unknown> | undefined {
  const bytes = Buffer.from(segment, 'base64url');
  // RFC 8259 section 8.1: no BOM in JSON sent over a network.
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return undefined;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  const parsed = safeJsonParse(text);
  if (!parsed.ok || parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) return undefined;
  return parsed.value as Record<string, unknown>;
}

async function verify(token: string, expect: TokenExpectations, typOk: (typ: unknown) => boolean): Promise<TokenVerification> {
  // Bound the work an attacker can cause before any parsing (CWE-400).
  if (token.length > expect.maxTokenBytes) return { ok: false, reason: 'token-too-large' };
  const decoded = decodeCompactStrict(token);
  if (decoded === undefined) return { ok: false, reason: 'malformed-token' };
  const { header, payload } = decoded;
  if (UNTRUSTED_HEADERS.some((h) => h in header)) return { ok: false, reason: 'untrusted-header' };
  if (typeof header.alg !== 'string' || !(expect.algorithms as readonly string[]).includes(header.alg)) return { ok: false, reason: 'alg-not-allowed' };
  if (header.crit !== undefined) return { ok: false, reason: 'unsupported-crit' };
  // RFC 9068 section 4: the typ tells an access token from an ID token, a refresh token or a
  // JWE; a `cty` means a nested token, which is never an access token here (RFC 7519 section 5.2).
  if (!typOk(header.typ) || 'cty' in header) return { ok: false, reason: 'wrong-typ' };
  // `1e309` parses to Infinity (never expires), `1.5` is no NumericDate jose would round the same
  // way everywhere: time claims must be integers in the safe range (RFC 7519 section 2).
  for (const c of TIME_CLAIMS) {
    if (c in payload && !Number.isSafeInteger(payload[c])) return { ok: false, reason: 'invalid-claim' };
  }
  const nowSec = Math.floor(expect.now / 1000);
  const exp = payload.exp;
  const iat = payload.iat;
  if (typeof exp === 'number' && typeof iat === 'number' && (exp - iat > expect.maxLifetimeSec || exp - nowSec > expect.maxLifetimeSec + expect.clockSkewSec)) {
    return { ok: false, reason: 'token-lifetime-too-long' };
  }
  try {
    const { payload: verified } = await jwtVerify(token, expect.keys, {
      issuer: expect.expectedIssuer,
      audience: expect.expectedAudience,
      algorithms: [...expect.algorithms],
      clockTolerance: expect.clockSkewSec,
      currentDate: new Date(expect.now),
      requiredClaims: ['iss', 'aud', 'exp', 'iat', 'sub', ...expect.requiredClaims],
      crit: {},
    });
    // A token minted in the future is a forged or mis-clocked one (RFC 7519 section 4.1.6).
    if (typeof verified.iat !== 'number' || verified.iat > nowSec + expect.clockSkewSec) return { ok: false, reason: 'token-iat-future' };
    if (typeof verified.sub !== 'string' || verified.sub === '') return { ok: false, reason: 'missing-claim' };
    return { ok: true, claims: verified as TokenVerification extends { ok: true; claims: infer C } ? C : never };
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
