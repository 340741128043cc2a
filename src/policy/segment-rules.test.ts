import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPolicyAuthorizer } from './create-policy-authorizer.js';
import { decidePolicyCase } from './policy-cases.js';
import { FACTS, manifestFrom } from './policy-test-fixtures.test-support.js';

// web (storefront) → billing (payments), allowed by a segment rule; web → catalog inside
// storefront; audit (ops) has no rule into payments; report has no binding at all.
const BASE = `name: seg
identity:
  builtin: { enabled: true }
segments:
  storefront: {}
  payments: { allowCallsFrom: [storefront] }
  ops: {}
functions:
  web:
    source: web.ts
    segment: storefront
    bindings: { PAY: { type: service, function: billing }, CAT: { type: service, function: catalog } }
  catalog: { source: catalog.ts, segment: storefront }
  billing: { source: billing.ts, segment: payments, bindings: { LEDGER: { type: service, function: ledger } } }
  ledger: { source: ledger.ts, segment: payments }
  report: { source: report.ts, segment: ops }
routes:
  - { path: /, function: web, allow: { roles: [customer, intern] } }
`;

const call = (a: ReturnType<typeof createPolicyAuthorizer>, caller: string, target: string, chain: string[] = [], roles: string[] | null = null) =>
  a.authorizeCall({ caller, target, chain, principal: roles === null ? null : { type: 'User', id: 'u-1', issuer: 'urn:palisade:builtin', roles, mfa: false, authMethod: 'builtin' }, time: FACTS.time });

describe('segment rules as Cedar', () => {
  const m = manifestFrom(BASE);
  const a = createPolicyAuthorizer(m);

  test('each segment compiles to one forbid with id and origin (the manifest line of the segment)', () => {
    const seg = a.set.policies.filter((p) => p.id.startsWith('segment:'));
    assert.deepEqual(seg.map((p) => [p.id, p.effect]), [
      ['segment:default#allowCallsFrom', 'forbid'],
      ['segment:ops#allowCallsFrom', 'forbid'],
      ['segment:payments#allowCallsFrom', 'forbid'],
      ['segment:storefront#allowCallsFrom', 'forbid'],
    ]);
    const payments = seg.find((p) => p.id === 'segment:payments#allowCallsFrom');
    assert.match(payments?.text ?? '', /@origin\("palisade\.yaml:6"\)/);
    assert.match(payments?.text ?? '', /resource in Segment::"payments"/);
    assert.match(payments?.text ?? '', /principal in Segment::"storefront"/);
  });

  test('a cross-segment call allowed by a rule and granted by a binding is allowed', () => {
    assert.deepEqual(call(a, 'web', 'billing'), { effect: 'allow', reason: 'permit', policyIds: ['function:web#binding.PAY'], errors: [] });
  });

  test('a same-segment call with a grant is allowed; without a grant it is denied', () => {
    assert.equal(call(a, 'web', 'catalog').effect, 'allow');
    assert.equal(call(a, 'billing', 'ledger').effect, 'allow');
    assert.equal(call(a, 'catalog', 'web').effect, 'deny');
  });

  test('a cross-segment call without a segment rule is denied by the generated forbid, even when a custom policy permits it', () => {
    const custom = createPolicyAuthorizer(manifestFrom(`${BASE}policies: [p.cedar]\n`, { 'p.cedar': '@id("open-bar") permit(principal, action == Action::"callFunction", resource);' }));
    const d = call(custom, 'report', 'billing');
    assert.deepEqual(d, { effect: 'deny', reason: 'forbid', policyIds: ['segment:payments#allowCallsFrom'], errors: [] });
    // The reverse direction: payments → storefront has no rule either.
    assert.deepEqual(call(custom, 'billing', 'catalog').policyIds, ['segment:storefront#allowCallsFrom']);
    // Inside a segment the custom permit is enough for the policy layer (the runtime still needs the binding).
    assert.equal(call(custom, 'catalog', 'web').effect, 'allow');
  });

  test('a custom forbid still narrows a call the manifest grants', () => {
    const custom = createPolicyAuthorizer(manifestFrom(`${BASE}policies: [p.cedar]\n`, { 'p.cedar': '@id("no-pay") forbid(principal, action == Action::"callFunction", resource == Function::"billing");' }));
    assert.deepEqual(call(custom, 'web', 'billing').policyIds, ['no-pay']);
  });

  test('confused deputy: a role refused at billing is refused through any chain, because the call carries the original caller', () => {
    const cedar = '@id("interns-never-pay") forbid(principal, action == Action::"callFunction", resource in Segment::"payments") when { context has originalCaller && context.originalCaller.roles.contains("intern") };';
    const custom = createPolicyAuthorizer(manifestFrom(`${BASE}policies: [p.cedar]\n`, { 'p.cedar': cedar }));
    // U (intern) → web → billing: refused; the same chain started by a customer: allowed.
    assert.deepEqual(call(custom, 'web', 'billing', [], ['intern']).policyIds, ['interns-never-pay']);
    assert.equal(call(custom, 'web', 'billing', [], ['customer']).effect, 'allow');
    // One hop further (U → web → billing → ledger): still refused, the deputy's deputy does not launder U.
    assert.equal(call(custom, 'billing', 'ledger', ['web'], ['intern']).effect, 'deny');
    assert.equal(call(custom, 'billing', 'ledger', ['web'], ['customer']).effect, 'allow');
    // As `palisade policy test` would decide it.
    const d = decidePolicyCase(custom, manifestFrom(BASE), { principal: 'billing', action: 'callFunction', resource: 'ledger', context: { chain: ['web'], originalCaller: { issuer: 'builtin', id: 'u-7', roles: ['intern'] } } }, FACTS.time);
    assert.equal('effect' in d ? d.effect : d.problem, 'deny');
  });
});
