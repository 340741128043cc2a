import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { Principal } from '../kernel/index.js';
import { buildPrincipalEntities, buildRouteEntities, functionUid, ipValue, principalUid, routeUid } from './build-entities.js';
import { isAuthorized, policyToJson, type EntityJson, type PolicyJson } from './cedar.js';
import type { CompiledPolicy, CompiledPolicySet } from './compile-policy-set.js';
import { loadPolicySet } from './load-policies.js';
import { createPolicyEngine, toDecision, type AuthorizationRequest, type PolicyDecision } from './policy-engine.js';
import { manifestFrom, SHOP } from './policy-test-fixtures.test-support.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const shopCedar = readFileSync(join(root, 'examples', 'shop', 'policies', 'shop.cedar'), 'utf8');
// The shop fixture's routes with the example's custom policies (examples/shop/policies/shop.cedar).
const manifest = manifestFrom(`${SHOP}  - { path: '/api/orders/:id/refund', methods: [POST], function: orders, allow: { roles: [admin] }, mfa: required }\npolicies: [shop.cedar]\n`, { 'shop.cedar': shopCedar });

interface Ctx {
  readonly mfa: boolean;
  readonly ip: string;
  readonly time: number;
  readonly risk: number;
  readonly authTime: number;
  readonly method: string;
}

/** The official engine over the whole set, with nothing of ours in between. */
function direct(set: CompiledPolicySet, r: AuthorizationRequest): PolicyDecision {
  const staticPolicies: Record<string, string | PolicyJson> = {};
  for (const p of set.policies) staticPolicies[p.id] = p.policy;
  const answer = isAuthorized({ principal: r.principal, action: r.action, resource: r.resource, context: r.context, entities: r.entities as EntityJson[], policies: { staticPolicies } });
  return toDecision(answer);
}

const roleArb = fc.subarray(['customer', 'admin', 'ops', 'аdmin', 'admin\u200b']);
const principalArb: fc.Arbitrary<Principal> = fc.record({
  kind: fc.constantFrom('builtin', 'api-key', 'oidc', 'mtls'),
  id: fc.oneof(fc.constantFrom('u-42', 'apikey:k1', 'u-1', 'u-42 '), fc.string({ maxLength: 6 })),
  roles: roleArb,
  mfa: fc.boolean(),
}).map(({ kind, id, roles, mfa }) => ({
  type: kind === 'mtls' ? 'ServiceAccount' : kind === 'api-key' ? 'ServiceAccount' : 'User',
  id,
  roles,
  mfa,
  authMethod: kind as Principal['authMethod'],
  issuer: kind === 'api-key' ? 'urn:palisade:api-keys' : kind === 'builtin' ? 'https://127.0.0.1/_palisade/auth' : kind === 'mtls' ? 'mtls:CN=ca' : 'https://idp.example',
}));
const ipArb = fc.oneof(fc.ipV4(), fc.constantFrom('10.1.2.3', '::1', '::ffff:10.0.0.1', '2001:db8::1'));
const contextArb: fc.Arbitrary<Ctx> = fc.record({ mfa: fc.boolean(), ip: ipArb, time: fc.integer({ min: 1_700_000_000, max: 1_800_000_000 }), risk: fc.integer({ min: 0, max: 100 }), authTime: fc.nat(), method: fc.constantFrom('GET', 'POST') });

function routeRequest(p: Principal, routeIndex: number, c: Ctx): AuthorizationRequest {
  const route = manifest.routes[routeIndex % manifest.routes.length]!;
  const issuerName = p.authMethod === 'oidc' ? '#unknown' : p.authMethod;
  return {
    principal: principalUid(p),
    action: { type: 'Action', id: 'invoke' },
    resource: routeUid(route),
    context: { mfa: c.mfa, authMethod: p.authMethod, authTime: c.authTime, ip: ipValue(c.ip), time: c.time, risk: c.risk, method: c.method },
    entities: [...buildPrincipalEntities(p, issuerName), ...buildRouteEntities(route, manifest)],
  };
}

describe('differential: Palisade decides exactly as cedar-wasm isAuthorized', () => {
  const loaded = loadPolicySet(manifest);
  assert.equal(loaded.ok, true, JSON.stringify(loaded.errors));
  const set = loaded.value!;

  test('over the example policies: decision, determining policies and errors are equal; slicing and memo change nothing', () => {
    const sliced = createPolicyEngine(set);
    const noMemo = createPolicyEngine(set, { memoSize: 0 });
    fc.assert(
      fc.property(principalArb, fc.nat(), contextArb, (p, i, c) => {
        const r = routeRequest(p, i, c);
        const want = direct(set, r);
        assert.deepEqual(sliced.decide(r), want);
        assert.deepEqual(sliced.decide(r), want, 'a memo hit gives the same answer');
        assert.deepEqual(noMemo.decide(r), want);
      }),
      { numRuns: 300 },
    );
  });

  test('over random policies built from the schema (scopes, conditions, errors): equal, with and without the memo', () => {
    const principalScope = fc.constantFrom('principal', 'principal in Role::"admin"', 'principal in Role::"customer"', 'principal is ApiKey', 'principal is User in Role::"ops"', 'principal == Function::"orders"');
    const actionScope = fc.constantFrom('action', 'action == Action::"invoke"', 'action == Action::"callFunction"', 'action in [Action::"invoke", Action::"egress"]', 'action in Action::"admin"');
    const resourceScope = fc.constantFrom('resource', 'resource == Route::"GET,POST /orders"', 'resource == Route::"GET /admin"', 'resource in Function::"orders"', 'resource in Segment::"payments"', 'resource is Route', 'resource is Function in Segment::"default"', 'resource == Function::"billing"');
    const condition = fc.constantFrom(
      '',
      'when { context.mfa }',
      'unless { context.mfa }',
      'when { context.risk > 50 }',
      'when { context.ip.isInRange(ip("10.0.0.0/8")) }',
      'when { context.time * 9223372036854775807 > 0 }',
      'when { principal.subject like "u-*" }',
      'when { context has originalCaller }',
      'when { context.callerChain.contains(Function::"orders") }',
      'when { resource.path == "/orders" }',
      'when { context }',
    );
    const policyArb = fc.tuple(fc.constantFrom('permit', 'forbid'), principalScope, actionScope, resourceScope, condition).map(([e, p, a, r, c]) => `${e}(${p}, ${a}, ${r}) ${c};`);
    const callContext = fc.record({ mfa: fc.boolean(), time: fc.integer({ min: 0, max: 2 ** 40 }), risk: fc.integer({ min: 0, max: 100 }), chain: fc.subarray(['orders', 'reports']), hasOriginal: fc.boolean() });
    fc.assert(
      fc.property(fc.array(policyArb, { minLength: 0, maxLength: 12 }), principalArb, fc.nat(), contextArb, callContext, fc.boolean(), (texts, p, i, c, cc, isCall) => {
        const policies = texts.map<CompiledPolicy>((text, n) => {
          const json = policyToJson(text);
          assert.equal(json.type, 'success', text);
          return { id: `p${n}`, origin: { file: 'random.cedar', line: n + 1 }, generated: false, effect: (json as { json: PolicyJson }).json.effect, json: (json as { json: PolicyJson }).json, policy: text, text };
        });
        const randomSet: CompiledPolicySet = { policies, byId: new Map(policies.map((x) => [x.id, x])) };
        let r: AuthorizationRequest;
        if (isCall) {
          const target = ['billing', 'orders', 'reports'][i % 3]!;
          const entities: EntityJson[] = [
            { uid: functionUid('orders'), attrs: { name: 'orders', segment: 'default' }, parents: [{ type: 'Segment', id: 'default' }] },
            { uid: functionUid('billing'), attrs: { name: 'billing', segment: 'payments' }, parents: [{ type: 'Segment', id: 'payments' }] },
            { uid: functionUid('reports'), attrs: { name: 'reports', segment: 'default' }, parents: [{ type: 'Segment', id: 'default' }] },
          ];
          r = {
            principal: functionUid('orders'),
            action: { type: 'Action', id: 'callFunction' },
            resource: functionUid(target),
            context: { mfa: cc.mfa, authMethod: 'workload', time: cc.time, risk: cc.risk, callerChain: cc.chain.map((f) => ({ __entity: functionUid(f) })), ...(cc.hasOriginal ? { originalCaller: { type: 'User', subject: 'u', issuer: 'i', issuerName: 'builtin', roles: ['admin'], mfa: true } } : {}) },
            entities,
          };
        } else {
          r = routeRequest(p, i, c);
        }
        const want = direct(randomSet, r);
        const engine = createPolicyEngine(randomSet);
        assert.deepEqual(engine.decide(r), want, texts.join('\n'));
        assert.deepEqual(engine.decide(r), want, 'memo');
        assert.deepEqual(createPolicyEngine(randomSet, { memoSize: 0 }).decide(r), want, 'no memo');
      }),
      { numRuns: 300 },
    );
  });

  test('the memo keys on what policies read: a request differing only in an unread attribute hits; one differing in a read attribute does not', () => {
    const engine = createPolicyEngine(set);
    const p: Principal = { type: 'User', id: 'u-1', roles: ['admin'], mfa: false, authMethod: 'builtin', issuer: 'https://127.0.0.1/_palisade/auth' };
    const base = { mfa: false, ip: '10.0.0.1', time: 1_750_000_000, risk: 0, authTime: 0, method: 'POST' };
    const refund = manifest.routes.findIndex((x) => x.path === '/refund');
    const a = engine.decide(routeRequest(p, refund, base));
    const b = engine.decide(routeRequest(p, refund, { ...base, time: base.time + 1, ip: '192.168.0.1' }));
    assert.equal(a, b, 'same object: time and ip are read by no policy of this slice');
    const c = engine.decide(routeRequest(p, refund, { ...base, mfa: true }));
    assert.notEqual(a.effect, c.effect, 'mfa is read: a different answer');
  });
});
