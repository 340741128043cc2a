import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildCommunicationGraph } from './communication-graph.js';
import { createPolicyAuthorizer } from './create-policy-authorizer.js';
import { renderCommunicationGraph } from './render-communication-graph.js';
import { FACTS, manifestFrom } from './policy-test-fixtures.test-support.js';

const BASE = `name: seg
identity:
  builtin: { enabled: true }
  apiKeys: { enabled: true }
segments:
  storefront: {}
  payments: { allowCallsFrom: [storefront] }
functions:
  web:
    source: web.ts
    segment: storefront
    bindings: { PAY: { type: service, function: billing }, CAT: { type: service, function: catalog } }
  catalog: { source: catalog.ts, segment: storefront }
  billing: { source: billing.ts, segment: payments }
routes:
  - { path: /web, function: web, allow: { roles: [customer, intern], apiKeys: [ci] } }
  - { path: /cat, function: catalog, public: true }
  - { path: /ops, function: billing }
`;

const graphOf = (cedar?: string) => {
  const m = cedar === undefined ? manifestFrom(BASE) : manifestFrom(`${BASE}policies: [p.cedar]\n`, { 'p.cedar': cedar });
  return buildCommunicationGraph(m, createPolicyAuthorizer(m), FACTS.time);
};
const edge = (g: ReturnType<typeof graphOf>, from: string, to: string) => g.edges.find((e) => e.from === from && e.to === to);

describe('the communication graph', () => {
  test('principals from `allow` reach routes, routes run functions, bindings call across segments (marked)', () => {
    const g = graphOf();
    assert.deepEqual(edge(g, 'role:customer', 'route:GET /web')?.policyIds, ['route:GET /web#allow.roles']);
    assert.deepEqual(edge(g, 'apikey:ci', 'route:GET /web')?.policyIds, ['route:GET /web#allow.apiKeys']);
    assert.ok(edge(g, 'role:admin', 'route:GET /ops'), 'a route without allow is admin-only');
    assert.equal(edge(g, 'role:customer', 'route:GET /ops'), undefined, 'a role is not given routes it is not named in');
    assert.ok(edge(g, 'public', 'route:GET /cat'));
    assert.ok(edge(g, 'route:GET /web', 'function:web'));
    const pay = edge(g, 'function:web', 'function:billing');
    assert.equal(pay?.crossSegment, true);
    assert.equal(pay?.label, 'PAY');
    assert.deepEqual(pay?.onBehalfOf, ['apikey:ci', 'role:customer', 'role:intern']);
    assert.equal(edge(g, 'function:web', 'function:catalog')?.crossSegment, undefined);
    assert.deepEqual(g.refused, []);
  });

  test('a custom forbid removes an edge, and the refused grant names the forbid', () => {
    const g = graphOf('@id("no-interns") forbid(principal in Role::"intern", action == Action::"invoke", resource);\n@id("no-pay") forbid(principal, action == Action::"callFunction", resource == Function::"billing");');
    assert.equal(edge(g, 'role:intern', 'route:GET /web'), undefined);
    assert.equal(edge(g, 'function:web', 'function:billing'), undefined);
    assert.deepEqual(g.refused.map((e) => [e.from, e.to, e.policyIds.join(',')]), [
      ['function:web', 'function:billing', 'no-pay'],
      ['role:intern', 'route:GET /web', 'no-interns'],
    ]);
    assert.ok(edge(g, 'role:customer', 'route:GET /web'), 'other edges stay');
    // Refused grants are mermaid comments, readable as written (a comment ends only at a line break).
    assert.match(renderCommunicationGraph(g, 'mermaid'), /\n {2}%% refused: function:web -> function:billing \(.*\) by no-pay\n|\n {2}%% refused: function:web -> function:billing by no-pay\n/);
  });

  test('a call refused for one end user is kept for the others, and says on whose behalf', () => {
    const g = graphOf('@id("interns-never-pay") forbid(principal, action == Action::"callFunction", resource in Segment::"payments") when { context has originalCaller && context.originalCaller.roles.contains("intern") };');
    assert.deepEqual(edge(g, 'function:web', 'function:billing')?.onBehalfOf, ['apikey:ci', 'role:customer']);
  });

  test('a custom permit adds access the manifest does not name only for principals the manifest names', () => {
    const g = graphOf('@id("customers-ops") permit(principal in Role::"customer", action == Action::"invoke", resource == Route::"GET /ops");');
    assert.deepEqual(edge(g, 'role:customer', 'route:GET /ops')?.policyIds, ['customers-ops']);
  });

  test('renderings are deterministic and escape labels', () => {
    const g = graphOf();
    assert.equal(renderCommunicationGraph(g, 'mermaid'), renderCommunicationGraph(graphOf(), 'mermaid'));
    assert.match(renderCommunicationGraph(g, 'mermaid'), /==>\|"PAY · cross-segment"\|/);
    assert.match(renderCommunicationGraph(g, 'dot'), /"function:web" -> "function:billing" \[label="PAY · cross-segment", color=red, penwidth=2\];/);
    const tricky = { ...g, nodes: [{ id: 'role:x', kind: 'principal' as const, label: 'a"] --> evil["b' }] };
    assert.doesNotMatch(renderCommunicationGraph(tricky, 'mermaid'), /a"\]/);
    assert.match(renderCommunicationGraph(tricky, 'dot'), /label="a\\"\] --> evil\[\\"b"/);
  });

  test('egress and secret grants are edges only where the policies allow them, asked as the runtime asks them', () => {
    const m = manifestFrom(`${BASE}policies: [p.cedar]\n`, { 'p.cedar': '@id("web-stripe") permit(principal == Function::"web", action == Action::"egress", resource == Host::"api.stripe.com");' });
    const web = m.functions.get('web');
    assert.ok(web);
    const functions = new Map(m.functions);
    functions.set('web', { ...web, egress: [{ host: 'API.stripe.com', ports: [443] }, { host: 'evil.example', ports: [443] }], secrets: ['db-url'] });
    const withGrants = { ...m, functions };
    const g = buildCommunicationGraph(withGrants, createPolicyAuthorizer(m), FACTS.time);
    // The canonical host, as the egress guard asks it; the ports go on the edge.
    assert.deepEqual(edge(g, 'function:web', 'host:api.stripe.com'), { from: 'function:web', to: 'host:api.stripe.com', kind: 'egress', label: 'ports 443', policyIds: ['web-stripe'] });
    // db-url is named nowhere in the manifest the policies were built from: it belongs to `default`.
    assert.deepEqual(g.refused.map((e) => `${e.to} ${e.reason ?? ''} ${e.policyIds.join(',')}`), ['host:evil.example no-permit ', 'secret:db-url forbid segment:default#allowSecretReadsFrom']);
    assert.match(renderCommunicationGraph(g, 'mermaid'), /-\.->\|"ports 443 · egress"\|/);
  });

  test('a segment\'s egress grant is an edge from each function of the segment, marked as the segment\'s; not from other segments', () => {
    const m = manifestFrom(BASE.replace('  storefront: {}', '  storefront: { egress: [{ host: cdn.example }] }').replace('catalog: { source: catalog.ts, segment: storefront }', 'catalog: { source: catalog.ts, segment: storefront, egress: [{ host: cdn.example, ports: [8443] }] }'));
    const g = buildCommunicationGraph(m, createPolicyAuthorizer(m), FACTS.time);
    assert.deepEqual(edge(g, 'function:web', 'host:cdn.example'), { from: 'function:web', to: 'host:cdn.example', kind: 'egress', label: 'via segment storefront', policyIds: ['segment:storefront#egress.cdn.example'] });
    // Granted by both: one edge, not marked as the segment's, both permits named.
    assert.deepEqual(edge(g, 'function:catalog', 'host:cdn.example')?.label, 'ports default,8443');
    assert.deepEqual(edge(g, 'function:catalog', 'host:cdn.example')?.policyIds, ['function:catalog#egress.cdn.example', 'segment:storefront#egress.cdn.example']);
    assert.equal(edge(g, 'function:billing', 'host:cdn.example'), undefined);
    assert.deepEqual(g.refused, []);
  });

  test('secret edges carry the secret\'s segment, and a read across segments is marked like a cross-segment call', () => {
    const text = BASE.replace('payments: { allowCallsFrom: [storefront] }', 'payments: { allowCallsFrom: [storefront], allowSecretReadsFrom: [storefront] }')
      .replace('    segment: storefront\n    bindings:', '    segment: storefront\n    secrets: [card-key, catalog-token]\n    bindings:')
      .replace('billing: { source: billing.ts, segment: payments }', 'billing: { source: billing.ts, segment: payments, secrets: [card-key] }')
      .concat('secrets:\n  card-key: { segment: payments }\n');
    const m = manifestFrom(text);
    const g = buildCommunicationGraph(m, createPolicyAuthorizer(m), FACTS.time);
    assert.deepEqual(g.nodes.filter((n) => n.kind === 'secret').map((n) => [n.id, n.segment]), [['secret:card-key', 'payments'], ['secret:catalog-token', 'storefront']]);
    assert.equal(edge(g, 'function:web', 'secret:card-key')?.crossSegment, true);
    assert.equal(edge(g, 'function:billing', 'secret:card-key')?.crossSegment, undefined);
    assert.equal(edge(g, 'function:web', 'secret:catalog-token')?.crossSegment, undefined);
    assert.deepEqual(g.refused, []);
    const mermaid = renderCommunicationGraph(g, 'mermaid');
    assert.match(mermaid, /==>\|"reads · cross-segment"\|/);
    assert.match(mermaid, /subgraph seg_n\d+\["segment payments"\]\n {4}n\d+\[\["billing"\]\]\n {4}n\d+\[\("card-key"\)\]/);
    assert.match(renderCommunicationGraph(g, 'dot'), /"function:web" -> "secret:card-key" \[label="reads · cross-segment", color=red, penwidth=2, style=dashed\];/);
  });
});
