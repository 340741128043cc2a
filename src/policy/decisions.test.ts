import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RouteSpec } from '../manifest/index.js';
import { createPolicyAuthorizer } from './create-policy-authorizer.js';
import { decidePolicyCase } from './policy-cases.js';
import { FACTS, manifestFrom, SHOP, user } from './policy-test-fixtures.test-support.js';

const shop = manifestFrom(SHOP);
const authorizer = createPolicyAuthorizer(shop);
const route = (path: string): RouteSpec => {
  const r = shop.routes.find((x) => x.path === path);
  if (r === undefined) throw new Error(path);
  return r;
};

describe('RBAC from the manifest', () => {
  test('a role named in `allow.roles` is allowed, with the allowing policy named', () => {
    const d = authorizer.authorizeRoute(user('u-1', ['customer']), route('/orders'), FACTS);
    assert.deepEqual(d, { effect: 'allow', reason: 'permit', policyIds: ['route:GET,POST /orders#allow.roles'], errors: [] });
  });

  test('a role not named is denied by default (no permit)', () => {
    const d = authorizer.authorizeRoute(user('u-1', ['guest']), route('/orders'), FACTS);
    assert.deepEqual(d, { effect: 'deny', reason: 'no-permit', policyIds: [], errors: [] });
  });

  test('a private route without `allow` is reachable by the admin role only', () => {
    assert.equal(authorizer.authorizeRoute(user('u-1', ['customer']), route('/admin'), FACTS).effect, 'deny');
    assert.equal(authorizer.authorizeRoute(user('u-1', []), route('/admin'), FACTS).effect, 'deny');
    assert.deepEqual(authorizer.authorizeRoute(user('u-1', ['admin']), route('/admin'), FACTS).policyIds, ['route:GET /admin#admin-only']);
  });

  test('`allow.users` needs issuer and subject; `allow.apiKeys` needs an API key; `allow.issuers` an issuer', () => {
    assert.equal(authorizer.authorizeRoute(user('u-42', []), route('/mine'), FACTS).effect, 'allow');
    assert.equal(authorizer.authorizeRoute(user('u-43', []), route('/mine'), FACTS).effect, 'deny');
    const oidc = user('u-42', [], { authMethod: 'oidc', issuer: 'https://other.example' });
    assert.equal(authorizer.authorizeRoute(oidc, route('/mine'), FACTS).effect, 'deny', 'the same subject from another issuer is another principal');
    const key = user('apikey:k1', [], { type: 'ServiceAccount', authMethod: 'api-key', issuer: 'urn:palisade:api-keys' });
    assert.deepEqual(authorizer.authorizeRoute(key, route('/mine'), FACTS).policyIds, ['route:GET /mine#allow.apiKeys']);
    assert.equal(authorizer.authorizeRoute({ ...key, id: 'apikey:k2' }, route('/mine'), FACTS).effect, 'deny');
    assert.equal(authorizer.authorizeRoute({ ...key, id: 'apikey:k2' }, route('/keys'), FACTS).effect, 'allow');
    assert.equal(authorizer.authorizeRoute(user('u-42', ['customer']), route('/keys'), FACTS).effect, 'deny');
  });
});

describe('step-up MFA', () => {
  test('a password-only admin is denied with mfa-required; with a second factor allowed', () => {
    const d = authorizer.authorizeRoute(user('u-1', ['admin']), route('/refund'), { ...FACTS, method: 'POST' });
    assert.deepEqual(d, { effect: 'deny', reason: 'mfa-required', policyIds: ['route:POST /refund#mfa'], errors: [] });
    assert.equal(authorizer.authorizeRoute(user('u-1', ['admin'], { mfa: true }), route('/refund'), FACTS).effect, 'allow');
  });

  test('no step-up when a second factor would not help (a customer), or cannot be added (an API key)', () => {
    assert.equal(authorizer.authorizeRoute(user('u-1', ['customer']), route('/refund'), FACTS).reason, 'forbid');
    assert.equal(authorizer.authorizeRoute(user('u-1', ['customer'], { mfa: true }), route('/refund'), FACTS).reason, 'no-permit');
    const key = user('apikey:k9', ['admin'], { type: 'ServiceAccount', authMethod: 'api-key', issuer: 'urn:palisade:api-keys' });
    assert.deepEqual(authorizer.authorizeRoute(key, route('/refund'), FACTS), { effect: 'deny', reason: 'forbid', policyIds: ['route:POST /refund#mfa'], errors: [] });
  });
});

const custom = (cedar: string) => createPolicyAuthorizer(manifestFrom(`${SHOP}policies: [p.cedar]\n`, { 'p.cedar': cedar }));

describe('ABAC on the request context', () => {
  test('IP range: ops reach /admin from 10.0.0.0/8 only (IPv4-mapped IPv6 counts as IPv4)', () => {
    const a = custom('@id("ops-office") permit(principal in Role::"ops", action == Action::"invoke", resource == Route::"GET /admin") when { context.ip.isInRange(ip("10.0.0.0/8")) };');
    const ops = user('u-5', ['ops']);
    assert.deepEqual(a.authorizeRoute(ops, route('/admin'), { ...FACTS, clientIp: '10.1.2.3' }).policyIds, ['ops-office']);
    assert.equal(a.authorizeRoute(ops, route('/admin'), { ...FACTS, clientIp: '::ffff:10.1.2.3' }).effect, 'allow');
    assert.equal(a.authorizeRoute(ops, route('/admin'), { ...FACTS, clientIp: '192.168.1.1' }).effect, 'deny');
    assert.equal(a.authorizeRoute(ops, route('/admin'), { ...FACTS, clientIp: '::1' }).effect, 'deny');
  });

  test('time: a permit that holds only inside a window', () => {
    const start = Math.floor(FACTS.time / 1000);
    const a = custom(`@id("window") permit(principal in Role::"ops", action == Action::"invoke", resource == Route::"GET /admin") when { context.time >= ${start} && context.time < ${start + 3600} };`);
    const ops = user('u-5', ['ops']);
    assert.equal(a.authorizeRoute(ops, route('/admin'), FACTS).effect, 'allow');
    assert.equal(a.authorizeRoute(ops, route('/admin'), { ...FACTS, time: FACTS.time + 3600_000 }).effect, 'deny');
    assert.equal(a.authorizeRoute(ops, route('/admin'), { ...FACTS, time: FACTS.time - 1000 }).effect, 'deny');
  });

  test('mfa and authMethod read from the context', () => {
    const a = custom('@id("ops-mfa") permit(principal in Role::"ops", action == Action::"invoke", resource == Route::"GET /admin") when { context.mfa && context.authMethod == "builtin" };');
    assert.equal(a.authorizeRoute(user('u-5', ['ops'], { mfa: true }), route('/admin'), FACTS).effect, 'allow');
    assert.equal(a.authorizeRoute(user('u-5', ['ops'], { mfa: true, authMethod: 'oidc' }), route('/admin'), FACTS).effect, 'deny');
  });

  test('risk: a forbid on a high risk score beats the role permit', () => {
    const a = custom('@id("risky") forbid(principal, action, resource) when { context has risk && context.risk >= 80 };');
    const customer = user('u-1', ['customer']);
    assert.equal(a.authorizeRoute(customer, route('/orders'), { ...FACTS, risk: 79 }).effect, 'allow');
    assert.deepEqual(a.authorizeRoute(customer, route('/orders'), { ...FACTS, risk: 80 }), { effect: 'deny', reason: 'forbid', policyIds: ['risky'], errors: [] });
  });
});

describe('Cedar semantics', () => {
  test('forbid beats permit', () => {
    const a = custom('@id("no-u1") forbid(principal, action == Action::"invoke", resource) when { principal.subject == "u-1" };');
    assert.deepEqual(a.authorizeRoute(user('u-1', ['customer', 'admin']), route('/orders'), FACTS), { effect: 'deny', reason: 'forbid', policyIds: ['no-u1'], errors: [] });
    assert.equal(a.authorizeRoute(user('u-2', ['customer']), route('/orders'), FACTS).effect, 'allow');
  });

  test('a policy whose evaluation fails does not grant, and the error is recorded', () => {
    // Validates (Long * Long), but overflows at run time.
    const a = custom('@id("overflow") permit(principal, action == Action::"invoke", resource) when { context.time * 9223372036854775807 > 0 };');
    const d = a.authorizeRoute(user('u-1', []), route('/orders'), FACTS);
    assert.equal(d.effect, 'deny');
    assert.equal(d.reason, 'no-permit');
    assert.equal(d.errors.length, 1);
    assert.match(d.errors[0] ?? '', /^overflow: .*overflow/);
    // The same error beside a permit that holds: allowed, and still recorded.
    const allowed = a.authorizeRoute(user('u-1', ['customer']), route('/orders'), FACTS);
    assert.equal(allowed.effect, 'allow');
    assert.equal(allowed.errors.length, 1);
  });

  test('segment isolation: a forbid on calls into a segment from outside it', () => {
    const a = custom('@id("payments-isolated") forbid(principal, action == Action::"callFunction", resource in Segment::"payments") unless { principal in Segment::"payments" };');
    const d = a.authorizeCall({ caller: 'orders', target: 'billing', chain: [], principal: null, time: FACTS.time });
    assert.deepEqual(d, { effect: 'deny', reason: 'forbid', policyIds: ['payments-isolated'], errors: [] });
    assert.equal(authorizer.authorizeCall({ caller: 'orders', target: 'billing', chain: [], principal: null, time: FACTS.time }).effect, 'allow', 'the grant alone allows');
    assert.equal(authorizer.authorizeCall({ caller: 'billing', target: 'orders', chain: [], principal: null, time: FACTS.time }).effect, 'deny', 'no grant, no call');
  });

  test('calls carry the original caller and the chain', () => {
    const a = custom('@id("billing-for-admins") forbid(principal, action == Action::"callFunction", resource == Function::"billing") unless { context has originalCaller && context.originalCaller.roles.contains("admin") && !context.callerChain.contains(Function::"reports") };');
    const call = (roles: string[] | null, chain: string[] = []) => a.authorizeCall({ caller: 'orders', target: 'billing', chain, principal: roles === null ? null : { type: 'User', id: 'u-1', issuer: 'x', roles, mfa: false, authMethod: 'builtin' }, time: FACTS.time }).effect;
    assert.equal(call(['admin']), 'allow');
    assert.equal(call(['customer']), 'deny');
    assert.equal(call(null), 'deny');
    assert.equal(call(['admin'], ['reports']), 'deny');
  });

  test('repeated calls of one caller, target and chain are decided again on what changed: time, principal, chain, a reload', () => {
    const cutoff = 1_900_000_000;
    const a = custom(`@id("calls-until") forbid(principal, action == Action::"callFunction", resource == Function::"billing") when { context.time >= ${cutoff} };`);
    const at = (seconds: number, chain: string[] = []) => a.authorizeCall({ caller: 'orders', target: 'billing', chain, principal: null, time: seconds * 1000 }).effect;
    assert.equal(at(cutoff - 1), 'allow');
    assert.equal(at(cutoff), 'deny', 'a decision made before is no answer for another moment');
    assert.equal(at(cutoff - 1), 'allow');
    assert.equal(at(cutoff, ['reports']), 'deny');
    // A reload swaps the policies and drops every prepared call.
    a.reload(manifestFrom(`${SHOP}policies: [p.cedar]\n`, { 'p.cedar': '@id("no-billing") forbid(principal, action == Action::"callFunction", resource == Function::"billing");' }));
    assert.equal(at(cutoff - 1), 'deny');
  });
});

describe('egress grants as Cedar permits', () => {
  const withEgress = (extra = '') =>
    createPolicyAuthorizer(
      manifestFrom(SHOP.replace('  reports: { source: reports.ts }', '  reports:\n    source: reports.ts\n    egress: [{ host: API.Stripe.com. }, { host: "*.files.example" }, { host: "[::1]", allowPrivateNetwork: true }]') + extra, extra === '' ? {} : { 'p.cedar': '@id("no-stripe") forbid(principal, action == Action::"egress", resource == Host::"api.stripe.com");' }),
    );
  const ask = (a: ReturnType<typeof withEgress>, fn: string, host: string) => a.authorizeEgress({ fn, host, chain: [], principal: null, time: 0 });

  test('each grant permits its canonical host, named by its generated id; nothing else is permitted', () => {
    const a = withEgress();
    assert.deepEqual(ask(a, 'reports', 'api.stripe.com'), { effect: 'allow', reason: 'permit', policyIds: ['function:reports#egress.api.stripe.com'], errors: [] });
    assert.deepEqual(ask(a, 'reports', '::1').policyIds, ['function:reports#egress.::1']);
    assert.equal(ask(a, 'reports', 'evil.example').effect, 'deny');
    assert.equal(ask(a, 'orders', 'api.stripe.com').effect, 'deny', 'a grant of one function is not another’s');
  });

  test('a wildcard grant permits strict subdomains only, by whole labels', () => {
    const a = withEgress();
    assert.equal(ask(a, 'reports', 'a.files.example').effect, 'allow');
    assert.equal(ask(a, 'reports', 'a.b.files.example').effect, 'allow');
    assert.equal(ask(a, 'reports', 'files.example').effect, 'deny');
    assert.equal(ask(a, 'reports', 'evilfiles.example').effect, 'deny');
    assert.equal(ask(a, 'reports', 'files.example.evil').effect, 'deny');
  });

  test('`policy explain`/`policy test` decide egress cases the same way (host canonicalised)', () => {
    const m = manifestFrom(SHOP.replace('  reports: { source: reports.ts }', '  reports:\n    source: reports.ts\n    egress: [{ host: api.stripe.com }]'));
    const a = createPolicyAuthorizer(m);
    const d = decidePolicyCase(a, m, { principal: 'reports', action: 'egress', resource: 'API.stripe.com.' }, 0);
    assert.ok(!('problem' in d) && d.effect === 'allow' && d.policyIds[0] === 'function:reports#egress.api.stripe.com');
    const other = decidePolicyCase(a, m, { principal: 'orders', action: 'egress', resource: 'api.stripe.com' }, 0);
    assert.ok(!('problem' in other) && other.effect === 'deny');
  });

  test('a custom forbid removes a generated egress permit', () => {
    const d = ask(withEgress('policies: [p.cedar]\n'), 'reports', 'api.stripe.com');
    assert.deepEqual([d.effect, d.policyIds], ['deny', ['no-stripe']]);
  });
});

describe('segment egress grants as Cedar permits', () => {
  // billing is in payments, whose segment grant covers it; orders and reports are in default.
  const withSegmentEgress = (cedar?: string) => {
    const text = SHOP.replace('payments: { allowCallsFrom: [default] }', 'payments: { allowCallsFrom: [default], egress: [{ host: API.Stripe.com }, { host: "*.bank.example" }] }');
    return createPolicyAuthorizer(cedar === undefined ? manifestFrom(text) : manifestFrom(`${text}policies: [p.cedar]\n`, { 'p.cedar': cedar }));
  };
  const ask = (a: ReturnType<typeof withSegmentEgress>, fn: string, host: string) => a.authorizeEgress({ fn, host, chain: [], principal: null, time: 0 });

  test('each segment grant is one permit for every function in the segment, with its own id and the segment\'s line', () => {
    const a = withSegmentEgress();
    const p = a.set.policies.find((x) => x.id === 'segment:payments#egress.api.stripe.com');
    assert.match(p?.text ?? '', /permit\(\s*principal in Segment::"payments",\s*action == Action::"egress",\s*resource == Host::"api\.stripe\.com"\s*\)/);
    assert.match(p?.text ?? '', /@origin\("palisade\.yaml:6"\)/);
    assert.deepEqual(ask(a, 'billing', 'api.stripe.com'), { effect: 'allow', reason: 'permit', policyIds: ['segment:payments#egress.api.stripe.com'], errors: [] });
    assert.deepEqual(ask(a, 'billing', 'x.bank.example').policyIds, ['segment:payments#egress.*.bank.example']);
    assert.equal(ask(a, 'billing', 'bank.example').effect, 'deny');
  });

  test('a function of another segment is not permitted by a segment grant', () => {
    const a = withSegmentEgress();
    assert.deepEqual(ask(a, 'orders', 'api.stripe.com'), { effect: 'deny', reason: 'no-permit', policyIds: [], errors: [] });
    assert.equal(ask(a, 'reports', 'x.bank.example').effect, 'deny');
  });

  test('a custom forbid removes a segment grant', () => {
    const d = ask(withSegmentEgress('@id("no-stripe") forbid(principal, action == Action::"egress", resource == Host::"api.stripe.com");'), 'billing', 'api.stripe.com');
    assert.deepEqual([d.effect, d.policyIds], ['deny', ['no-stripe']]);
  });
});

describe('secret reads (readSecret)', () => {
  const withSecrets = (cedar: string) =>
    createPolicyAuthorizer(manifestFrom(`${SHOP.replace('    bindings: { BILLING: { type: service, function: billing } }', '    bindings: { BILLING: { type: service, function: billing } }\n    secrets: [db-url, card-key]')}policies: [p.cedar]\n`, { 'p.cedar': cedar }));
  const read = (a: ReturnType<typeof withSecrets>, fn: string, secret: string, roles: string[] | null = null) =>
    a.authorizeSecretRead({ fn, secret, chain: [], principal: roles === null ? null : { type: 'User', id: 'u-1', issuer: 'x', roles, mfa: false, authMethod: 'builtin' }, time: FACTS.time });

  test('each grant is a generated permit; no grant, no permit; a custom forbid wins', () => {
    const a = withSecrets('@id("no-card-key") forbid(principal == Function::"orders", action == Action::"readSecret", resource == Secret::"card-key");');
    const granted = read(a, 'orders', 'db-url');
    assert.deepEqual([granted.effect, granted.policyIds, granted.readsContext], ['allow', ['function:orders#secret.db-url'], false]);
    assert.deepEqual([read(a, 'reports', 'db-url').effect, read(a, 'reports', 'db-url').reason], ['deny', 'no-permit']);
    assert.deepEqual(read(a, 'orders', 'card-key').policyIds, ['no-card-key']);
    const origin = a.set.policies.find((p) => p.id === 'function:orders#secret.db-url');
    assert.match(JSON.stringify(origin?.json.annotations), /palisade\.yaml:11/);
  });

  test('a policy that reads the context makes the decision uncacheable; one that does not leaves it cacheable', () => {
    const a = withSecrets('@id("card-key-for-admins") forbid(principal, action == Action::"readSecret", resource == Secret::"card-key") unless { context has originalCaller && context.originalCaller.roles.contains("admin") };');
    assert.equal(read(a, 'orders', 'card-key', ['admin']).effect, 'allow');
    assert.equal(read(a, 'orders', 'card-key', ['customer']).effect, 'deny');
    assert.equal(read(a, 'orders', 'card-key', ['admin']).readsContext, true);
    assert.equal(read(a, 'orders', 'db-url').readsContext, false, 'the forbid on card-key is not in the slice of db-url');
  });
});
