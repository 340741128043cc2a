import type { IncomingHttpHeaders } from 'node:http';
import { decodeJwt } from 'jose';
import { API_KEY_METHOD, MTLS_METHOD, type AuthFailureReason, type ClientCertificate, type Clock, type Principal } from '../kernel/index.js';
import type { ApiKeyVerification } from './api-keys.js';
import { looksLikeApiKey } from './api-keys.js';
import type { OidcIssuer } from './oidc-issuer.js';
import type { RevocationList } from './revocation-list.js';
import { VerifiedTokenCache } from './verified-token-cache.js';
import { tokenDigest } from './verify-access-token.js';

/** Result of {@link RequestAuthenticator.authenticate}. */
export type RequestAuthentication =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: AuthFailureReason; readonly challenge: string };

/** Authenticates requests against the methods a route accepts. */
export interface RequestAuthenticator {
  authenticate(headers: IncomingHttpHeaders, acceptedMethods: readonly string[], clientCertificate?: () => ClientCertificate | undefined): Promise<RequestAuthentication>;
  /** Number of cached verified tokens; for operators and tests. */
  cachedTokens(): number;
}

/** What the authenticator is built from. */
export interface AuthenticatorParts {
  readonly issuers: readonly OidcIssuer[];
  readonly verifyApiKey?: (credential: string) => Promise<ApiKeyVerification>;
  readonly revocations: RevocationList;
  readonly clock: Clock;
  readonly cacheSize?: number;
  /** How a verified client certificate names its principal; absent when mTLS is not configured. */
  readonly mtls?: { readonly principalFrom: 'san-uri' | 'subject' };
}

// RFC 6750 section 2.1: b64token.
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;
const CHALLENGE = 'Bearer realm="palisade"';
const INVALID = 'Bearer realm="palisade", error="invalid_token"';

/**
 * Creates the request authenticator. A bearer credential is an API key when it has the `pal_`
 * prefix, otherwise a JWT whose unverified `iss` only selects which configured issuer verifies
 * it: every expectation then comes from that issuer's configuration.
 *
 * @example
 * ```ts
 * const auth = createAuthenticator({ issuers, verifyApiKey, revocations, clock });
 * const result = await auth.authenticate(req.headers, route.auth);
 * ```
 */
export function createAuthenticator(parts: AuthenticatorParts): RequestAuthenticator {
  const cache = new VerifiedTokenCache(parts.cacheSize);
  const fail = (reason: AuthFailureReason): RequestAuthentication => ({ ok: false, reason, challenge: reason === 'no-credentials' ? CHALLENGE : INVALID });
  const refreshRevocations = async (): Promise<boolean> => {
    try {
      const refreshing = parts.revocations.refreshIfDue();
      if (refreshing !== false && (await refreshing)) cache.clear();
      return true;
    } catch {
      cache.clear();
      try {
        await parts.revocations.refresh(true);
        return true;
      } catch {
        return false;
      }
    }
  };

  return {
    async authenticate(headers, accepted, clientCertificate) {
      if (accepted.length === 0) return fail('no-credentials');
      const header = headers.authorization;
      if (header === undefined || header === '') {
        if (parts.mtls !== undefined && accepted.includes(MTLS_METHOD) && clientCertificate !== undefined) {
          // Certificate revocations live in the same store and fail closed the same way.
          if (!(await refreshRevocations())) return fail('revocation-unavailable');
          return authenticateCertificate(clientCertificate(), parts.mtls.principalFrom, parts.revocations);
        }
        return fail('no-credentials');
      }
      const m = BEARER.exec(header);
      if (m === null) return fail('malformed-token');
      const credential = m[1] as string;

      if (looksLikeApiKey(credential)) {
        if (!accepted.includes(API_KEY_METHOD) || parts.verifyApiKey === undefined) return fail('method-not-accepted');
        const v = await parts.verifyApiKey(credential);
        return v.ok ? v : fail(v.reason);
      }

      const now = parts.clock.now();
      // Revocation fails closed: a failed reload drops every cached verification and is retried
      // once; if the store still cannot be read, no bearer token is accepted.
      if (!(await refreshRevocations())) return fail('revocation-unavailable');
      const digest = tokenDigest(credential);
      const hit = cache.get(digest, now, accepted, (jti) => parts.revocations.has(jti));
      if (hit !== undefined) return { ok: true, principal: hit };

      let iss: unknown;
      try {
        iss = decodeJwt(credential).iss;
      } catch {
        return fail('malformed-token');
      }
      // Looked up on every miss: the built-in issuer learns its URL only once the gateway listens.
      const issuer = typeof iss === 'string' ? parts.issuers.find((i) => i.issuer === iss) : undefined;
      if (issuer === undefined) return fail('unknown-issuer');
      if (!accepted.includes(issuer.name)) return fail('method-not-accepted');
      const v = await issuer.verify(credential);
      if (!v.ok) return fail(v.reason);
      if ((v.principal.tokenId !== undefined && parts.revocations.has(v.principal.tokenId)) || parts.revocations.issuedBeforeCutoff(v.iat)) return fail('token-revoked');
      cache.set(digest, v.principal, v.exp * 1000, issuer.name);
      return { ok: true, principal: v.principal };
    },
    cachedTokens: () => cache.size,
  };
}

/** The issuer of mTLS principals when the certificate's issuer name is unknown. */
const MTLS_ISSUER_PREFIX = 'urn:palisade:mtls:';

function authenticateCertificate(cert: ClientCertificate | undefined, from: 'san-uri' | 'subject', revocations: RevocationList): RequestAuthentication {
  if (cert === undefined) return { ok: false, reason: 'no-credentials', challenge: CHALLENGE };
  // The chain must verify against the configured client CA; expired or foreign certificates fail.
  if (!cert.authorized) return { ok: false, reason: 'client-cert-invalid', challenge: CHALLENGE };
  // Checked on every request: TLS session resumption must not outlive a revocation.
  if (revocations.isCertificateRevoked(cert)) return { ok: false, reason: 'client-cert-revoked', challenge: CHALLENGE };
  const id = from === 'san-uri' ? cert.sanUris[0] : cert.subjectCommonName;
  if (id === undefined || id === '' || id.length > 512) return { ok: false, reason: 'client-cert-invalid', challenge: CHALLENGE };
  return { ok: true, principal: { type: 'ServiceAccount', id, issuer: `${MTLS_ISSUER_PREFIX}${cert.issuer ?? 'unknown'}`, roles: [], mfa: false, authMethod: 'mtls', tokenId: cert.fingerprint256 } };
}
