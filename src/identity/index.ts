export { verifyAccessToken, tokenDigest, asymmetricAlgorithms, type AsymmetricAlgorithm, type TokenExpectations, type TokenVerification } from './verify-access-token.js';
export { createOidcIssuer, principalFromClaims, type OidcIssuer, type OidcIssuerConfig, type OidcIssuerOptions, type IssuerVerification } from './oidc-issuer.js';
export { createApiKey, createApiKeyVerifier, looksLikeApiKey, API_KEY_PREFIX, type CreatedApiKey, type ApiKeyVerification } from './api-keys.js';
export { VerifiedTokenCache } from './verified-token-cache.js';
export { RevocationList } from './revocation-list.js';
export { createAuthenticator, type RequestAuthenticator, type RequestAuthentication, type AuthenticatorParts } from './create-authenticator.js';
