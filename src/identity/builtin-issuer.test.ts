import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createManualClock, isPalisadeError } from '../kernel/index.js';
import { openSqliteStore } from '../store/index.js';
import { addUser, enrollMfa, resetMfa, setPassword, setUserDisabled } from './builtin-accounts.js';
import { createBuiltinIssuer, type BuiltinSettings, type TokenOutcome } from './builtin-issuer.js';
import { dummyPasswordHash } from './passwords.js';
import { currentTotp } from './totp.js';

const settings: BuiltinSettings = { mfa: 'required', accessTokenTtlSec: 600, refreshTokenTtlSec: 3600, lockout: { maxFailures: 3, lockSec: 900 } };
const PASSWORD = 'correct horse battery staple';

async function setup(overrides: Partial<BuiltinSettings> = {}) {
  const clock = createManualClock(Date.UTC(2026, 10, 22, 12));
  const store = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'palisade-builtin-')), 'state.db'));
  const revoked: string[] = [];
  const issuer = await createBuiltinIssuer(store, { ...settings, ...overrides }, clock, { onRevoke: (jti) => revoked.push(jti) });
  issuer.setIssuer('https://127.0.0.1:8443/_palisade/auth');
  await addUser(store, { username: 'alice', password: PASSWORD, roles: ['customer'] }, clock);
  const { secret, recoveryCodes } = await enrollMfa(store, 'alice', 'Palisade test');
  return { clock, store, issuer, secret, recoveryCodes, revoked };
}

const reason = (o: TokenOutcome) => (o.ok ? 'ok' : o.reason);
let ipSeq = 0;
const ip = () => `10.0.0.${++ipSeq}`;

describe('built-in login', () => {
  test('password + TOTP yields an EdDSA at+jwt with amr pwd+otp, auth_time and jti, and a refresh token', async () => {
    const { clock, issuer, secret } = await setup();
    const out = await issuer.login({ username: 'alice', password: PASSWORD, totp: currentTotp(secret, clock.now()) }, ip());
    assert.equal(out.ok, true, reason(out));
    if (!out.ok) return;
    const header = decodeProtectedHeader(out.tokens.access_token);
    const claims = decodeJwt(out.tokens.access_token);
    assert.deepEqual([header.alg, header.typ], ['EdDSA', 'at+jwt']);
    assert.deepEqual(claims.amr, ['pwd', 'otp']);
    assert.equal(claims.exp, Math.floor(clock.now() / 1000) + 600);
    assert.equal(typeof claims.auth_time, 'number');
    assert.equal(typeof claims.jti, 'string');
    assert.match(out.tokens.refresh_token, /^palr_/);
    const v = await issuer.verify(out.tokens.access_token);
    assert.equal(v.ok && v.principal.mfa, true);
    assert.deepEqual(v.ok && v.principal.roles, ['customer']);
  });

  test('a wrong password, an unknown user and a wrong TOTP are all refused', async () => {
    const { clock, issuer, secret } = await setup({ lockout: { maxFailures: 10, lockSec: 900 } });
    assert.equal(reason(await issuer.login({ username: 'alice', password: 'wrong password!!', totp: currentTotp(secret, clock.now()) }, ip())), 'bad-credentials');
    assert.equal(reason(await issuer.login({ username: 'mallory', password: PASSWORD }, ip())), 'bad-credentials');
    assert.equal(reason(await issuer.login({ username: 'alice', password: PASSWORD, totp: '000000' }, ip())), 'mfa-invalid');
    assert.equal(reason(await issuer.login({ username: 'alice', password: PASSWORD }, ip())), 'mfa-missing');
  });

  test('a TOTP code is accepted once (replay within its window is refused)', async () => {
    const { clock, issuer, secret } = await setup();
    const code = currentTotp(secret, clock.now());
    assert.equal(reason(await issuer.login({ username: 'alice', password: PASSWORD, totp: code }, ip())), 'ok');
    clock.advance(5_000);
    assert.equal(reason(await issuer.login({ username: 'alice', password: PASSWORD, totp: code }, ip())), 'mfa-replay');
    clock.advance(30_000);
    assert.equal(reason(await issuer.login({ username: 'alice', password: PASSWORD, totp: currentTotp(secret, clock.now()) }, ip())), 'ok');
  });

  test('a recovery code works once', async () => {
    const { issuer, recoveryCodes } = await setup();
    const code = recoveryCodes[0] as string;
    assert.equal(reason(await issuer.login({ username: 'alice', password: PASSWORD, recoveryCode: code.toUpperCase() }, ip())), 'ok');
    assert.equal(reason(await issuer.login({ username: 'alice', password: PASSWORD, recoveryCode: code }, ip())), 'mfa-invalid');
  });

  test('repeated failures lock the account, even against the right password, until the lock expires', async () => {
    const { clock, issuer, secret } = await setup();
    for (let i = 0; i < 3; i++) await issuer.login({ username: 'alice', password: 'not the password', totp: '123456' }, ip());
    assert.equal(reason(await issuer.login({ username: 'alice', password: PASSWORD, totp: currentTotp(secret, clock.now()) }, ip())), 'account-locked');
    clock.advance(901_000);
    assert.equal(reason(await issuer.login({ username: 'alice', password: PASSWORD, totp: currentTotp(secret, clock.now()) }, ip())), 'ok');
  });

  test('an unknown username locks exactly like a known one (no enumeration through lockout)', async () => {
    const { issuer } = await setup();
    const outcomes = async (username: string) => {
      const out: string[] = [];
      for (let i = 0; i < 4; i++) out.push(reason(await issuer.login({ username, password: 'not the password' }, ip())));
      return out;
    };
    assert.deepEqual(await outcomes('alice'), await outcomes('nobody-here'));
  });

  test('an address that keeps failing is throttled with a retry-after', async () => {
    const { issuer } = await setup();
    const address = ip();
    for (let i = 0; i < 10; i++) await issuer.login({ username: `nobody${i}`, password: 'x' }, address);
    const out = await issuer.login({ username: 'nobody', password: 'x' }, address);
    assert.equal(reason(out), 'throttled');
    assert.equal(!out.ok && out.status, 429);
    assert.ok(!out.ok && (out.retryAfterSec ?? 0) > 0);
  });

  test('an IPv6 client rotating addresses within its /64 is throttled as one', async () => {
    const { issuer } = await setup();
    for (let i = 0; i < 10; i++) assert.equal(reason(await issuer.login({ username: `nobody${i}`, password: 'x' }, `2001:db8:aa:bb::${(i + 1).toString(16)}`)), 'bad-credentials');
    assert.equal(reason(await issuer.login({ username: 'nobody', password: 'x' }, '2001:db8:aa:bb:ffff:1:2:3')), 'throttled');
    assert.equal(reason(await issuer.login({ username: 'nobody', password: 'x' }, '2001:db8:aa:cc::1')), 'bad-credentials', 'another /64 is not affected');
  });

  test('40 concurrent wrong passwords for one user: exactly the limit is hashed, then the account is locked', async () => {
    const { clock, issuer, secret } = await setup();
    const before = issuer.passwordVerifications();
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => issuer.login({ username: 'alice', password: `wrong guess ${i}`, totp: '123456' }, `10.9.${i}.1`)));
    assert.equal(issuer.passwordVerifications() - before, 3, 'argon2id ran exactly maxFailures times');
    assert.equal(outcomes.filter((o) => reason(o) === 'bad-credentials').length, 3);
    assert.equal(outcomes.filter((o) => reason(o) === 'account-locked').length, 37);
    assert.equal(reason(await issuer.login({ username: 'alice', password: PASSWORD, totp: currentTotp(secret, clock.now()) }, ip())), 'account-locked');
  });

  test('30 concurrent attempts from one address: exactly the 10 free ones are hashed', async () => {
    const { issuer } = await setup({ lockout: { maxFailures: 20, lockSec: 900 } });
    const before = issuer.passwordVerifications();
    const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => issuer.login({ username: `user${i}`, password: 'wrong password' }, '198.51.100.20')));
    assert.equal(issuer.passwordVerifications() - before, 10);
    assert.equal(outcomes.filter((o) => reason(o) === 'throttled').length, 20);
  });

  test('one TOTP code in concurrent logins yields exactly one token set', async () => {
    const { clock, issuer, secret } = await setup({ lockout: { maxFailures: 20, lockSec: 900 } });
    const code = currentTotp(secret, clock.now());
    const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => issuer.login({ username: 'alice', password: PASSWORD, totp: code }, `10.8.${i}.1`)));
    assert.equal(outcomes.filter((o) => o.ok).length, 1);
    assert.equal(outcomes.filter((o) => reason(o) === 'mfa-replay').length, 7);
  });

  test('with mfa required, a user who never enrolled cannot log in', async () => {
    const { clock, store, issuer } = await setup();
    await addUser(store, { username: 'bob', password: PASSWORD, roles: [] }, clock);
    assert.equal(reason(await issuer.login({ username: 'bob', password: PASSWORD }, ip())), 'mfa-enrollment-required');
    const optional = await createBuiltinIssuer(store, { ...settings, mfa: 'optional' }, clock);
    after(() => optional.close());
    const out = await optional.login({ username: 'bob', password: PASSWORD }, ip());
    assert.deepEqual(out.ok && decodeJwt(out.tokens.access_token).amr, ['pwd']);
    assert.equal(out.ok && (await optional.verify(out.tokens.access_token)).ok && ((await optional.verify(out.tokens.access_token)) as { principal: { mfa: boolean } }).principal.mfa, false);
  });

  test('unknown-user and wrong-password failures cost the same: one argon2id run with the same parameters', async () => {
    // Counted, not timed: a timing ratio races the machine's load; the cost is equal by
    // construction when both paths run argon2id once with the same parameters.
    const { store, issuer } = await setup({ lockout: { maxFailures: 20, lockSec: 60 } });
    const runs = async (username: string) => {
      const before = issuer.passwordVerifications();
      assert.equal(reason(await issuer.login({ username, password: 'definitely wrong' }, ip())), 'bad-credentials');
      return issuer.passwordVerifications() - before;
    };
    assert.equal(await runs('alice'), 1);
    assert.equal(await runs('ghost'), 1);
    const params = (hash: string) => hash.split('$').slice(1, 4).join('$');
    const alice = await store.users.findByUsername('alice');
    assert.equal(params(await dummyPasswordHash()), params(alice?.passwordHash ?? ''), 'the dummy hash has the parameters of a real one');
  });
});

describe('refresh tokens and revocation', () => {
  const login = async (s: Awaited<ReturnType<typeof setup>>) => {
    const out = await s.issuer.login({ username: 'alice', password: PASSWORD, totp: currentTotp(s.secret, s.clock.now()) }, ip());
    assert.ok(out.ok);
    return out.tokens;
  };

  test('a refresh token rotates on use; reusing a spent one revokes the whole family', async () => {
    const s = await setup();
    const first = await login(s);
    const second = await s.issuer.refresh(first.refresh_token);
    assert.equal(reason(second), 'ok');
    assert.ok(second.ok && second.tokens.refresh_token !== first.refresh_token);
    assert.deepEqual(second.ok && decodeJwt(second.tokens.access_token).amr, ['pwd', 'otp'], 'amr carries over');
    assert.equal(reason(await s.issuer.refresh(first.refresh_token)), 'refresh-reuse');
    assert.equal(second.ok && reason(await s.issuer.refresh(second.tokens.refresh_token)), 'refresh-reuse', 'the thief and the owner both lose the family');
  });

  test('an expired, unknown or malformed refresh token is refused', async () => {
    const s = await setup();
    const t = await login(s);
    assert.equal(reason(await s.issuer.refresh('palr_nope')), 'refresh-invalid');
    assert.equal(reason(await s.issuer.refresh('not-a-token')), 'refresh-invalid');
    s.clock.advance(3_601_000);
    assert.equal(reason(await s.issuer.refresh(t.refresh_token)), 'refresh-expired');
  });

  test('logout kills the refresh family and revokes the access tokens issued with it', async () => {
    const s = await setup();
    const t = await login(s);
    const rotated = await s.issuer.refresh(t.refresh_token);
    assert.ok(rotated.ok);
    assert.equal(await s.issuer.logout(rotated.tokens.refresh_token), true);
    assert.equal(reason(await s.issuer.refresh(rotated.tokens.refresh_token)), 'refresh-reuse');
    const jtis = [decodeJwt(t.access_token).jti, decodeJwt(rotated.tokens.access_token).jti].sort();
    assert.deepEqual([...s.revoked].sort(), jtis, 'both access tokens of the family are revoked');
    assert.deepEqual([...(await s.store.revocations.listActive(s.clock.now()))].sort(), jtis, 'and the store has them for other nodes and the CLI');
  });

  test('a reused refresh token also revokes the family access tokens', async () => {
    const s = await setup();
    const t = await login(s);
    assert.ok((await s.issuer.refresh(t.refresh_token)).ok);
    assert.equal(reason(await s.issuer.refresh(t.refresh_token)), 'refresh-reuse');
    assert.ok(s.revoked.includes(decodeJwt(t.access_token).jti as string));
  });

  test('concurrent refreshes with one refresh token: at most one spends it, and the reuse kills the family', async () => {
    const s = await setup();
    const t = await login(s);
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => s.issuer.refresh(t.refresh_token)));
    assert.ok(outcomes.filter((o) => o.ok).length <= 1);
    assert.equal(outcomes.filter((o) => !o.ok && o.reason === 'refresh-reuse').length >= 9, true);
  });

  test('the winner of a refresh race loses its new tokens with the family the loser revoked', async () => {
    // A stolen refresh token presented by the thief and the owner at once: one spends it, the
    // other's reuse revokes the family while the winner is still signing. The winner's new
    // refresh token must not outlive that revocation (nor a logout racing a refresh).
    for (const race of ['reuse', 'logout'] as const) {
      const s = await setup();
      const t = await login(s);
      const [a, b] = await Promise.all([s.issuer.refresh(t.refresh_token), race === 'reuse' ? s.issuer.refresh(t.refresh_token) : s.issuer.logout(t.refresh_token).then(() => undefined)]);
      for (const o of [a, b]) {
        if (o === undefined || !o.ok) continue;
        assert.notEqual(reason(await s.issuer.refresh(o.tokens.refresh_token)), 'ok', `${race}: a refresh token issued into a revoked family still works`);
        assert.equal((await s.issuer.verify(o.tokens.access_token)).ok, false, `${race}: an access token issued into a revoked family still verifies`);
      }
    }
  });

  test('disabling a user, changing the password or resetting MFA voids issued tokens at once', async () => {
    for (const action of ['disable', 'password', 'mfa'] as const) {
      const s = await setup();
      const t = await login(s);
      assert.equal((await s.issuer.verify(t.access_token)).ok, true);
      if (action === 'disable') await setUserDisabled(s.store, 'alice', true, s.clock);
      if (action === 'password') await setPassword(s.store, 'alice', 'another long passphrase', s.clock);
      if (action === 'mfa') await resetMfa(s.store, 'alice', s.clock);
      const v = await s.issuer.verify(t.access_token);
      assert.equal(v.ok, false, action);
      assert.notEqual(reason(await s.issuer.refresh(t.refresh_token)), 'ok', action);
    }
  });

  test('signing keys rotate with an overlap: tokens of the previous key still verify', async () => {
    const s = await setup();
    const before = await login(s);
    const kid = await s.issuer.rotateSigningKey();
    s.clock.advance(31_000);
    const after = await login(s);
    assert.equal(decodeProtectedHeader(after.access_token).kid, kid);
    assert.equal((await s.issuer.verify(before.access_token)).ok, true);
    assert.equal((await s.issuer.jwks()).keys.length, 2);
    s.clock.advance(600_000);
    assert.equal((await s.issuer.jwks()).keys.length, 1, 'the old key is unpublished after one access-token lifetime');
  });
});

describe('account rules', () => {
  test('weak passwords and bad names are refused', async () => {
    const s = await setup();
    await assert.rejects(addUser(s.store, { username: 'carol', password: 'short', roles: [] }, s.clock), (e: unknown) => isPalisadeError(e, 'PAL_IDENTITY_INVALID_ACCOUNT'));
    await assert.rejects(addUser(s.store, { username: 'carol', password: 'carol-is-my-name-ok', roles: [] }, s.clock), /username/);
    await assert.rejects(addUser(s.store, { username: 'Carol!', password: PASSWORD, roles: [] }, s.clock), /username/);
    await assert.rejects(addUser(s.store, { username: 'alice', password: PASSWORD, roles: [] }, s.clock), /already exists/);
  });
});
