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
      ['segment:default#allowSecretReadsFrom', 'forbid'],
      ['segment:ops#allowCallsFrom', 'forbid'],
      ['segment:ops#allowSecretReadsFrom', 'forbid'],
      ['segment:payments#allowCallsFrom', 'forbid'],
      ['segment:payments#allowSecretReadsFrom', 'forbid'],
      ['segment:storefront#allowCallsFrom', 'forbid'],
      ['segment:storefront#allowSecretReadsFrom', 'forbid'],
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

// ledger-key belongs to payments (declared) and ops may read it (a rule); catalog-token belongs
// to storefront (inferred from its only holder, web); web holds nothing of payments.
const SECRETS = `name: seg
identity:
  builtin: { enabled: true }
segments:
  storefront: {}
  payments: { allowSecretReadsFrom: [ops] }
  ops: {}
functions:
  web: { source: web.ts, segment: storefront, secrets: [catalog-token] }
  catalog: { source: catalog.ts, segment: storefront }
  billing: { source: billing.ts, segment: payments, secrets: [ledger-key] }
  report: { source: report.ts, segment: ops, secrets: [ledger-key] }
secrets:
  ledger-key: { segment: payments }
routes:
  - { path: /, function: web, public: true }
`;

const read = (a: ReturnType<typeof createPolicyAuthorizer>, fn: string, secret: string) => a.authorizeSecretRead({ fn, secret, chain: [], principal: null, time: FACTS.time });
const withCedar = (cedar: string) => createPolicyAuthorizer(manifestFrom(`${SECRETS}policies: [p.cedar]\n`, { 'p.cedar': cedar }));

describe('segment rules for secrets as Cedar', () => {
  const m = manifestFrom(SECRETS);
  const a = createPolicyAuthorizer(m);

  test('each segment compiles to one readSecret forbid over the secrets in it', () => {
    const p = a.set.policies.find((x) => x.id === 'segment:payments#allowSecretReadsFrom');
    assert.equal(p?.effect, 'forbid');
    assert.match(p?.text ?? '', /action == Action::"readSecret"/);
    assert.match(p?.text ?? '', /resource in Segment::"payments"/);
    assert.match(p?.text ?? '', /principal in Segment::"ops"/);
    assert.match(p?.text ?? '', /@origin\("palisade\.yaml:6"\)/);
    assert.deepEqual([...m.secretSegments], [['catalog-token', 'storefront'], ['ledger-key', 'payments']]);
  });

  test('a same-segment grant is allowed by its generated permit', () => {
    assert.deepEqual(read(a, 'billing', 'ledger-key'), { effect: 'allow', reason: 'permit', policyIds: ['function:billing#secret.ledger-key'], errors: [], readsContext: false });
    assert.equal(read(a, 'web', 'catalog-token').effect, 'allow');
  });

  test('a cross-segment grant is allowed when the secret\'s segment lets the reader\'s segment in', () => {
    assert.deepEqual(read(a, 'report', 'ledger-key').policyIds, ['function:report#secret.ledger-key']);
    assert.equal(read(a, 'report', 'ledger-key').effect, 'allow');
  });

  test('a custom permit never opens a segment boundary for a secret', () => {
    const custom = withCedar('@id("web-ledger") permit(principal == Function::"web", action == Action::"readSecret", resource == Secret::"ledger-key");\n@id("open-bar") permit(principal, action == Action::"readSecret", resource);');
    assert.deepEqual(read(custom, 'web', 'ledger-key'), { effect: 'deny', reason: 'forbid', policyIds: ['segment:payments#allowSecretReadsFrom'], errors: [], readsContext: false });
    // The reverse direction has no rule either: payments may not read storefront's secret.
    assert.deepEqual(read(custom, 'billing', 'catalog-token').policyIds, ['segment:storefront#allowSecretReadsFrom']);
    // A secret the manifest names nowhere belongs to `default`, which lets nobody else in.
    assert.deepEqual(read(custom, 'web', 'unlisted').policyIds, ['segment:default#allowSecretReadsFrom']);
    // Inside a segment the custom permit is enough for the policy layer (the runtime still needs the grant).
    assert.equal(read(custom, 'catalog', 'catalog-token').effect, 'allow');
  });

  test('a custom forbid still narrows a secret read a rule allows', () => {
    const custom = withCedar('@id("no-ledger-for-ops") forbid(principal in Segment::"ops", action == Action::"readSecret", resource == Secret::"ledger-key");');
    assert.deepEqual(read(custom, 'report', 'ledger-key').policyIds, ['no-ledger-for-ops']);
  });
});
