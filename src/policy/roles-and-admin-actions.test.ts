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
