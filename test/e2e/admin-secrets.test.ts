import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { searchAuditLog } from '../../src/audit/index.js';
import { currentTotp } from '../../src/identity/index.js';
import { addUser, copyProject, enrollTotp, fetchTls, repoRoot, startUp, type RunningCli } from '../helpers/cli.js';

const PASSWORD = 'a long and private passphrase';
// Distinctive values: any copy of them in a response, a log line or the audit db is found by a byte scan.
const VALUE_1 = 'first-VALUE-7d1c0a9e-never-echoed';
const VALUE_2 = 'second-VALUE-4be2f3aa-never-echoed';



// The secrets endpoints of the admin API on a real node (examples/shop: admins need a second factor).
describe('admin API: secrets (manageSecrets on secrets)', () => {
  let dir: string;
  let node: RunningCli;
  const totp: Record<string, string> = {};
  const bodies: string[] = [];

  before(async () => {
    dir = copyProject(join(repoRoot, 'examples', 'shop'));
    symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
    // A rotation function (no route) for one secret.
    writeFileSync(join(dir, 'functions', 'rotator.js'), `export default { async fetch(request) { const b = await request.json(); return b.step === 'create' ? Response.json({ value: 'made-by-rotator-' + crypto.randomUUID() }) : new Response(null, { status: 204 }); } };\n`);
    const yaml = readFileSync(join(dir, 'palisade.yaml'), 'utf8').replace('\nfunctions:\n', '\nfunctions:\n  rotator:\n    source: functions/rotator.js\n    segment: storefront\n');
    writeFileSync(join(dir, 'palisade.yaml'), `${yaml}\nsecrets:\n  rot-token: { rotation: { function: rotator, every: 1m } }\n`);
    addUser(dir, 'root', ['admin'], PASSWORD);
    addUser(dir, 'weak', ['admin'], PASSWORD);
    addUser(dir, 'alice', ['customer'], PASSWORD);
    for (const u of ['root', 'alice']) totp[u] = enrollTotp(dir, u);
    node = await startUp(dir);
  });
  after(async () => {
    await node.stop();
  });

  const call = async (path: string, token: string | undefined, method = 'GET', body?: unknown) => {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetchTls(node.url, node.ca, `/_palisade/admin${path}`, { method, headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
    bodies.push(r.body);
    return r;
  };
  const loginAs = async (username: string, withCode: boolean): Promise<string> => {
    const secret = totp[username];
    const body = { username, password: PASSWORD, ...(withCode && secret !== undefined ? { totp: currentTotp(secret, Date.now()) } : {}) };
    const r = await fetchTls(node.url, node.ca, '/_palisade/auth/login', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 200, r.body);
    return (JSON.parse(r.body) as { access_token: string }).access_token;
  };

  let root: string;

  test('a non-admin gets 403, a password-only admin the step-up 401, on every secrets endpoint', async () => {
    const alice = await loginAs('alice', true);
    const weak = await loginAs('weak', false);
    const tries: Array<[string, string, unknown]> = [
      ['/secrets', 'GET', undefined],
      ['/secrets/api-token/versions', 'GET', undefined],
      ['/secrets/api-token', 'PUT', { value: VALUE_1 }],
      ['/secrets/api-token/rotate', 'POST', { value: VALUE_1 }],
      ['/secrets/api-token/rotate', 'POST', {}],
      ['/secrets/api-token', 'DELETE', undefined],
      ['/secrets/api-token/restore', 'POST', {}],
    ];
    for (const [path, method, body] of tries) {
      const a = await call(path, alice, method, body);
      assert.equal(a.status, 403, `${method} ${path}`);
      const w = await call(path, weak, method, body);
      assert.equal(w.status, 401, `${method} ${path}`);
      assert.match(String(w.headers['www-authenticate']), /insufficient_user_authentication/);
      assert.equal((await call(path, undefined, method, body)).status, 401);
    }
  });

  test('an admin with a second factor sets, lists, rotates, deletes and restores; no response carries a value', async () => {
    root = await loginAs('root', true);
    const set = await call('/secrets/api-token', root, 'PUT', { value: VALUE_1 });
    assert.equal(set.status, 200, set.body);
    assert.equal(set.headers['cache-control'], 'no-store');
    const s = (JSON.parse(set.body) as { secret: { name: string; currentVersion: number; state: string } }).secret;
    assert.deepEqual([s.name, s.currentVersion, s.state], ['api-token', 1, 'active']);

    const list = await call('/secrets', root);
    assert.equal(list.status, 200, list.body);
    assert.deepEqual((JSON.parse(list.body) as { secrets: Array<{ name: string }> }).secrets.map((x) => x.name), ['api-token']);


    const rotated = await call('/secrets/api-token/rotate', root, 'POST', { value: VALUE_2 });
    assert.equal(rotated.status, 200, rotated.body);
    const versions = await call('/secrets/api-token/versions', root);
    const v = (JSON.parse(versions.body) as { secret: { currentVersion: number; versions: Array<{ version: number; stage: string }> } }).secret;
    assert.equal(v.currentVersion, 2);
    assert.deepEqual(v.versions.map((x) => [x.version, x.stage]), [[1, 'previous'], [2, 'current']]);

    // JSON can carry a lone surrogate (`"\ud800"`) that UTF-8 cannot: refused, never stored altered.
    for (const bad of ['abc\ud800', '\udc00xyz']) {
      const lone = await call('/secrets/api-token/rotate', root, 'POST', { value: bad });
      assert.equal(lone.status, 422, lone.body);
      assert.equal((JSON.parse(lone.body) as { code: string }).code, 'PAL_SECRETS_VALUE_INVALID');
    }
    assert.equal((JSON.parse((await call('/secrets/api-token/versions', root)).body) as { secret: { currentVersion: number } }).secret.currentVersion, 2, 'nothing was stored');

    const none = await call('/secrets/api-token/rotate', root, 'POST', {});
    assert.equal(none.status, 422, none.body);
    assert.equal((JSON.parse(none.body) as { code: string }).code, 'PAL_SECRETS_ROTATION_UNAVAILABLE');

    assert.equal((await call('/secrets/rot-token', root, 'PUT', { value: VALUE_1 })).status, 200);
    const now = await call('/secrets/rot-token/rotate', root, 'POST', {});
    assert.equal(now.status, 200, now.body);
    const n = JSON.parse(now.body) as { rotation: { ok: boolean; result: string }; secret: { currentVersion: number } };
    assert.deepEqual([n.rotation.ok, n.rotation.result, n.secret.currentVersion], [true, 'rotated', 2]);
    assert.doesNotMatch(now.body, /made-by-rotator-/);

    const del = await call('/secrets/api-token', root, 'DELETE');
    assert.equal(del.status, 200, del.body);
    assert.equal((JSON.parse(del.body) as { secret: { state: string } }).secret.state, 'deleted');
    assert.equal((await call('/secrets/api-token/rotate', root, 'POST', { value: VALUE_1 })).status, 409, 'a deleted secret is not rotated');
    const restored = await call('/secrets/api-token/restore', root, 'POST', {});
    assert.equal(restored.status, 200, restored.body);
    assert.equal((JSON.parse(restored.body) as { secret: { state: string } }).secret.state, 'active');
    assert.equal((await call('/secrets/nope/versions', root)).status, 404);
    assert.equal((await call('/secrets/Bad%20Name/versions', root)).status, 400);
  });

  test('bodies are closed and bounded; client input never causes a 5xx', async () => {
    const bad: Array<[string, string, unknown]> = [
      ['/secrets/x1', 'PUT', { value: VALUE_1, extra: 1 }],
      ['/secrets/x1', 'PUT', { value: 5 }],
      ['/secrets/x1', 'PUT', {}],
      ['/secrets/x1', 'PUT', { value: '' }],
      ['/secrets/x1', 'PUT', { value: 'a'.repeat(70_000) }],
      ['/secrets/x1', 'PUT', '{"value": '],
      ['/secrets/api-token/rotate', 'POST', { value: VALUE_1, step: 'create' }],
      ['/secrets/api-token/restore', 'POST', { value: VALUE_1 }],
    ];
    for (const [path, method, body] of bad) {
      const r = await call(path, root, method, body);
      assert.ok(r.status >= 400 && r.status < 500, `${method} ${path} ${JSON.stringify(body).slice(0, 40)} → ${r.status}`);
      assert.ok(!r.body.includes(VALUE_1), 'a refused value is not echoed');
    }
    assert.equal((await call('/secrets/x1', root, 'PUT')).status, 415);
  });

  test('each change is one audit event naming the HTTP principal; no value in the audit db, the log or any response', async () => {
    const events = searchAuditLog(join(dir, '.palisade'), {}).map((r) => r.event).filter((e) => e.action.startsWith('secret-'));
    const set = events.find((e) => e.action === 'secret-set' && e.outcome === 'allow');
    assert.ok(set !== undefined);
    assert.deepEqual([set.method, set.route, set.principal?.type, set.principal?.mfa, set.secret], ['PUT', '/_palisade/admin/secrets/:name', 'User', true, { name: 'api-token', version: 1 }]);
    assert.deepEqual(events.filter((e) => e.outcome === 'allow' && e.secret?.name === 'api-token').map((e) => e.action), ['secret-set', 'secret-rotate', 'secret-delete', 'secret-restore']);
    const manual = events.find((e) => e.secret?.name === 'rot-token' && e.rotation !== undefined);
    assert.deepEqual(manual && [manual.outcome, manual.rotation?.trigger, manual.rotation?.result], ['allow', 'manual', 'rotated']);
    assert.ok(!readFileSync(join(dir, '.palisade', 'audit.db')).includes('made-by-rotator-'));
    const files = ['audit.db', 'audit.db-wal'].map((f) => join(dir, '.palisade', f)).filter((f) => existsSync(f));
    assert.ok(files.length > 0);
    for (const f of files) {
      const raw = readFileSync(f);
      for (const value of [VALUE_1, VALUE_2]) assert.equal(raw.indexOf(Buffer.from(value)), -1, `${value} in ${f}`);
    }
    for (const value of [VALUE_1, VALUE_2]) {
      assert.ok(!node.stderr().includes(value), 'not in the operator log');
      assert.ok(!bodies.some((b) => b.includes(value)), 'not in any response');
    }
  });

  test('a custom forbid on manageSecrets denies an admin with a second factor', async () => {
    appendFileSync(join(dir, 'policies', 'shop.cedar'), '\n@id("ops:no-secrets-over-http")\nforbid (principal, action == Action::"manageSecrets", resource);\n');
    node.child.kill('SIGHUP');
    for (let i = 0; i < 100 && !node.stderr().includes('policies reloaded'); i++) await new Promise((res) => setTimeout(res, 50));
    const r = await call('/secrets', root);
    assert.equal(r.status, 403, r.body);
    assert.equal((await call('/secrets/api-token', root, 'PUT', { value: VALUE_1 })).status, 403);
    assert.equal((await call('/users', root)).status, 200, 'other actions are untouched');
  });
});
