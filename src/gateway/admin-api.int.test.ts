import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { silentLogger, systemClock, type AuditEvent, type Principal } from '../kernel/index.js';
import type { RouteSpec } from '../manifest/index.js';
import { createAdminApi, type AdminEndpoint, type AdminEndpointRequest } from './admin-api.js';
import { createInsecureLoopbackHttpGateway, type Gateway } from './create-gateway.js';
import type { AdminActionName, AuthenticationResult, AuthorizationDecision, Authorizer } from './ports.js';

// The admin API frame with a small authenticator and authorizer (ports of this capability); the
// Cedar decisions themselves run end to end in test/e2e/admin-api.test.ts.
const principals: Record<string, Principal> = {
  admin: { type: 'User', id: 'u-admin', issuer: 'test', roles: ['admin'], mfa: true, authMethod: 'builtin' },
  weak: { type: 'User', id: 'u-weak', issuer: 'test', roles: ['admin'], mfa: false, authMethod: 'builtin' },
  nobody: { type: 'User', id: 'u-nobody', issuer: 'test', roles: [], mfa: true, authMethod: 'builtin' },
  broken: { type: 'User', id: 'u-broken', issuer: 'test', roles: ['admin'], mfa: true, authMethod: 'builtin' },
};
const authorizer: Authorizer = {
  authorize: (): AuthorizationDecision => ({ effect: 'deny', reason: 'no-permit', policyIds: [], errors: [] }),
  authorizeAdmin: (p, action: AdminActionName): AuthorizationDecision => {
    if (p.id === 'u-broken') throw new Error('engine down');
    if (!p.roles.includes('admin')) return { effect: 'deny', reason: 'no-permit', policyIds: [], errors: [] };
    if (action === 'deploy') return { effect: 'deny', reason: 'forbid', policyIds: ['no-deploy'], errors: [] };
    if (!p.mfa) return { effect: 'deny', reason: 'mfa-required', policyIds: ['admin:actions#mfa'], errors: [] };
    return { effect: 'allow', reason: 'permit', policyIds: ['admin:actions#role.admin'], errors: [] };
  },
};
const seen: AdminEndpointRequest[] = [];
const endpoints: AdminEndpoint[] = [
  { method: 'GET', path: '/things', action: 'manageUsers', resource: 'things', handle: async () => ({ status: 200, body: { things: [] } }) },
  {
    method: 'POST',
    path: '/things/:name',
    action: 'manageUsers',
    resource: 'things',
    body: { type: 'object', additionalProperties: false, required: ['size'], properties: { size: { type: 'integer', minimum: 0 } } },
    handle: async (req) => {
      seen.push(req);
      return { status: 201, body: { name: req.params.name, size: (req.json as { size: number }).size } };
    },
  },
  { method: 'GET', path: '/any', action: ['deploy', 'readAudit'], resource: 'node', handle: async (req) => ({ status: 200, body: { allowed: req.allowedActions } }) },
  { method: 'GET', path: '/deploy', action: 'deploy', resource: 'deployment', handle: async () => ({ status: 200, body: {} }) },
];
const admin = createAdminApi(endpoints, async ({ headers }): Promise<AuthenticationResult> => {
  const m = /^Bearer (\w+)$/.exec(headers.authorization ?? '');
  const p = m === null ? undefined : principals[m[1] as string];
  return p === undefined ? { ok: false, reason: m === null ? 'no-credentials' : 'bad-signature', challenge: 'Bearer realm="palisade"' } : { ok: true, principal: p };
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(port: number, path: string, options: { method?: string; token?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }), ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers };
    const req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('admin API frame', () => {
  const events: AuditEvent[] = [];
  let gateway: Gateway;
  let port: number;
  before(async () => {
    const routes: RouteSpec[] = [{ index: 0, path: '/x', methods: ['GET'], function: 'x', public: true, maxBodyBytes: 64, auth: [] }];
    gateway = createInsecureLoopbackHttpGateway(
      { host: '127.0.0.1', port: 0, routes, limits: { maxHeaderBytes: 8192, headersTimeoutMs: 2000, requestTimeoutMs: 5000 } },
      { invoker: { invoke: async () => ({ status: 200, headers: [], body: Buffer.from('x') }) }, authenticator: { authenticate: async () => ({ ok: false, reason: 'no-credentials', challenge: 'Bearer' }) }, authorizer, audit: { append: async (e) => void events.push(e) }, logger: silentLogger, clock: systemClock, admin },
    );
    port = (await gateway.listen()).port;
  });
  after(async () => {
    await gateway.close();
  });
  const lastEvent = () => events.at(-1) as AuditEvent;
  const problem = (r: Reply) => {
    assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
    return JSON.parse(r.body) as { code: string; errors?: Array<{ pointer: string }> };
  };

  test('no credentials: 401 with a challenge, for known and unknown paths alike (no endpoint enumeration)', async () => {
    for (const path of ['/_palisade/admin/things', '/_palisade/admin/nope', '/_palisade/admin']) {
      const r = await send(port, path);
      assert.equal(r.status, 401, path);
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="palisade"');
      assert.equal(problem(r).code, 'PAL_GATEWAY_UNAUTHENTICATED');
      assert.equal(lastEvent().action, 'admin');
    }
    assert.equal((await send(port, '/_palisade/admin/things', { token: 'forged' })).status, 401);
    assert.equal(lastEvent().authFailure, 'bad-signature');
  });

  test('allowed: the handler answers, the decision is audited with the operator action and the endpoint', async () => {
    const r = await send(port, '/_palisade/admin/things', { token: 'admin' });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.deepEqual(JSON.parse(r.body), { things: [] });
    const e = lastEvent();
    assert.deepEqual([e.action, e.outcome, e.reason, e.route, e.policyIds, e.principal?.id], ['manageUsers', 'allow', 'allowed', '/_palisade/admin/things', ['admin:actions#role.admin'], 'u-admin']);
  });

  test('not allowed: 403; a deny a second factor would lift: 401 step-up; an engine failure: 403 engine-error', async () => {
    const r = await send(port, '/_palisade/admin/things', { token: 'nobody' });
    assert.equal(r.status, 403);
    assert.equal(problem(r).code, 'PAL_GATEWAY_FORBIDDEN');
    assert.deepEqual([lastEvent().action, lastEvent().outcome, lastEvent().reason], ['manageUsers', 'deny', 'policy-denied']);
    const weak = await send(port, '/_palisade/admin/things', { token: 'weak' });
    assert.equal(weak.status, 401);
    assert.match(String(weak.headers['www-authenticate']), /^Bearer error="insufficient_user_authentication"/);
    assert.equal(problem(weak).code, 'PAL_GATEWAY_STEP_UP_REQUIRED');
    assert.deepEqual([lastEvent().reason, lastEvent().policyIds], ['mfa-required', ['admin:actions#mfa']]);
    const broken = await send(port, '/_palisade/admin/things', { token: 'broken' });
    assert.equal(broken.status, 403);
    assert.equal(lastEvent().policyIds?.length, 0);
  });

  test('an endpoint accepting any of several actions: one allow suffices and the handler learns which', async () => {
    const r = await send(port, '/_palisade/admin/any', { token: 'admin' });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { allowed: ['readAudit'] });
    assert.equal(lastEvent().action, 'readAudit');
    assert.equal((await send(port, '/_palisade/admin/deploy', { token: 'admin' })).status, 403);
    assert.deepEqual(lastEvent().policyIds, ['no-deploy']);
  });

  test('after authorization: 404 for no endpoint, 405 with allow for a wrong method', async () => {
    assert.equal((await send(port, '/_palisade/admin/nope', { token: 'admin' })).status, 404);
    const wrong = await send(port, '/_palisade/admin/things', { token: 'admin', method: 'DELETE' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, 'GET');
  });

  test('bodies: validated against the endpoint schema before the handler; every bad body is a 4xx problem', async () => {
    const post = (body: string, headers: Record<string, string> = {}, token = 'admin') => send(port, '/_palisade/admin/things/t1', { method: 'POST', token, body, headers });
    const ok = await post('{"size":3}');
    assert.equal(ok.status, 201, ok.body);
    assert.deepEqual(JSON.parse(ok.body), { name: 't1', size: 3 });
    const before = seen.length;
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ['{"size":-1}', {}, 422, 'PAL_GATEWAY_INVALID_BODY'],
      ['{"size":1,"extra":true}', {}, 422, 'PAL_GATEWAY_INVALID_BODY'],
      ['{"size":', {}, 400, 'PAL_GATEWAY_MALFORMED_BODY'],
      ['{"__proto__":{"size":1},"size":1}', {}, 400, 'PAL_GATEWAY_MALFORMED_BODY'],
      ['[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]', {}, 400, 'PAL_GATEWAY_MALFORMED_BODY'],
      ['', {}, 400, 'PAL_GATEWAY_MALFORMED_BODY'],
      ['size=1', { 'content-type': 'application/x-www-form-urlencoded' }, 415, 'PAL_GATEWAY_UNSUPPORTED_MEDIA_TYPE'],
      ['{"size":1}', { 'content-encoding': 'gzip' }, 415, 'PAL_GATEWAY_UNSUPPORTED_MEDIA_TYPE'],
      [`{"size":1,"pad":"${'x'.repeat(70_000)}"}`, {}, 413, 'PAL_GATEWAY_BODY_TOO_LARGE'],
      [Buffer.from([0x7b, 0xff, 0x7d]).toString('latin1'), {}, 400, 'PAL_GATEWAY_MALFORMED_BODY'],
    ];
    for (const [body, headers, status, code] of cases) {
      const r = await post(body, headers);
      assert.equal(r.status, status, `${body.slice(0, 40)} → ${r.body}`);
      assert.equal(problem(r).code, code);
    }
    assert.equal(seen.length, before, 'no bad body reached the handler');
    // A caller who may not act never gets its body read, let alone validated.
    assert.equal((await post('{"size":', {}, 'nobody')).status, 403);
    // A GET endpoint takes no body.
    const getBody = await send(port, '/_palisade/admin/things', { token: 'admin', method: 'GET', headers: { 'content-length': '2' }, body: '{}' });
    assert.equal(getBody.status, 400);
  });

  test('path tricks under the prefix are refused before anything else', async () => {
    for (const path of ['/_palisade/admin/../admin/things', '/_palisade/admin//things', '/_palisade/admin/%2fthings']) {
      const r = await send(port, path, { token: 'admin' });
      assert.equal(r.status, 400, path);
    }
  });

  test('an ambiguous or unsafe endpoint list is refused at start', () => {
    const auth = async () => ({ ok: false as const, reason: 'no-credentials' as const, challenge: '' });
    const h = async () => ({ status: 200 as const, body: {} });
    assert.throws(() => createAdminApi([{ method: 'POST', path: '/x', action: 'deploy', resource: 'd', handle: h }], auth), /needs a body schema/);
    assert.throws(() => createAdminApi([{ method: 'GET', path: '/x/:a', action: 'deploy', resource: 'd', handle: h }, { method: 'GET', path: '/x/:b', action: 'deploy', resource: 'd', handle: h }], auth), /same method and path/);
    assert.throws(() => createAdminApi([{ method: 'GET', path: '/x', action: 'root' as AdminActionName, resource: 'd', handle: h }], auth), /unknown operator action/);
    assert.throws(() => createAdminApi([{ method: 'GET', path: '/X/../y', action: 'deploy', resource: 'd', handle: h }], auth), /segments/);
  });
});
