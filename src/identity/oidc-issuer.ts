import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AuthFailureReason, Clock, Principal } from '../kernel/index.js';
import { unsafeVerifyUntypedAccessToken, verifyAccessToken, type AsymmetricAlgorithm } from './verify-access-token.js';

/** An external OpenID Connect issuer, as configured in the manifest. */
export interface OidcIssuerConfig {
  readonly name: string;
  /** The exact `iss` value; discovery is fetched from `<issuer>/.well-known/openid-configuration`. */
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: readonly AsymmetricAlgorithm[];
  readonly rolesClaim: string;
  readonly clockSkewSec: number;
  readonly maxTokenBytes: number;
  /** Longest token lifetime accepted (`exp - iat` and `exp - now`), seconds. */
  readonly maxTokenLifetimeSec: number;
  /** The `typ` header tokens must carry; `at+jwt` (RFC 9068) unless configured otherwise. */
  readonly typ: string;
  /** Accept tokens with no `typ` (or `JWT`). Weakens security: ID tokens then pass as access tokens. */
  readonly allowInsecureUntypedTokens: boolean;
  readonly requiredClaims: readonly string[];
  /** `amr` values that prove a second factor (RFC 8176), such as `mfa`, `otp`, `hwk`. */
  readonly mfaAmr: readonly string[];
  /** `acr` values that prove a second factor. */
  readonly mfaAcr: readonly string[];
}

/** Result of verifying a bearer token against an issuer. */
export type IssuerVerification = { readonly ok: true; readonly principal: Principal; readonly exp: number; readonly iat: number } | { readonly ok: false; readonly reason: AuthFailureReason };

/** A configured issuer that verifies its own tokens. */
export interface OidcIssuer {
  readonly name: string;
  readonly issuer: string;
  verify(token: string): Promise<IssuerVerification>;
}

/** Options of {@link createOidcIssuer}. */
export interface OidcIssuerOptions {
  readonly clock: Clock;
  /** How long after a failed discovery to try again. */
  readonly retryAfterMs?: number;
  /** Minimum time between two JWKS fetches, whatever `kid`s arrive (no fetch storms). */
  readonly jwksCooldownMs?: number;
}

const DISCOVERY_TIMEOUT_MS = 5000;
const MAX_ROLES = 100;

/**
 * Creates an issuer that discovers its JWKS (`/.well-known/openid-configuration`) on first use,
 * caches the keys, refetches them for an unknown `kid` at most once per cooldown, and maps
 * verified claims to a {@link Principal}.
 *
 * @example
 * ```ts
 * const corp = createOidcIssuer({ name: 'corp', issuer: 'https://idp.example.com', audience: 'shop-api',
 *   algorithms: ['RS256'], rolesClaim: 'groups', clockSkewSec: 60, maxTokenBytes: 8192,
 *   maxTokenLifetimeSec: 86400, typ: 'at+jwt', allowInsecureUntypedTokens: false,
 *   requiredClaims: [], mfaAmr: ['mfa'], mfaAcr: [] }, { clock: systemClock });
 * ```
 */
export function createOidcIssuer(config: OidcIssuerConfig, options: OidcIssuerOptions): OidcIssuer {
  const retryAfterMs = options.retryAfterMs ?? 30_000;
  let keys: JWTVerifyGetKey | undefined;
  let discovering: Promise<JWTVerifyGetKey | undefined> | undefined;
  let failedAt = -Infinity;

  const discover = async (): Promise<JWTVerifyGetKey | undefined> => {
    const url = `${config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const response = await fetch(url, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS), redirect: 'error', headers: { accept: 'application/json' } });
    if (!response.ok) return undefined;
    const doc = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
    // OpenID Connect Discovery 1.0 section 4.3: the issuer in the document must be identical.
    if (doc.issuer !== config.issuer || typeof doc.jwks_uri !== 'string') return undefined;
    const jwksUri = new URL(doc.jwks_uri);
    // The keys must come from the issuer's own origin scheme: an https issuer never takes keys over http.
    if (new URL(config.issuer).protocol === 'https:' && jwksUri.protocol !== 'https:') return undefined;
    return createRemoteJWKSet(jwksUri, { cooldownDuration: options.jwksCooldownMs ?? 30_000, cacheMaxAge: 10 * 60_000, timeoutDuration: DISCOVERY_TIMEOUT_MS });
  };

  const keySet = async (): Promise<JWTVerifyGetKey | undefined> => {
    if (keys !== undefined) return keys;
    if (options.clock.now() - failedAt < retryAfterMs) return undefined;
    discovering ??= discover()
      .catch(() => undefined)
      .then((found) => {
        discovering = undefined;
        if (found === undefined) failedAt = options.clock.now();
        else keys = found;
        return found;
      });
    return discovering;
  };

  return {
    name: config.name,
    issuer: config.issuer,
    async verify(token) {
      const set = await keySet();
      if (set === undefined) return { ok: false, reason: 'issuer-unavailable' };
      const expect = {
        expectedIssuer: config.issuer,
        expectedAudience: config.audience,
        algorithms: config.algorithms,
        keys: set,
        clockSkewSec: config.clockSkewSec,
        maxTokenBytes: config.maxTokenBytes,
        maxLifetimeSec: config.maxTokenLifetimeSec,
        requiredClaims: config.requiredClaims,
        now: options.clock.now(),
      };
      // The insecure path is its own function, chosen only by the loudly named setting.
      const result = config.allowInsecureUntypedTokens ? await unsafeVerifyUntypedAccessToken(token, expect) : await verifyAccessToken(token, { ...expect, typ: config.typ });
      if (!result.ok) return result;
      return { ok: true, principal: principalFromClaims(result.claims, config), exp: result.claims.exp, iat: result.claims.iat };
    },
  };
}

/** Maps verified claims to a principal: roles from the configured claim, MFA only when proven. */
export function principalFromClaims(claims: JWTPayload & { sub: string }, config: Pick<OidcIssuerConfig, 'issuer' | 'rolesClaim' | 'mfaAmr' | 'mfaAcr'>): Principal {
  const raw = claims[config.rolesClaim];
  const roles = (Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(' ') : []).filter((r): r is string => typeof r === 'string' && r !== '').slice(0, MAX_ROLES);
  const amr = Array.isArray(claims.amr) ? claims.amr.filter((a): a is string => typeof a === 'string') : [];
  const mfa = amr.some((a) => config.mfaAmr.includes(a)) || (typeof claims.acr === 'string' && config.mfaAcr.includes(claims.acr));
  return {
    type: 'User',
    id: claims.sub,
    roles,
    mfa,
    authMethod: 'oidc',
    issuer: config.issuer,
    ...(typeof claims.auth_time === 'number' ? { authTime: claims.auth_time } : {}),
    ...(typeof claims.jti === 'string' ? { tokenId: claims.jti } : {}),
  };
}
