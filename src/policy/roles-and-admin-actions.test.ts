import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RouteSpec } from '../manifest/index.js';
import { adminActions, createPolicyAuthorizer } from './create-policy-authorizer.js';
import { generateManifestPolicies } from './generate-policies.js';
import { FACTS, manifestFrom, SHOP, user } from './policy-test-fixtures.test-support.js';

const ROLES = `roles:
  admin: { mfa: required, description: operators }
  customer: { description: buyers }
`;
const withRoles = manifestFrom(`${SHOP}${ROLES}`);
const authorizer = createPolicyAuthorizer(withRoles);
const route = (path: string): RouteSpec => {
  const r = withRoles.routes.find((x) => x.path === path);
  if (r === undefined) throw new Error(path);
  return r;
};
const ADMIN_FACTS = { clientIp: FACTS.clientIp, time: FACTS.time } as const;

describe('roles with `mfa: required`', () => {
  test('generates one forbid per such role, with its id and the manifest line as origin', () => {
    const policies = generateManifestPolicies(withRoles);
    const p = policies.find((x) => x.id === 'role:admin#mfa');
    assert.ok(p !== undefined);
    assert.equal(typeof p.policy === 'object' && p.policy.effect, 'forbid');
    const line = `${SHOP}${ROLES}`.split('\n').findIndex((l) => l.startsWith('  admin:')) + 1;
    assert.deepEqual(p.origin, { file: 'palisade.yaml', line });
    assert.equal(typeof p.policy === 'object' && p.policy.annotations?.origin, `palisade.yaml:${line}`);
    assert.equal(policies.find((x) => x.id === 'role:customer#mfa'), undefined, 'an optional role generates nothing');
  });

  test('a password-only admin gets mfa-required on a route that needs no mfa itself; with a second factor allowed', () => {
    const d = authorizer.authorizeRoute(user('u-1', ['admin']), route('/admin'), FACTS);
    assert.deepEqual(d, { effect: 'deny', reason: 'mfa-required', policyIds: ['role:admin#mfa'], errors: [] });
    assert.equal(authorizer.authorizeRoute(user('u-1', ['admin'], { mfa: true }), route('/admin'), FACTS).effect, 'allow');
  });

  test('the role forbid binds a principal that also holds other roles (forbid beats permit)', () => {
    const d = authorizer.authorizeRoute(user('u-1', ['customer', 'admin']), route('/orders'), FACTS);
    assert.equal(d.effect, 'deny');
    assert.equal(d.reason, 'mfa-required');
  });

  test('principals outside the role are untouched; an admin API key is refused outright (it cannot step up)', () => {
    assert.equal(authorizer.authorizeRoute(user('u-1', ['customer']), route('/orders'), FACTS).effect, 'allow');
    const key = user('apikey:k9', ['admin'], { type: 'ServiceAccount', authMethod: 'api-key', issuer: 'urn:palisade:api-keys' });
    assert.deepEqual(authorizer.authorizeRoute(key, route('/admin'), FACTS), { effect: 'deny', reason: 'forbid', policyIds: ['role:admin#mfa'], errors: [] });
  });

  test('without the roles section the same admin passes with a password (the control is the section)', () => {
    const plain = createPolicyAuthorizer(manifestFrom(SHOP));
    assert.equal(plain.authorizeRoute(user('u-1', ['admin']), route('/admin'), FACTS).effect, 'allow');
  });
});

describe('operator actions', () => {
  test('every operator action: an admin with a second factor is allowed by the generated permit', () => {
    for (const action of adminActions) {
      const d = authorizer.authorizeAdmin(user('u-1', ['admin'], { mfa: true }), action, 'users', ADMIN_FACTS);
      assert.deepEqual(d, { effect: 'allow', reason: 'permit', policyIds: ['admin:actions#role.admin'], errors: [] }, action);
    }
  });

  test('a password-only admin is asked to step up, even without a roles section', () => {
    const plain = createPolicyAuthorizer(manifestFrom(SHOP));
    const d = plain.authorizeAdmin(user('u-1', ['admin']), 'readAudit', 'audit', ADMIN_FACTS);
    assert.deepEqual(d, { effect: 'deny', reason: 'mfa-required', policyIds: ['admin:actions#mfa'], errors: [] });
  });

  test('a non-admin is refused whatever its factors, with no step-up', () => {
    for (const roles of [[], ['customer'], ['ops']]) {
      const d = authorizer.authorizeAdmin(user('u-1', roles, { mfa: true }), 'manageUsers', 'users', ADMIN_FACTS);
      assert.deepEqual(d, { effect: 'deny', reason: 'no-permit', policyIds: [], errors: [] }, roles.join());
      assert.notEqual(authorizer.authorizeAdmin(user('u-1', roles), 'manageUsers', 'users', ADMIN_FACTS).reason, 'mfa-required');
    }
  });

  test('look-alikes of `admin` are other roles', () => {
    for (const role of ['Admin', 'ADMIN', 'admin ', ' admin', 'admin\u200b', '\u0430dmin', 'ａｄｍｉｎ', 'admin\u0000', '\u202eadmin', 'admins', 'admin" || true']) {
      const d = authorizer.authorizeAdmin(user('u-1', [role], { mfa: true }), 'manageUsers', 'users', ADMIN_FACTS);
      assert.equal(d.effect, 'deny', JSON.stringify(role));
    }
  });

  test('a custom forbid on one action denies it for an admin with a second factor, and names itself', () => {
    const a = createPolicyAuthorizer(manifestFrom(`${SHOP}policies: [p.cedar]\n`, { 'p.cedar': '@id("ops:no-deploy") forbid(principal, action == Action::"deploy", resource);' }));
    const admin = user('u-1', ['admin'], { mfa: true });
    assert.deepEqual(a.authorizeAdmin(admin, 'deploy', 'deployment', ADMIN_FACTS), { effect: 'deny', reason: 'forbid', policyIds: ['ops:no-deploy'], errors: [] });
    assert.equal(a.authorizeAdmin(admin, 'readAudit', 'audit', ADMIN_FACTS).effect, 'allow');
  });

  test('a custom permit can grant one action to another role (with a second factor)', () => {
    const a = createPolicyAuthorizer(manifestFrom(`${SHOP}policies: [p.cedar]\n`, { 'p.cedar': '@id("auditors") permit(principal in Role::"auditor", action == Action::"readAudit", resource == AdminResource::"audit");' }));
    assert.equal(a.authorizeAdmin(user('u-2', ['auditor'], { mfa: true }), 'readAudit', 'audit', ADMIN_FACTS).effect, 'allow');
    assert.equal(a.authorizeAdmin(user('u-2', ['auditor'], { mfa: true }), 'manageUsers', 'users', ADMIN_FACTS).effect, 'deny');
    assert.equal(a.authorizeAdmin(user('u-2', ['auditor']), 'readAudit', 'audit', ADMIN_FACTS).reason, 'mfa-required');
  });

  test('route permits never grant an operator action (invoke is another action)', () => {
    const a = createPolicyAuthorizer(manifestFrom(`${SHOP}policies: [p.cedar]\n`, { 'p.cedar': '@id("all-routes") permit(principal, action == Action::"invoke", resource);' }));
    assert.equal(a.authorizeAdmin(user('u-1', ['customer'], { mfa: true }), 'manageUsers', 'users', ADMIN_FACTS).effect, 'deny');
  });
});

describe('prepared route decisions (the hot path)', () => {
  test('one caller key never answers for another: roles, ids, issuers and types that differ by a separator', () => {
    const a = createPolicyAuthorizer(manifestFrom(SHOP));
    const orders = route('/orders');
    assert.equal(a.authorizeRoute(user('u-1', ['customer']), orders, FACTS).effect, 'allow');
    assert.equal(a.authorizeRoute(user('u-1', []), orders, FACTS).effect, 'deny', 'the same user without the role');
    assert.equal(a.authorizeRoute(user('u-1', ['customer|']), orders, FACTS).effect, 'deny');
    assert.equal(a.authorizeRoute(user('u-1|1:customer', []), orders, FACTS).effect, 'deny', 'a separator inside the id');
    assert.equal(a.authorizeRoute(user('u-42', []), route('/mine'), FACTS).effect, 'allow');
    assert.equal(a.authorizeRoute(user('u-42', [], { issuer: 'https://other.example', authMethod: 'oidc' }), route('/mine'), FACTS).effect, 'deny', 'another issuer');
    assert.equal(a.authorizeRoute(user('u-42', [], { type: 'ServiceAccount', authMethod: 'mtls' }), route('/mine'), FACTS).effect, 'deny', 'another method');
  });

  test('the context still decides: the same caller and route with different ip, time, risk and mfa', () => {
    const a = createPolicyAuthorizer(manifestFrom(`${SHOP}policies: [p.cedar]\n`, { 'p.cedar': '@id("office") permit(principal in Role::"ops", action == Action::"invoke", resource == Route::"GET /admin") when { context.ip.isInRange(ip("10.0.0.0/8")) && context.risk < 50 };' }));
    const ops = user('u-5', ['ops']);
    const admin = route('/admin');
    const answers = [
      a.authorizeRoute(ops, admin, { ...FACTS, clientIp: '10.1.1.1' }).effect,
      a.authorizeRoute(ops, admin, { ...FACTS, clientIp: '192.168.1.1' }).effect,
      a.authorizeRoute(ops, admin, { ...FACTS, clientIp: '10.1.1.1', risk: 70 }).effect,
      a.authorizeRoute(ops, admin, { ...FACTS, clientIp: '10.1.1.1' }).effect,
    ];
    assert.deepEqual(answers, ['allow', 'deny', 'deny', 'allow']);
    const refund = route('/refund');
    assert.equal(a.authorizeRoute(user('u-9', ['admin']), refund, FACTS).reason, 'mfa-required');
    assert.equal(a.authorizeRoute(user('u-9', ['admin'], { mfa: true }), refund, FACTS).effect, 'allow');
    assert.equal(a.authorizeRoute(user('u-9', ['admin']), refund, FACTS).reason, 'mfa-required', 'the allowed decision with mfa is not reused without');
  });

  test('memo off and memo on agree on the same sequence of requests', () => {
    const on = createPolicyAuthorizer(manifestFrom(SHOP));
    const off = createPolicyAuthorizer(manifestFrom(SHOP), { memoSize: 0 });
    for (const r of ['/orders', '/admin', '/refund', '/mine', '/keys']) {
      for (const p of [user('u-1', ['customer']), user('u-42', []), user('u-9', ['admin']), user('u-9', ['admin'], { mfa: true }), user('apikey:k1', [], { type: 'ServiceAccount', authMethod: 'api-key', issuer: 'urn:palisade:api-keys' })]) {
        for (let i = 0; i < 2; i++) assert.deepEqual(on.authorizeRoute(p, route(r), FACTS), off.authorizeRoute(p, route(r), FACTS), `${r} ${p.id}`);
      }
    }
  });
});

describe('operator actions and the schema', () => {
  test('`adminActions` are exactly the schema actions in `Action::"admin"`', async () => {
    const { schemaToJson } = await import('./cedar.js');
    const { palisadeSchemaText } = await import('./palisade-schema.js');
    const json = schemaToJson(palisadeSchemaText);
    assert.equal(json.type, 'success');
    const actions = json.type === 'success' ? (json.json[''] as { actions: Record<string, { memberOf?: Array<{ id: string }> }> }).actions : {};
    const inAdmin = Object.entries(actions).filter(([, a]) => (a.memberOf ?? []).some((m) => m.id === 'admin')).map(([name]) => name).sort();
    assert.deepEqual(inAdmin, [...adminActions].sort());
  });
});
