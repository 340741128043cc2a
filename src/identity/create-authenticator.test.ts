import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createManualClock, type Principal } from '../kernel/index.js';
import { openSqliteStore, type RevocationStore } from '../store/index.js';
import { createApiKey, createApiKeyVerifier } from './api-keys.js';
import { createAuthenticator } from './create-authenticator.js';
import type { OidcIssuer } from './oidc-issuer.js';
import { principalFromClaims } from './oidc-issuer.js';
import { RevocationList } from './revocation-list.js';
import { verifyAccessToken } from './verify-access-token.js';

const ISSUER = 'https://idp.example.test';
const clock = createManualClock(Date.UTC(2026, 10, 22, 12));
const keys = await generateKeyPair('ES256');
const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256' }] });
let verifications = 0;

// A real issuer over a local key set: the same verification code as the network one.
const corp: OidcIssuer = {
  name: 'corp',
  issuer: ISSUER,
  async verify(token) {
    verifications++;
    const v = await verifyAccessToken(token, { expectedIssuer: ISSUER, expectedAudience: 'api', algorithms: ['ES256'], keys: jwks, clockSkewSec: 0, maxTokenBytes: 8192, maxLifetimeSec: 3600, typ: 'at+jwt', requiredClaims: [], now: clock.now() });
    if (!v.ok) return v;
    return { ok: true, principal: principalFromClaims(v.claims, { issuer: ISSUER, rolesClaim: 'groups', mfaAmr: ['mfa'], mfaAcr: [] }), exp: v.claims.exp, iat: v.claims.iat };
  },
};

const mint = (claims: Record<string, unknown> = {}, expIn = 600) =>
  new SignJWT({ sub: 'alice', groups: ['customer'], jti: `j-${Math.random()}`, ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' }).setIssuer(ISSUER).setAudience('api').setIssuedAt(Math.floor(clock.now() / 1000)).setExpirationTime(Math.floor(clock.now() / 1000) + expIn).sign(keys.privateKey);

const store = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'palisade-authn-')), 'state.db'));
// The real store, with a switch that makes reads fail as a locked database would (SQLITE_BUSY).
let failReads = 0;
const flaky: RevocationStore = {
  ...store.revocations,
  revoke: (jti, exp) => store.revocations.revoke(jti, exp),
  prune: (now) => store.revocations.prune(now),
  revokeIssuedBefore: (at) => store.revocations.revokeIssuedBefore(at),
  issuedBefore: () => store.revocations.issuedBefore(),
  changeCounter: () => store.revocations.changeCounter(),
  async listActive(now) {
    if (failReads > 0) {
      failReads--;
      throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    }
    return store.revocations.listActive(now);
  },
};
const revocations = new RevocationList(flaky, clock, { pollMs: 0, certificates: store.certificateRevocations });
const auth = createAuthenticator({ issuers: [corp], verifyApiKey: createApiKeyVerifier(store.apiKeys, clock), revocations, clock });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('createAuthenticator', () => {
  test('no header: no-credentials with a bare challenge', async () => {
    assert.deepEqual(await auth.authenticate({}, ['corp']), { ok: false, reason: 'no-credentials', challenge: 'Bearer realm="palisade"' });
  });

  test('a non-bearer scheme is malformed, with an invalid_token challenge', async () => {
    const r = await auth.authenticate({ authorization: 'Basic YWxpY2U6cHc=' }, ['corp']);
    assert.deepEqual(r, { ok: false, reason: 'malformed-token', challenge: 'Bearer realm="palisade", error="invalid_token"' });
  });

  test('a valid token yields the principal, roles from the configured claim, mfa only when proven', async () => {
    const r = await auth.authenticate(bearer(await mint()), ['corp']);
    assert.equal(r.ok, true);
    const p = (r as { principal: Principal }).principal;
    assert.deepEqual([p.id, p.roles, p.mfa, p.authMethod, p.issuer], ['alice', ['customer'], false, 'oidc', ISSUER]);
    const m = await auth.authenticate(bearer(await mint({ amr: ['pwd', 'mfa'] })), ['corp']);
    assert.equal((m as { principal: Principal }).principal.mfa, true);
    const pwdOnly = await auth.authenticate(bearer(await mint({ amr: ['pwd'] })), ['corp']);
    assert.equal((pwdOnly as { principal: Principal }).principal.mfa, false);
  });

  test('a repeated token is served from the cache; expiry still applies', async () => {
    const token = await mint({}, 60);
    const before = verifications;
    await auth.authenticate(bearer(token), ['corp']);
    await auth.authenticate(bearer(token), ['corp']);
    assert.equal(verifications, before + 1, 'verified once');
    clock.advance(61_000);
    const r = await auth.authenticate(bearer(token), ['corp']);
    assert.deepEqual(r.ok ? 'ok' : r.reason, 'token-expired');
  });

  test('a revoked jti is refused at once, cached or not', async () => {
    const token = await mint({ jti: 'revoke-me' });
    assert.equal((await auth.authenticate(bearer(token), ['corp'])).ok, true);
    await store.revocations.revoke('revoke-me', clock.now() + 600_000);
    const r = await auth.authenticate(bearer(token), ['corp']);
    assert.deepEqual(r.ok ? 'ok' : r.reason, 'token-revoked');
  });

  test('revocation fails closed: a failed reload drops the cache and retries; a store that stays unreadable admits no token', async () => {
    const token = await mint({ jti: 'busy-then-revoked' });
    assert.equal((await auth.authenticate(bearer(token), ['corp'])).ok, true);
    assert.equal(auth.cachedTokens() > 0, true);
    // The revocation lands while the next reload fails once: the retry must see it.
    await store.revocations.revoke('busy-then-revoked', clock.now() + 600_000);
    failReads = 1;
    const r = await auth.authenticate(bearer(token), ['corp']);
    assert.deepEqual(r.ok ? 'ok' : r.reason, 'token-revoked');
    // And it stays revoked afterwards (the failed read did not mark the change as seen).
    assert.deepEqual((await auth.authenticate(bearer(token), ['corp'])).ok, false);
    const other = await mint();
    assert.equal((await auth.authenticate(bearer(other), ['corp'])).ok, true);
    await store.revocations.revoke('unrelated', clock.now() + 1000);
    failReads = 2;
    const closed = await auth.authenticate(bearer(other), ['corp']);
    assert.deepEqual(closed.ok ? 'ok' : closed.reason, 'revocation-unavailable', 'a cached token is not honoured while revocations cannot be read');
    assert.equal(auth.cachedTokens(), 0);
    assert.equal((await auth.authenticate(bearer(other), ['corp'])).ok, true, 'back once the store answers');
  });

  test('revoking everything issued before a time refuses older tokens from any issuer, cached or not', async () => {
    const old = await mint();
    assert.equal((await auth.authenticate(bearer(old), ['corp'])).ok, true);
    clock.advance(2000);
    await store.revocations.revokeIssuedBefore(clock.now() - 1000);
    const r = await auth.authenticate(bearer(old), ['corp']);
    assert.deepEqual(r.ok ? 'ok' : r.reason, 'token-revoked');
    assert.equal((await auth.authenticate(bearer(await mint()), ['corp'])).ok, true, 'tokens issued after stay valid');
  });

  test('a token from an issuer the route does not accept, or an unknown issuer', async () => {
    assert.deepEqual((await auth.authenticate(bearer(await mint()), ['api-key'])) .ok ? 'ok' : 'refused', 'refused');
    const other = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' }).setIssuer('https://evil.example').setAudience('api').setIssuedAt().setExpirationTime('5m').sign(keys.privateKey);
    const r = await auth.authenticate(bearer(other), ['corp']);
    assert.deepEqual(r.ok ? 'ok' : r.reason, 'unknown-issuer');
  });

  test('api keys only where the route accepts them', async () => {
    const key = createApiKey({ name: 'ci', roles: ['deployer'], expiresAt: null }, clock);
    await store.apiKeys.insert(key.record);
    assert.equal((await auth.authenticate(bearer(key.plaintext), ['api-key'])).ok, true);
    const r = await auth.authenticate(bearer(key.plaintext), ['corp']);
    assert.deepEqual(r.ok ? 'ok' : r.reason, 'method-not-accepted');
  });

  test('a route that accepts nothing admits nobody', async () => {
    assert.equal((await auth.authenticate(bearer(await mint()), [])).ok, false);
  });

  test('a revoked client certificate is refused per request, by fingerprint or by issuer and serial', async () => {
    const mtlsAuth = createAuthenticator({ issuers: [], revocations, clock, mtls: { principalFrom: 'san-uri' } });
    const cert = { authorized: true, sanUris: ['spiffe://example/svc'], fingerprint256: 'AA:BB:CC', issuer: 'O=Example,CN=Client CA', serialNumber: '0A1B' };
    const ok = await mtlsAuth.authenticate({}, ['mtls'], () => cert);
    assert.equal(ok.ok, true);
    assert.equal((ok as { principal: Principal }).principal.issuer, 'urn:palisade:mtls:O=Example,CN=Client CA', 'the principal names its issuer');
    await store.certificateRevocations.revoke({ issuer: 'O=Example,CN=Client CA', serial: '0a:1b' }, clock.now());
    const bySerial = await mtlsAuth.authenticate({}, ['mtls'], () => cert);
    assert.deepEqual(bySerial.ok ? 'ok' : bySerial.reason, 'client-cert-revoked');
    const other = { ...cert, serialNumber: '0C', fingerprint256: 'DD:EE' };
    assert.equal((await mtlsAuth.authenticate({}, ['mtls'], () => other)).ok, true);
    await store.certificateRevocations.revoke({ fingerprint256: 'dd:ee' }, clock.now());
    const byFingerprint = await mtlsAuth.authenticate({}, ['mtls'], () => other);
    assert.deepEqual(byFingerprint.ok ? 'ok' : byFingerprint.reason, 'client-cert-revoked');
  });

  test('the same sub from two issuers is two principals', async () => {
    const r = await auth.authenticate(bearer(await mint({ sub: '123' })), ['corp']);
    assert.deepEqual(r.ok ? [r.principal.issuer, r.principal.id] : r.reason, [ISSUER, '123']);
  });
});
