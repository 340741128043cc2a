import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { createLocalJWKSet, exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { AuthFailureReason } from '../kernel/index.js';
import { verifyAccessToken, type TokenExpectations } from './verify-access-token.js';

const ISSUER = 'https://idp.example.test';
const AUDIENCE = 'shop-api';
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const nowSec = Math.floor(NOW / 1000);

const issuerKeys = await generateKeyPair('ES256', { extractable: true });
const attackerKeys = await generateKeyPair('ES256', { extractable: true });
const rsaKeys = await generateKeyPair('RS256', { extractable: true });
const publicJwk: JWK = { ...(await exportJWK(issuerKeys.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
const rsaJwk: JWK = { ...(await exportJWK(rsaKeys.publicKey)), kid: 'r1', alg: 'RS256', use: 'sig' };
const jwks = createLocalJWKSet({ keys: [publicJwk, rsaJwk] });

const expect: TokenExpectations = { expectedIssuer: ISSUER, expectedAudience: AUDIENCE, algorithms: ['ES256', 'RS256'], keys: jwks, clockSkewSec: 60, maxTokenBytes: 4096, requiredClaims: [], now: NOW };

async function mint(payload: JWTPayload = {}, header: Record<string, unknown> = {}, key = issuerKeys.privateKey): Promise<string> {
  return new SignJWT({ sub: 'alice', roles: ['customer'], ...payload })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt', ...header } as { alg: string })
    .setIssuer((payload.iss as string | undefined) ?? ISSUER)
    .setAudience((payload.aud as string | undefined) ?? AUDIENCE)
    .setIssuedAt((payload.iat as number | undefined) ?? nowSec - 10)
    .setExpirationTime((payload.exp as number | undefined) ?? nowSec + 600)
    .sign(key);
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const rejects = async (token: string, reason: AuthFailureReason, overrides: Partial<TokenExpectations> = {}) => {
  const result = await verifyAccessToken(token, { ...expect, ...overrides });
  assert.deepEqual(result, { ok: false, reason });
};

describe('verifyAccessToken accepts', () => {
  test('a valid token and returns its claims', async () => {
    const result = await verifyAccessToken(await mint(), expect);
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.claims.sub, 'alice');
  });

  test('exp within the configured clock skew', async () => {
    assert.equal((await verifyAccessToken(await mint({ exp: nowSec - 30 }), expect)).ok, true);
  });

  test('the typ it is told to require', async () => {
    assert.equal((await verifyAccessToken(await mint(), { ...expect, typ: 'at+jwt' })).ok, true);
  });
});

describe('verifyAccessToken rejects (attack suite)', () => {
  test('alg: none', async () => {
    await rejects(`${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'admin', iss: ISSUER, aud: AUDIENCE, exp: nowSec + 600, iat: nowSec })}.`, 'alg-not-allowed');
  });

  test('HS256 signed with the issuer public key (key confusion)', async () => {
    const secret = await exportSPKI(rsaKeys.publicKey);
    const head = b64({ alg: 'HS256', kid: 'r1' });
    const body = b64({ sub: 'admin', iss: ISSUER, aud: AUDIENCE, exp: nowSec + 600, iat: nowSec });
    const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
    await rejects(`${head}.${body}.${sig}`, 'alg-not-allowed');
  });

  test('a stripped signature', async () => {
    const [h, p] = (await mint()).split('.');
    await rejects(`${h}.${p}.`, 'bad-signature');
    await rejects(`${h}.${p}`, 'malformed-token');
  });

  test('a tampered payload', async () => {
    const [h, , s] = (await mint()).split('.');
    await rejects(`${h}.${b64({ sub: 'admin', roles: ['admin'], iss: ISSUER, aud: AUDIENCE, exp: nowSec + 600, iat: nowSec })}.${s}`, 'bad-signature');
  });

  test('an expired token', async () => {
    await rejects(await mint({ exp: nowSec - 61 }), 'token-expired');
  });

  test('a token not yet valid', async () => {
    await rejects(await mint({ nbf: nowSec + 120 }), 'token-not-yet-valid');
  });

  test('an iat far in the future', async () => {
    await rejects(await mint({ iat: nowSec + 3600, exp: nowSec + 7200 }), 'token-iat-future');
  });

  test('a wrong issuer', async () => {
    await rejects(await mint({ iss: 'https://evil.example' }), 'wrong-issuer');
  });

  test('a wrong audience', async () => {
    await rejects(await mint({ aud: 'other-api' }), 'wrong-audience');
  });

  test('an unknown kid', async () => {
    await rejects(await mint({}, { kid: 'nope' }), 'unknown-kid');
  });

  test('a token signed by another key under a known kid', async () => {
    await rejects(await mint({}, {}, attackerKeys.privateKey), 'bad-signature');
  });

  for (const header of ['jku', 'x5u', 'jwk', 'x5c'] as const) {
    test(`a ${header} header pointing at an attacker key`, async () => {
      const value = header === 'jwk' ? await exportJWK(attackerKeys.publicKey) : header === 'x5c' ? ['MIIB'] : 'https://evil.example/keys';
      await rejects(await mint({}, { [header]: value }, attackerKeys.privateKey), 'untrusted-header');
    });
  }

  test('an unknown crit header', async () => {
    const head = b64({ alg: 'ES256', kid: 'k1', crit: ['exp-x'], 'exp-x': 1 });
    await rejects(`${head}.${b64({ sub: 'a' })}.AAAA`, 'unsupported-crit');
  });

  test('an oversized token, before any parsing', async () => {
    await rejects(await mint({ pad: 'x'.repeat(5000) }), 'token-too-large');
  });

  test('a token of another issuer', async () => {
    await rejects(await mint({ iss: 'https://other-idp.example' }, {}, attackerKeys.privateKey), 'wrong-issuer', { keys: createLocalJWKSet({ keys: [{ ...(await exportJWK(attackerKeys.publicKey)), kid: 'k1', alg: 'ES256' }] }) });
  });

  test('a wrong typ when one is required', async () => {
    await rejects(await mint({}, { typ: 'JWT' }), 'wrong-typ', { typ: 'at+jwt' });
  });

  test('a missing subject or required claim', async () => {
    await rejects(await mint({ sub: '' }), 'missing-claim');
    await rejects(await mint(), 'missing-claim', { requiredClaims: ['tenant'] });
  });

  test('garbage', async () => {
    for (const t of ['', 'a.b.c', 'not a token', '...', `${b64({ alg: 'ES256' })}.%%%.x`]) {
      const r = await verifyAccessToken(t, expect);
      assert.equal(r.ok, false, t);
    }
  });
});
