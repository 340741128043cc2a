import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';

import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { currentTotp } from '../../src/identity/index.js';
import { cliPath, decisionFor, fetchTls, repoRoot, runCliSync, startUp, tempDir, type RunningCli, writeProject } from '../helpers/cli.js';

const PASSWORD = 'a long and private passphrase';

function withStdin(args: string[], input: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { cwd: repoRoot, input, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('built-in users with MFA, end to end', () => {
  let dir: string;
  let node: RunningCli;
  let secret: string;

  before(async () => {
    dir = writeProject('name: users\nidentity:\n  builtin: { enabled: true }\nfunctions:\n  hello: { source: functions/hello.ts }\nroutes:\n  - { path: /private, function: hello, allow: { issuers: [builtin] } }\n', { 'functions/hello.ts': 'export default { async fetch(): Promise<Response> { return new Response("private hello"); } };\n' });
    const add = withStdin(['users', 'add', 'alice', dir, '--role', 'customer', '--password-stdin'], `${PASSWORD}\n`);
    assert.equal(add.status, 0, add.stderr);
    assert.match(add.stdout, /enrol MFA/);
    const enroll = runCliSync(['users', 'mfa', 'enroll', 'alice', dir, '--json']);
    assert.equal(enroll.status, 0, enroll.stderr);
    secret = (JSON.parse(enroll.stdout) as { secret: string }).secret;
    node = await startUp(dir);
  });
  after(() => node.stop());

  const post = (path: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) => fetchTls(node.url, node.ca, `/_palisade/auth${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers });
  const reasonOf = async (requestId: string) => (await decisionFor(node, requestId)).authFailure;

  test('a user created and enrolled by the CLI logs in with password + TOTP and calls a private route', async () => {
    const r = await post('/login', { username: 'alice', password: PASSWORD, totp: currentTotp(secret, Date.now()) });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['cache-control'], 'no-store');
    const tokens = JSON.parse(r.body) as { access_token: string; refresh_token: string; token_type: string; expires_in: number };
    assert.equal(tokens.token_type, 'Bearer');
    const claims = decodeJwt(tokens.access_token);
    assert.equal(claims.iss, `${node.url}/_palisade/auth`);
    assert.deepEqual(claims.amr, ['pwd', 'otp']);
    const call = await fetchTls(node.url, node.ca, '/private', { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(call.status, 200);
    assert.equal(call.body, 'private hello');
    assert.ok(!node.stderr().includes(PASSWORD) && !node.stderr().includes(tokens.refresh_token), 'no secret in the log');
  });

  test('refused logins all look the same to the client; the log has the reason', async () => {
    const cases: Array<[unknown, string]> = [
      [{ username: 'alice', password: 'wrong passphrase here', totp: '123456' }, 'bad-credentials'],
      [{ username: 'nobody', password: PASSWORD, totp: '123456' }, 'bad-credentials'],
      [{ username: 'alice', password: PASSWORD }, 'mfa-missing'],
      [{ username: 'alice', password: PASSWORD, totp: '000000' }, 'mfa-invalid'],
    ];
    const bodies = new Set<string>();
    for (const [body, reason] of cases) {
      const r = await post('/login', body);
      assert.equal(r.status, 401, JSON.stringify(body));
      const problem = JSON.parse(r.body) as { code: string; detail: string };
      assert.equal(problem.code, 'PAL_IDENTITY_LOGIN_FAILED');
      bodies.add(problem.detail);
      assert.equal(await reasonOf(String(r.headers['x-request-id'])), reason);
    }
    assert.equal(bodies.size, 1, 'one generic message for every failure');
    // Clear the failure count so later tests are not locked out.
    assert.equal(runCliSync(['users', 'enable', 'alice', dir]).status, 0);
  });

  test('a TOTP code cannot be replayed', async () => {
    // The current step was spent by the first login; the next step's code is fresh (window of one step).
    const fresh = currentTotp(secret, Date.now() + 30_000);
    const first = await post('/login', { username: 'alice', password: PASSWORD, totp: fresh });
    assert.equal(first.status, 200, first.body);
    const replay = await post('/login', { username: 'alice', password: PASSWORD, totp: fresh });
    assert.equal(replay.status, 401);
    assert.equal(await reasonOf(String(replay.headers['x-request-id'])), 'mfa-replay');
    assert.equal(runCliSync(['users', 'enable', 'alice', dir]).status, 0);
  });

  test('palisade login stores tokens readable by the owner only; token inspect verifies without printing the token', async () => {
    const home = tempDir();
    const caFile = join(dir, '.palisade', 'tls', 'ca.pem');
    // A user of its own: the other tests spent alice's current TOTP steps.
    assert.equal(withStdin(['users', 'add', 'erin', dir, '--password-stdin'], PASSWORD).status, 0);
    const erinSecret = (JSON.parse(runCliSync(['users', 'mfa', 'enroll', 'erin', dir, '--json']).stdout) as { secret: string }).secret;
    const login = withStdin(['login', '--url', node.url, '--ca', caFile, '--username', 'erin', '--password-stdin', '--totp', currentTotp(erinSecret, Date.now())], PASSWORD, { PALISADE_HOME: home });
    assert.equal(login.status, 0, login.stderr);
    const path = join(home, 'credentials.json');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const stored = JSON.parse(readFileSync(path, 'utf8')) as { accessToken: string };
    assert.ok(!login.stdout.includes(stored.accessToken));
    const inspect = withStdin(['token', 'inspect', '--ca', caFile], '', { PALISADE_HOME: home });
    assert.equal(inspect.status, 0, inspect.stderr + inspect.stdout);
    assert.match(inspect.stdout, /^valid token from/);
    assert.match(inspect.stdout, /amr: \["pwd","otp"\]/);
    assert.ok(!inspect.stdout.includes(stored.accessToken), 'the token is never printed');
    const [h, p] = stored.accessToken.split('.');
    const forged = `${h}.${p}.${'A'.repeat(86)}`;
    const bad = withStdin(['token', 'inspect', '--stdin', '--ca', caFile], forged, { PALISADE_HOME: home });
    assert.equal(bad.status, 2);
    assert.match(bad.stdout, /INVALID token \(bad-signature\)/);
    const refused = withStdin(['login', '--url', node.url, '--ca', caFile, '--username', 'erin', '--password-stdin', '--totp', '000000'], PASSWORD, { PALISADE_HOME: home });
    assert.equal(refused.status, 2, 'a refused login is a deny');
  });

  test('discovery and JWKS are published at the issuer', async () => {
    const d = await fetchTls(node.url, node.ca, '/_palisade/auth/.well-known/openid-configuration');
    assert.equal(d.status, 200);
    const doc = JSON.parse(d.body) as { issuer: string; jwks_uri: string };
    assert.equal(doc.issuer, `${node.url}/_palisade/auth`);
    const j = await fetchTls(node.url, node.ca, '/_palisade/auth/.well-known/jwks.json');
    const keys = (JSON.parse(j.body) as { keys: Array<{ kty: string; crv: string; d?: string }> }).keys;
    assert.ok(keys.length >= 1);
    assert.equal(keys[0]?.crv, 'Ed25519');
    assert.equal(keys[0]?.d, undefined, 'no private key material');
  });

  test('malformed, oversized and non-JSON login requests are refused before any work', async () => {
    assert.equal((await post('/login', '{"username":')).status, 400);
    assert.equal((await post('/login', '["a"]')).status, 400);
    assert.equal((await post('/login', { username: 1, password: 2 })).status, 400);
    assert.equal((await post('/login', '{"__proto__":{"admin":true},"username":"a","password":"b"}')).status, 400);
    assert.equal((await post('/login', 'username=alice', { 'content-type': 'application/x-www-form-urlencoded' })).status, 400);
    assert.equal((await post('/login', { username: 'a', password: 'x'.repeat(20_000) })).status, 413);
    assert.equal((await fetchTls(node.url, node.ca, '/_palisade/auth/login')).status, 405);
    assert.equal((await fetchTls(node.url, node.ca, '/_palisade/auth/nope')).status, 404);
  });
});

describe('built-in tokens: refresh and revocation, end to end', () => {
  test('refresh rotates; a reused refresh token kills its family; disabling a user voids tokens at once', async () => {
    const dir = writeProject('name: users2\nidentity:\n  builtin: { enabled: true, mfa: optional }\nfunctions:\n  hello: { source: functions/hello.ts }\nroutes:\n  - { path: /private, function: hello, allow: { issuers: [builtin] } }\n', { 'functions/hello.ts': 'export default { async fetch(): Promise<Response> { return new Response("ok"); } };\n' });
    assert.equal(withStdin(['users', 'add', 'bob', dir, '--password-stdin'], PASSWORD).status, 0);
    const node = await startUp(dir);
    try {
      const post = (path: string, body: unknown) => fetchTls(node.url, node.ca, `/_palisade/auth${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      const login = JSON.parse((await post('/login', { username: 'bob', password: PASSWORD })).body) as { access_token: string; refresh_token: string };
      assert.deepEqual(decodeJwt(login.access_token).amr, ['pwd'], 'no second factor claimed without one');
      const second = await post('/refresh', { refresh_token: login.refresh_token });
      assert.equal(second.status, 200);
      const rotated = JSON.parse(second.body) as { access_token: string; refresh_token: string };
      assert.equal((await post('/refresh', { refresh_token: login.refresh_token })).status, 401, 'a spent refresh token is refused');
      assert.equal((await post('/refresh', { refresh_token: rotated.refresh_token })).status, 401, 'and its family is revoked');

      const fresh = JSON.parse((await post('/login', { username: 'bob', password: PASSWORD })).body) as { access_token: string };
      const call = () => fetchTls(node.url, node.ca, '/private', { headers: { authorization: `Bearer ${fresh.access_token}` } });
      assert.equal((await call()).status, 200);
      assert.equal(runCliSync(['users', 'disable', 'bob', dir]).status, 0);
      await new Promise((r) => setTimeout(r, 400));
      assert.equal((await call()).status, 401, 'a disabled user loses access at once');
      assert.equal((await post('/login', { username: 'bob', password: PASSWORD })).status, 401);
    } finally {
      await node.stop();
    }
  });

  test('palisade tokens revoke --jti, --user and --all take effect on the running node', async () => {
    const dir = writeProject('name: users4\nidentity:\n  builtin: { enabled: true, mfa: optional }\nfunctions:\n  hello: { source: functions/hello.ts }\nroutes:\n  - { path: /private, function: hello, allow: { issuers: [builtin] } }\n', { 'functions/hello.ts': 'export default { async fetch(): Promise<Response> { return new Response("ok"); } };\n' });
    for (const u of ['erin', 'frank']) assert.equal(withStdin(['users', 'add', u, dir, '--password-stdin'], PASSWORD).status, 0);
    const node = await startUp(dir);
    try {
      const login = async (username: string) => JSON.parse((await fetchTls(node.url, node.ca, '/_palisade/auth/login', { method: 'POST', body: JSON.stringify({ username, password: PASSWORD }), headers: { 'content-type': 'application/json' } })).body) as { access_token: string; refresh_token: string };
      const call = async (token: string) => (await fetchTls(node.url, node.ca, '/private', { headers: { authorization: `Bearer ${token}` } })).status;
      const settle = () => new Promise((r) => setTimeout(r, 400));
      const one = await login('erin');
      const two = await login('erin');
      assert.equal(await call(one.access_token), 200);
      const byJti = runCliSync(['tokens', 'revoke', dir, '--jti', String(decodeJwt(one.access_token).jti), '--json']);
      assert.equal(byJti.status, 0, byJti.stderr);
      await settle();
      assert.equal(await call(one.access_token), 401, 'the revoked jti is refused');
      assert.equal(await call(two.access_token), 200, 'another token of the same user is not');
      assert.equal(runCliSync(['tokens', 'revoke', dir, '--user', 'erin']).status, 0);
      await settle();
      assert.equal(await call(two.access_token), 401, 'every token of the user is refused');
      assert.equal((await fetchTls(node.url, node.ca, '/_palisade/auth/refresh', { method: 'POST', body: JSON.stringify({ refresh_token: two.refresh_token }), headers: { 'content-type': 'application/json' } })).status, 401, 'and so are its refresh tokens');
      const frank = await login('frank');
      assert.equal(await call(frank.access_token), 200);
      const all = runCliSync(['tokens', 'revoke', dir, '--all', '--json']);
      assert.equal(all.status, 0, all.stderr);
      assert.equal((JSON.parse(all.stdout) as { revoked: { target: string } }).revoked.target, 'all');
      await settle();
      assert.equal(await call(frank.access_token), 401, 'everything issued before is refused');
      // `iat` has whole seconds: tokens of the cut-off's own second are revoked too.
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(await call((await login('frank')).access_token), 200, 'new logins work');
      assert.equal(runCliSync(['tokens', 'revoke', dir]).status, 3, 'no target is invalid input');
      assert.equal(runCliSync(['tokens', 'revoke', dir, '--jti', 'x', '--all']).status, 3, 'two targets are invalid input');
      assert.equal(runCliSync(['tokens', 'revoke', dir, '--user', 'ghost']).status, 3);
      assert.match(runCliSync(['tokens', '--help']).stdout, /--jti/);
    } finally {
      await node.stop();
    }
  });

  test('users commands refuse bad input clearly', () => {
    const dir = writeProject('name: users3\nidentity:\n  builtin: { enabled: true }\nfunctions:\n  hello: { source: functions/hello.ts }\nroutes:\n  - { path: /private, function: hello, allow: { issuers: [builtin] } }\n', { 'functions/hello.ts': 'export default { async fetch(): Promise<Response> { return new Response("ok"); } };\n' });
    const weak = withStdin(['users', 'add', 'carol', dir, '--password-stdin'], 'short');
    assert.equal(weak.status, 3);
    assert.match(weak.stderr, /PAL_IDENTITY_INVALID_ACCOUNT: a password needs at least 12 characters/);
    assert.equal(runCliSync(['users', 'disable', 'ghost', dir]).status, 3);
    const noTty = runCliSync(['users', 'add', 'dave', dir]);
    assert.equal(noTty.status, 3);
    assert.match(noTty.stderr, /--password-stdin/);
  });
});
