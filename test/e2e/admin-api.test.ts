import assert from 'node:assert/strict';
import { appendFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { currentTotp } from '../../src/identity/index.js';
import { addUser, copyProject, createApiKey, enrollTotp, fetchTls, repoRoot, startUp, type RunningCli } from '../helpers/cli.js';

const PASSWORD = 'a long and private passphrase';




interface DecisionLine {
  status: number;
  reason: string;
  action: string;
  route: string;
  policyIds?: string;
}

// The admin API of a real node (examples/shop: `roles.admin.mfa: required`), decided by Cedar.
describe('admin API (/_palisade/admin) over https', () => {
  let dir: string;
  let node: RunningCli;
  let customerKey: string;
  let adminKey: string;
  const secrets: Record<string, string> = {};

  before(async () => {
    dir = copyProject(join(repoRoot, 'examples', 'shop'));
    symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
    addUser(dir, 'root', ['admin'], PASSWORD);
    addUser(dir, 'weak', ['admin'], PASSWORD);
    addUser(dir, 'alice', ['customer'], PASSWORD);
    addUser(dir, 'mallory', ['Admin', 'admins', 'admin.', 'administrator'], PASSWORD);
    for (const u of ['root', 'alice', 'mallory']) secrets[u] = enrollTotp(dir, u);
    customerKey = createApiKey(dir, 'customer', ['customer']);
    adminKey = createApiKey(dir, 'robot', ['admin']);
    node = await startUp(dir);
  });
  after(async () => {
    await node.stop();
  });

  const call = (path: string, credential?: string, method = 'GET') => fetchTls(node.url, node.ca, path, { method, headers: credential === undefined ? {} : { authorization: `Bearer ${credential}` } });
  const loginAs = async (username: string, withCode: boolean): Promise<string> => {
    const secret = secrets[username];
    const body = { username, password: PASSWORD, ...(withCode && secret !== undefined ? { totp: currentTotp(secret, Date.now()) } : {}) };
    const r = await fetchTls(node.url, node.ca, '/_palisade/auth/login', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 200, r.body);
    return (JSON.parse(r.body) as { access_token: string }).access_token;
  };
  const decision = async (r: { headers: Record<string, unknown> }): Promise<DecisionLine> => {
    const id = String(r.headers['x-request-id']);
    for (let i = 0; i < 40; i++) {
      const line = node.stderr().split('\n').find((l) => l.includes(id) && l.includes('"decision"'));
      if (line !== undefined) return JSON.parse(line) as DecisionLine;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`no decision record for ${id}`);
  };

  let rootToken: string;

  test('an admin who signed in with TOTP lists users (metadata only), reads the audit head and sees its actions', async () => {
    rootToken = await loginAs('root', true);
    const users = await call('/_palisade/admin/users', rootToken);
    assert.equal(users.status, 200, users.body);
    assert.equal(users.headers['cache-control'], 'no-store');
    const list = (JSON.parse(users.body) as { users: Array<Record<string, unknown>> }).users;
    assert.deepEqual(list.map((u) => u.username).sort(), ['alice', 'mallory', 'root', 'weak']);
    for (const u of list) assert.deepEqual(Object.keys(u).sort(), ['createdAt', 'disabled', 'id', 'locked', 'mfa', 'roles', 'username']);
    assert.doesNotMatch(users.body, /argon|\$scrypt|totp|secret|hash/i);
    const d = await decision(users);
    assert.deepEqual([d.status, d.action, d.route, d.policyIds], [200, 'manageUsers', '/_palisade/admin/users', 'admin:actions#role.admin']);

    const head = await call('/_palisade/admin/audit/head', rootToken);
    assert.equal(head.status, 200, head.body);
    const h = JSON.parse(head.body) as { seq: number; head: string };
    assert.ok(h.seq >= 2, 'the earlier decisions are in the chain');
    assert.match(h.head, /^[0-9a-f]{64}$/);
    assert.equal((await decision(head)).action, 'readAudit');

    const who = await call('/_palisade/admin/whoami', rootToken);
    assert.equal(who.status, 200, who.body);
    const w = JSON.parse(who.body) as { principal: { roles: string[]; mfa: boolean }; allowedActions: string[] };
    assert.deepEqual(w.principal.roles, ['admin']);
    assert.equal(w.principal.mfa, true);
    assert.deepEqual(w.allowedActions, ['manageUsers', 'manageApiKeys', 'readAudit', 'manageSecrets', 'rotateKeys', 'deploy']);
  });

  test('no token, or a bad one: 401 with a challenge, audited', async () => {
    const none = await call('/_palisade/admin/users');
    assert.equal(none.status, 401);
    assert.match(String(none.headers['www-authenticate']), /^Bearer realm="palisade"/);
    assert.match(String(none.headers['content-type']), /^application\/problem\+json/);
    assert.equal((await decision(none)).reason, 'no-credentials');
    assert.equal((await call('/_palisade/admin/users', `${rootToken}x`)).status, 401);
  });

  test('a non-admin is refused with 403 and the refusal is audited (whatever its factors)', async () => {
    const alice = await loginAs('alice', true);
    for (const [path, action] of [['/_palisade/admin/users', 'manageUsers'], ['/_palisade/admin/audit/head', 'readAudit'], ['/_palisade/admin/whoami', 'manageUsers']] as const) {
      const r = await call(path, alice);
      assert.equal(r.status, 403, path);
      assert.equal((JSON.parse(r.body) as { code: string }).code, 'PAL_GATEWAY_FORBIDDEN');
      const d = await decision(r);
      assert.deepEqual([d.reason, d.action], ['policy-denied', action], path);
    }
    assert.equal((await call('/_palisade/admin/users', customerKey)).status, 403);
  });

  test('a password-only admin gets the RFC 9470 step-up 401; an admin API key, which cannot step up, 403', async () => {
    const weak = await loginAs('weak', false);
    const r = await call('/_palisade/admin/users', weak);
    assert.equal(r.status, 401, r.body);
    assert.match(String(r.headers['www-authenticate']), /^Bearer error="insufficient_user_authentication"/);
    assert.equal((JSON.parse(r.body) as { code: string }).code, 'PAL_GATEWAY_STEP_UP_REQUIRED');
    const d = await decision(r);
    assert.deepEqual([d.reason, d.policyIds], ['mfa-required', 'admin:actions#mfa role:admin#mfa']);
    const key = await call('/_palisade/admin/users', adminKey);
    assert.equal(key.status, 403);
    assert.equal(key.headers['www-authenticate'], undefined);
  });

  test('look-alikes of the admin role pass nothing, even with a second factor', async () => {
    const mallory = await loginAs('mallory', true);
    for (const path of ['/_palisade/admin/users', '/_palisade/admin/whoami', '/_palisade/admin/audit/head']) assert.equal((await call(path, mallory)).status, 403, path);
  });

  test('a custom forbid on an admin action denies it to an admin with TOTP (after SIGHUP), and names itself', async () => {
    appendFileSync(join(dir, 'policies', 'shop.cedar'), '\n@id("ops:users-read-only-here")\nforbid (principal, action == Action::"manageUsers", resource);\n');
    node.child.kill('SIGHUP');
    for (let i = 0; i < 100 && !node.stderr().includes('policies reloaded'); i++) await new Promise((res) => setTimeout(res, 50));
    assert.match(node.stderr(), /policies reloaded/);
    const r = await call('/_palisade/admin/users', rootToken);
    assert.equal(r.status, 403, r.body);
    assert.equal((await decision(r)).policyIds, 'ops:users-read-only-here');
    assert.equal((await call('/_palisade/admin/audit/head', rootToken)).status, 200, 'other actions are untouched');
    const who = await call('/_palisade/admin/whoami', rootToken);
    assert.deepEqual((JSON.parse(who.body) as { allowedActions: string[] }).allowedActions, ['manageApiKeys', 'readAudit', 'manageSecrets', 'rotateKeys', 'deploy']);
  });

  test('client input never causes a 5xx under the prefix', async () => {
    const tries: Array<[string, string]> = [
      ['/_palisade/admin/users?x=%00', 'GET'],
      ['/_palisade/admin/nope', 'GET'],
      ['/_palisade/admin/users', 'POST'],
      ['/_palisade/admin/users', 'DELETE'],
      ['/_palisade/admin', 'GET'],
      ['/_palisade/admin/audit/head/x', 'GET'],
    ];
    for (const [path, method] of tries) {
      const r = await call(path, rootToken, method);
      assert.ok(r.status >= 200 && r.status < 500, `${method} ${path} → ${r.status}`);
    }
  });
});
