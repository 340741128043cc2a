import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { CompactSign, createLocalJWKSet, exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { AuthFailureReason } from '../kernel/index.js';
import { unsafeVerifyUntypedAccessToken, verifyAccessToken, type TokenExpectations } from './verify-access-token.js';

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

const expect: TokenExpectations = { expectedIssuer: ISSUER, expectedAudience: AUDIENCE, algorithms: ['ES256', 'RS256'], keys: jwks, clockSkewSec: 60, maxTokenBytes: 4096, maxLifetimeSec: 86_400, typ: 'at+jwt', requiredClaims: [], now: NOW };

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

  test('the typ it is told to require, in any case and with or without `application/`', async () => {
    for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt']) assert.equal((await verifyAccessToken(await mint({}, { typ }), expect)).ok, true, typ);
  });

  test('untyped tokens only through the separately named unsafe function', async () => {
    const untyped = await mint({}, { typ: undefined });
    await rejects(untyped, 'wrong-typ');
    assert.equal((await unsafeVerifyUntypedAccessToken(untyped, expect)).ok, true);
    assert.equal((await unsafeVerifyUntypedAccessToken(await mint({}, { typ: 'JWT' }), expect)).ok, true);
    assert.deepEqual(await unsafeVerifyUntypedAccessToken(await mint({}, { typ: 'refresh+jwt' }), expect), { ok: false, reason: 'wrong-typ' });
  });
});

describe('verifyAccessToken rejects (attack suite)', () => {
  test('alg: none', async () => {
    await rejects(`${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ sub: 'admin', iss: ISSUER, aud: AUDIENCE, exp: nowSec + 600, iat: nowSec })}.AAAA`, 'alg-not-allowed');
    await rejects(`${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ sub: 'admin', iss: ISSUER, aud: AUDIENCE, exp: nowSec + 600, iat: nowSec })}.`, 'malformed-token');
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
    await rejects(`${h}.${p}.`, 'malformed-token');
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

/** Signs exactly these payload bytes, so a test can put what a JSON serialiser never would into a validly signed token. */
async function signRaw(payload: Uint8Array | string, header: Record<string, unknown> = { alg: 'ES256', kid: 'k1', typ: 'at+jwt' }): Promise<string> {
  return new CompactSign(typeof payload === 'string' ? new TextEncoder().encode(payload) : payload).setProtectedHeader(header as { alg: string }).sign(issuerKeys.privateKey);
}
const claimsText = (exp: string, extra = '') => `{"sub":"alice","iss":"${ISSUER}","aud":"${AUDIENCE}","iat":${nowSec - 10},"exp":${exp}${extra}}`;

describe('verifyAccessToken refuses validly signed but malformed tokens', () => {
  test('the raw signing helper makes tokens the verifier accepts (control)', async () => {
    assert.equal((await verifyAccessToken(await signRaw(claimsText(String(nowSec + 600))), expect)).ok, true);
  });

  test('exp in the year 3000 (no lifetime cap), or a lifetime longer than allowed', async () => {
    await rejects(await mint({ exp: Math.floor(Date.UTC(3000, 0, 1) / 1000) }), 'token-lifetime-too-long');
    await rejects(await mint({ iat: nowSec - 90_000, exp: nowSec + 600 }), 'token-lifetime-too-long', {});
    await rejects(await mint({ exp: nowSec + 7200 }), 'token-lifetime-too-long', { maxLifetimeSec: 3600 });
    assert.equal((await verifyAccessToken(await mint({ exp: nowSec + 3500 }), { ...expect, maxLifetimeSec: 3600 })).ok, true);
  });

  test('non-finite or non-integer exp, nbf or iat', async () => {
    await rejects(await signRaw(claimsText('1e309')), 'invalid-claim');
    await rejects(await signRaw(claimsText(`${nowSec + 600}.5`)), 'invalid-claim');
    await rejects(await signRaw(claimsText(`${nowSec + 600}`, ',"nbf":1e400')), 'invalid-claim');
    await rejects(await signRaw(claimsText(`${nowSec + 600}`, ',"nbf":"0"')), 'invalid-claim');
    await rejects(await signRaw(claimsText('9007199254740993')), 'invalid-claim');
  });

  test('an unexpected typ or any cty', async () => {
    for (const typ of ['JWE', 'refresh+jwt', 'JWT', 'id_token+jwt']) await rejects(await mint({}, { typ }), 'wrong-typ');
    await rejects(await mint({}, { typ: undefined }), 'wrong-typ');
    await rejects(await mint({}, { cty: 'JWT' }), 'wrong-typ');
  });

  test('a payload or header that starts with a UTF-8 byte order mark, or is not UTF-8', async () => {
    const text = new TextEncoder().encode(claimsText(String(nowSec + 600)));
    await rejects(await signRaw(new Uint8Array([0xef, 0xbb, 0xbf, ...text])), 'malformed-token');
    await rejects(await signRaw(new Uint8Array([...text.slice(0, -1), 0xff, 0x7d])), 'malformed-token');
    const token = await mint();
    const [, p, sig] = token.split('.');
    const bomHeader = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' }))]).toString('base64url');
    await rejects(`${bomHeader}.${p}.${sig}`, 'malformed-token');
  });

  test('non-canonical base64url: a different last character, padding, or foreign characters', async () => {
    const token = await mint();
    const [h, p, sig] = token.split('.') as [string, string, string];
    // An ES256 signature is 64 bytes: 86 characters whose last carries 4 unused bits.
    const last = sig.at(-1) as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) ^ 1] as string;
    assert.deepEqual(Buffer.from(`${sig.slice(0, -1)}${twin}`, 'base64url'), Buffer.from(sig, 'base64url'), 'the twin decodes to the same bytes');
    await rejects(`${h}.${p}.${sig.slice(0, -1)}${twin}`, 'malformed-token');
    await rejects(`${h}.${p}.${sig}==`, 'malformed-token');
    await rejects(`${h}.${p}.${sig.replace(/-/g, '+').replace(/_/g, '/')}${sig.includes('-') || sig.includes('_') ? '' : '+'}`, 'malformed-token');
    await rejects(`${h}=.${p}.${sig}`, 'malformed-token');
    assert.equal((await verifyAccessToken(token, expect)).ok, true, 'the canonical spelling passes');
  });
});
