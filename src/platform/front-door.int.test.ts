import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'openid-client';
import { addUser, currentTotp, enrollMfa } from '../identity/index.js';
import { createManualClock, type LogRecord, type Logger } from '../kernel/index.js';
import { loadManifest } from '../manifest/index.js';
import { openSqliteStore } from '../store/index.js';
import { startInsecureLoopbackHttpPlatform, type RunningPlatform } from './start-platform.js';

// A real gateway on 127.0.0.1, a real SQLite store, real worker threads for argon2id, and real
// concurrent HTTP requests. The clock is frozen, so no limit here races the machine's speed.
const PASSWORD = 'a long and private passphrase';
const clock = createManualClock(Date.now());
const decisions: LogRecord[] = [];
const logger: Logger = {
  debug() {},
  info(msg, fields) {
    if (msg === 'decision' && fields !== undefined) decisions.push(fields);
  },
  warn() {},
  error() {},
};

let node: RunningPlatform;
let secret: string;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'palisade-front-door-'));
  writeFileSync(join(dir, 'palisade.yaml'), 'name: door\nidentity:\n  builtin: { enabled: true, lockout: { maxFailures: 5, lockSec: 900 } }\nfunctions:\n  hello: { source: functions/hello.ts }\nroutes:\n  - { path: /private, function: hello, allow: { roles: [customer] } }\n  - { path: /public, function: hello, public: true }\n');
  mkdirSync(join(dir, 'functions'));
  writeFileSync(join(dir, 'functions', 'hello.ts'), 'export default { async fetch(): Promise<Response> { return new Response("hello"); } };\n');
  const store = openSqliteStore(join(dir, '.palisade', 'state.db'));
  for (const username of ['alice', 'bob', 'carol', 'dave']) {
    await addUser(store, { username, password: PASSWORD, roles: ['customer'] }, clock);
  }
  secret = (await enrollMfa(store, 'alice', 'door')).secret;
  for (const u of ['bob', 'carol', 'dave']) await store.users.update((await store.users.findByUsername(u))?.id as string, { totpSecret: secret });
  await store.close();
  node = await startInsecureLoopbackHttpPlatform({ manifest: loadManifest(dir), logger, host: '127.0.0.1', port: 0, clock });
});
after(() => node.close());

/** Starts a fresh period: every lock, backoff window and TOTP step of before has passed. */
const nextDay = () => clock.advance(86_400_000);
const reasons = (ids: readonly string[]): string[] => ids.map((id) => String(decisions.find((d) => d.requestId === id)?.authFailure ?? 'none'));
const count = (xs: readonly string[], x: string) => xs.filter((y) => y === x).length;
const loginJson = (body: unknown) => fetch(`${node.url}/_palisade/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const tokenForm = (params: Record<string, string> | string) => fetch(`${node.url}/_palisade/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: typeof params === 'string' ? params : new URLSearchParams(params).toString() });

describe('the login front door under concurrent attack', () => {
  test('40 concurrent wrong passwords for one user: exactly the limit is hashed, then the account is locked', async () => {
    nextDay();
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => loginJson({ username: 'bob', password: `wrong guess ${i}`, totp: '123456' })));
    const why = reasons(replies.map((r) => r.headers.get('x-request-id') ?? ''));
    // Only an admitted attempt reaches argon2id, and only an admitted wrong one says bad-credentials.
    assert.equal(count(why, 'bad-credentials'), 5, why.join(','));
    assert.equal(count(why, 'bad-credentials') + count(why, 'account-locked') + count(why, 'throttled'), 40);
    const right = await loginJson({ username: 'bob', password: PASSWORD, totp: currentTotp(secret, clock.now()) });
    assert.equal(right.status, 429, 'the address is in backoff as well');
    // Past the address backoff (1 s after the 10th attempt), well within the 15-minute lock.
    clock.advance(2_000);
    const locked = await loginJson({ username: 'bob', password: PASSWORD, totp: currentTotp(secret, clock.now()) });
    assert.equal(locked.status, 401);
    assert.deepEqual(reasons([locked.headers.get('x-request-id') ?? '']), ['account-locked']);
  });

  test('30 concurrent attempts from one address: exactly the 10 free ones are hashed, the rest get 429 with retry-after', async () => {
    nextDay();
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => loginJson({ username: `nobody${i}`, password: 'wrong password' })));
    const why = reasons(replies.map((r) => r.headers.get('x-request-id') ?? ''));
    assert.equal(count(why, 'bad-credentials'), 10, why.join(','));
    const throttled = replies.filter((r) => r.status === 429);
    assert.equal(throttled.length, 20);
    assert.ok(throttled.every((r) => Number(r.headers.get('retry-after')) >= 1));
  });

  test('one TOTP code in concurrent logins yields exactly one token set', async () => {
    nextDay();
    const code = currentTotp(secret, clock.now());
    const replies = await Promise.all(Array.from({ length: 5 }, () => loginJson({ username: 'carol', password: PASSWORD, totp: code })));
    assert.equal(replies.filter((r) => r.status === 200).length, 1);
    const why = reasons(replies.filter((r) => r.status !== 200).map((r) => r.headers.get('x-request-id') ?? ''));
    assert.deepEqual(why, ['mfa-replay', 'mfa-replay', 'mfa-replay', 'mfa-replay']);
  });

  test('logout revokes the access token at once, not only the refresh token', async () => {
    nextDay();
    const login = await loginJson({ username: 'dave', password: PASSWORD, totp: currentTotp(secret, clock.now()) });
    const tokens = (await login.json()) as { access_token: string; refresh_token: string };
    const call = () => fetch(`${node.url}/private`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal((await call()).status, 200);
    const out = await fetch(`${node.url}/_palisade/auth/logout`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: tokens.refresh_token }) });
    assert.equal(out.status, 200);
    const after = await call();
    assert.equal(after.status, 401);
    assert.deepEqual(reasons([after.headers.get('x-request-id') ?? '']), ['token-revoked']);
  });
});

describe('the token endpoint speaks RFC 6749', () => {
  test('a real OAuth client discovers the issuer, logs in with the password grant and TOTP, refreshes and calls a route', async () => {
    nextDay();
    const issuer = new URL(`${node.url}/_palisade/auth`);
    const config = await oauth.discovery(issuer, 'palisade-cli', undefined, oauth.None(), { execute: [oauth.allowInsecureRequests] });
    const meta = config.serverMetadata();
    assert.equal(meta.token_endpoint, `${node.url}/_palisade/auth/token`);
    assert.deepEqual(meta.grant_types_supported, ['password', 'refresh_token']);
    assert.equal(meta.authorization_endpoint, undefined, 'nothing advertised that the issuer does not do');
    const login = await oauth.genericGrantRequest(config, 'password', { username: 'alice', password: PASSWORD, totp: currentTotp(secret, clock.now()) });
    assert.equal(login.token_type, 'bearer');
    assert.ok(typeof login.refresh_token === 'string');
    const refreshed = await oauth.refreshTokenGrant(config, login.refresh_token);
    assert.notEqual(refreshed.refresh_token, login.refresh_token, 'rotated');
    const call = await oauth.fetchProtectedResource(config, refreshed.access_token, new URL(`${node.url}/private`), 'GET');
    assert.equal(call.status, 200);
    assert.equal(await call.text(), 'hello');
    await assert.rejects(oauth.refreshTokenGrant(config, login.refresh_token), (e: unknown) => e instanceof oauth.ResponseBodyError && e.error === 'invalid_grant' && e.status === 400, 'a spent refresh token is invalid_grant');
    await assert.rejects(oauth.genericGrantRequest(config, 'password', { username: 'alice', password: 'wrong password!', totp: '000000' }), (e: unknown) => e instanceof oauth.ResponseBodyError && e.error === 'invalid_grant');
  });

  test('malformed token requests get RFC 6749 section 5.2 errors, never a 5xx', async () => {
    nextDay();
    const cases: Array<[Record<string, string> | string, number, string]> = [
      [{ grant_type: 'client_credentials' }, 400, 'unsupported_grant_type'],
      [{ username: 'alice', password: 'x' }, 400, 'invalid_request'],
      [{ grant_type: 'password', username: 'alice' }, 400, 'invalid_request'],
      [{ grant_type: 'refresh_token' }, 400, 'invalid_request'],
      ['grant_type=password&grant_type=refresh_token&refresh_token=x', 400, 'invalid_request'],
      [{ grant_type: 'refresh_token', refresh_token: 'palr_not-a-token' }, 400, 'invalid_grant'],
    ];
    for (const [body, status, error] of cases) {
      const r = await tokenForm(body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.deepEqual(await r.json(), { error }, JSON.stringify(body));
    }
    const json = await fetch(`${node.url}/_palisade/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"password"}' });
    assert.equal(json.status, 400);
    assert.deepEqual(await json.json(), { error: 'invalid_request' });
    assert.equal((await fetch(`${node.url}/_palisade/auth/token`)).status, 405);
  });

  test('a compressed credential body is refused with 415, never read as plain text', async () => {
    nextDay();
    const { gzipSync } = await import('node:zlib');
    for (const [path, type, body] of [
      ['/token', 'application/x-www-form-urlencoded', new URLSearchParams({ grant_type: 'password', username: 'alice', password: 'x' }).toString()],
      ['/login', 'application/json', JSON.stringify({ username: 'alice', password: 'x' })],
    ] as const) {
      for (const coding of ['gzip', 'br', 'identity, gzip']) {
        const r = await fetch(`${node.url}/_palisade/auth${path}`, { method: 'POST', headers: { 'content-type': type, 'content-encoding': coding }, body: coding === 'br' ? body : gzipSync(body) });
        assert.equal(r.status, 415, `${path} ${coding}`);
        assert.equal(r.headers.get('accept-encoding'), 'identity');
      }
    }
  });
});
