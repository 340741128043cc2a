import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { currentTotp } from '../../src/identity/index.js';
import { addUser, copyProject, createApiKey, fetchTls, repoRoot, runCliSync, startUp, type RunningCli } from '../helpers/cli.js';

const PASSWORD = 'a long and private passphrase';



/** The operator log's decision line for a request, with the determining policy ids. */
async function decisionLine(node: RunningCli, requestId: string): Promise<{ status: number; reason: string; policyIds?: string }> {
  for (let i = 0; i < 20; i++) {
    const line = node.stderr().split('\n').find((l) => l.includes(requestId) && l.includes('"decision"'));
    if (line !== undefined) return JSON.parse(line) as { status: number; reason: string; policyIds?: string };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no decision record for ${requestId}`);
}

// The shop's own policies (palisade.yaml `allow`/`mfa` and policies/shop.cedar), on a real node.
describe('authorization by Cedar over https (examples/shop)', () => {
  let dir: string;
  let node: RunningCli;
  let customerKey: string;
  let adminKey: string;
  let noRoleKey: string;

  before(async () => {
    dir = copyProject(join(repoRoot, 'examples', 'shop'));
    // The shop's npm dependency (nanoid) resolves from the repository's node_modules.
    symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
    addUser(dir, 'root', ['admin'], PASSWORD);
    node = await startUp(dir);
    customerKey = createApiKey(dir, 'customer', ['customer']);
    adminKey = createApiKey(dir, 'admin', ['admin']);
    noRoleKey = createApiKey(dir, 'nobody', []);
  });
  after(async () => {
    await node.stop();
  });

  const call = (path: string, credential: string, method = 'GET') =>
    fetchTls(node.url, node.ca, path, { method, headers: { authorization: `Bearer ${credential}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) }, ...(method === 'POST' ? { body: '{}' } : {}) });
  const login = async (body: Record<string, string>) => {
    const r = await fetchTls(node.url, node.ca, '/_palisade/auth/login', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 200, r.body);
    return (JSON.parse(r.body) as { access_token: string }).access_token;
  };

  test('RBAC: a customer reads orders; the allowing policy is on the audit record', async () => {
    const r = await call('/api/orders', customerKey);
    assert.equal(r.status, 200, r.body);
    const d = await decisionLine(node, String(r.headers['x-request-id']));
    assert.equal(d.reason, 'allowed');
    assert.equal(d.policyIds, 'route:GET,POST /api/orders#allow.roles');
  });

  test('RBAC: a customer may not refund (403 problem+json), and a key with no role reaches nothing (default deny)', async () => {
    const refund = await call('/api/orders/o-1/refund', customerKey, 'POST');
    assert.equal(refund.status, 403);
    assert.match(String(refund.headers['content-type']), /^application\/problem\+json/);
    assert.equal((JSON.parse(refund.body) as { code: string }).code, 'PAL_GATEWAY_FORBIDDEN');
    assert.equal((await decisionLine(node, String(refund.headers['x-request-id']))).reason, 'policy-denied');
    for (const path of ['/api/orders', '/api/orders/o-1']) assert.equal((await call(path, noRoleKey)).status, 403, path);
  });

  test('an admin API key cannot refund: the route needs a second factor and a key cannot step up (403, the mfa forbid named)', async () => {
    const r = await call('/api/orders/o-1/refund', adminKey, 'POST');
    assert.equal(r.status, 403);
    assert.equal(r.headers['www-authenticate'], undefined);
    const d = await decisionLine(node, String(r.headers['x-request-id']));
    assert.equal(d.policyIds, 'role:admin#mfa route:POST /api/orders/:id/refund#mfa');
    // `roles.admin.mfa: required`: the key cannot even list orders.
    const list = await call('/api/orders', adminKey);
    assert.equal(list.status, 403);
    assert.equal((await decisionLine(node, String(list.headers['x-request-id']))).policyIds, 'role:admin#mfa');
  });

  test('step-up (RFC 9470): a password-only admin gets 401 insufficient_user_authentication; the same user with TOTP passes', async () => {
    const passwordOnly = await login({ username: 'root', password: PASSWORD });
    const first = await call('/api/orders/o-7/refund', passwordOnly, 'POST');
    assert.equal(first.status, 401, first.body);
    assert.match(String(first.headers['www-authenticate']), /^Bearer error="insufficient_user_authentication"/);
    assert.equal((JSON.parse(first.body) as { code: string }).code, 'PAL_GATEWAY_STEP_UP_REQUIRED');
    assert.equal((await decisionLine(node, String(first.headers['x-request-id']))).reason, 'mfa-required');
    // The shop declares `roles: { admin: { mfa: required } }`: even reading orders, which needs no
    // second factor for a customer, asks a password-only admin to step up.
    const list = await call('/api/orders', passwordOnly);
    assert.equal(list.status, 401, list.body);
    assert.match(String(list.headers['www-authenticate']), /^Bearer error="insufficient_user_authentication"/);
    const listed = await decisionLine(node, String(list.headers['x-request-id']));
    assert.deepEqual([listed.reason, listed.policyIds], ['mfa-required', 'role:admin#mfa']);

    const enroll = runCliSync(['users', 'mfa', 'enroll', 'root', dir, '--json']);
    assert.equal(enroll.status, 0, enroll.stderr);
    const secret = (JSON.parse(enroll.stdout) as { secret: string }).secret;
    const stepped = await login({ username: 'root', password: PASSWORD, totp: currentTotp(secret, Date.now()) });
    const second = await call('/api/orders/o-7/refund', stepped, 'POST');
    assert.equal(second.status, 200, second.body);
    assert.deepEqual(JSON.parse(second.body), { id: 'o-7', status: 'refunded' });
    assert.equal((await decisionLine(node, String(second.headers['x-request-id']))).policyIds, 'route:POST /api/orders/:id/refund#allow.roles');
  });
});

describe('policy reload on SIGHUP (examples/shop)', () => {
  let dir: string;
  let node: RunningCli;
  let customerKey: string;

  before(async () => {
    dir = copyProject(join(repoRoot, 'examples', 'shop'));
    symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
    node = await startUp(dir);
    customerKey = createApiKey(dir, 'customer', ['customer']);
  });
  after(async () => {
    await node.stop();
  });

  const orders = () => fetchTls(node.url, node.ca, '/api/orders/o-1', { headers: { authorization: `Bearer ${customerKey}` } });
  /** Sends SIGHUP and waits for the node's answer in its log (the n-th reload line). */
  const hup = async (n: number): Promise<string> => {
    node.child.kill('SIGHUP');
    for (let i = 0; i < 100; i++) {
      const lines = node.stderr().split('\n').filter((l) => l.includes('policies reloaded') || l.includes('policy reload refused'));
      if (lines.length >= n) return lines[n - 1] as string;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the node did not answer SIGHUP');
  };

  test('removing a grant from the manifest removes the access without a restart; an invalid policy file leaves the old set serving', async () => {
    // Allowed: the function answers (no such order here, 404); refused: the gateway's 403.
    assert.equal((await orders()).status, 404);
    const manifest = join(dir, 'palisade.yaml');
    const original = readFileSync(manifest, 'utf8');
    const pid = node.child.pid;
    // The customer loses the order page.
    writeFileSync(manifest, original.replace('{ path: /api/orders/:id, methods: [GET], function: orders, allow: { roles: [customer, admin] } }', '{ path: /api/orders/:id, methods: [GET], function: orders, allow: { roles: [admin] } }'));
    assert.match(await hup(1), /policies reloaded/);
    assert.equal((await orders()).status, 403);
    // A custom policy that does not type-check: refused, and the current set keeps deciding.
    appendFileSync(join(dir, 'policies', 'shop.cedar'), '\npermit (principal, action, resource) when { principal.noSuchAttribute == 1 };\n');
    writeFileSync(manifest, original);
    assert.match(await hup(2), /policy reload refused/);
    assert.equal((await orders()).status, 403, 'the refused set did not replace the one serving');
    // Fixed: the grant is back.
    writeFileSync(join(dir, 'policies', 'shop.cedar'), readFileSync(join(repoRoot, 'examples', 'shop', 'policies', 'shop.cedar'), 'utf8'));
    assert.match(await hup(3), /policies reloaded/);
    assert.equal((await orders()).status, 404);
    assert.equal(node.child.pid, pid, 'no restart');
  });
});
