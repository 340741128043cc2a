import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fetchTls, runCliSync, startUp, writeProject, type RunningCli } from '../helpers/cli.js';

// web (storefront) calls billing (payments) through PAY, allowed by the segment rule, and
// catalog (storefront) through CAT. A custom policy refuses interns anywhere in payments, through
// any chain (the confused deputy: web calls billing on behalf of the end user).
const MANIFEST = `name: seg
identity:
  apiKeys: { enabled: true }
segments:
  storefront: { workers: 1 }
  payments: { workers: 1, allowCallsFrom: [storefront] }
functions:
  web:
    source: functions/web.ts
    segment: storefront
    bindings: { PAY: { type: service, function: billing }, CAT: { type: service, function: catalog } }
  catalog: { source: functions/catalog.ts, segment: storefront }
  billing: { source: functions/billing.ts, segment: payments }
routes:
  - { path: /web, methods: [GET], function: web, allow: { roles: [customer, intern] } }
policies: [policies/p.cedar]
`;

const WEB = `export default { async fetch(request, env) {
  const to = new URL(request.url).searchParams.get('to') ?? 'PAY';
  const binding = env[to];
  if (binding === undefined) return Response.json({ error: 'no binding ' + to }, { status: 404 });
  try {
    const r = await binding.fetch('https://internal/');
    return Response.json({ status: r.status, body: await r.text() });
  } catch (e) {
    return Response.json({ error: String(e.message) }, { status: 502 });
  }
} };
`;

const POLICY = `@id("interns-never-pay")
forbid (principal, action == Action::"callFunction", resource in Segment::"payments")
when { context has originalCaller && context.originalCaller.roles.contains("intern") };

// Tries to open everything to everyone: a grant and a segment rule are still needed.
@id("open-bar")
permit (principal, action == Action::"callFunction", resource);
`;

const FILES = {
  'functions/web.ts': WEB,
  'functions/catalog.ts': 'export default { async fetch() { return new Response("catalog"); } };\n',
  'functions/billing.ts': 'export default { async fetch(request, env, ctx) { return new Response("billed for " + ctx.principal?.id); } };\n',
  'policies/p.cedar': POLICY,
};

function createKey(dir: string, name: string, role: string): string {
  const r = runCliSync(['apikeys', 'create', dir, '--name', name, '--role', role, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { key: string }).key;
}

describe('segment rules on a real node', () => {
  let dir: string;
  let node: RunningCli;
  let customer: string;
  let intern: string;

  before(async () => {
    dir = writeProject(MANIFEST, FILES);
    node = await startUp(dir);
    customer = createKey(dir, 'customer', 'customer');
    intern = createKey(dir, 'intern', 'intern');
  });
  after(async () => {
    await node.stop();
  });

  const web = (to: string, key: string) => fetchTls(node.url, node.ca, `/web?to=${to}`, { headers: { authorization: `Bearer ${key}` } });

  test('a cross-segment call with a segment rule and a grant is allowed', async () => {
    const r = await web('PAY', customer);
    assert.equal(r.status, 200, r.body);
    assert.match((JSON.parse(r.body) as { body: string }).body, /^billed for apikey:/);
  });

  test('a same-segment call with a grant is allowed', async () => {
    const r = await web('CAT', customer);
    assert.deepEqual(JSON.parse(r.body), { status: 200, body: 'catalog' });
  });

  test('confused deputy: an intern reaches web, but web cannot reach payments on the intern\'s behalf', async () => {
    const r = await web('PAY', intern);
    assert.equal(r.status, 502, r.body);
    assert.match((JSON.parse(r.body) as { error: string }).error, /policy refuses the call to `billing`/);
    assert.ok(node.stderr().split('\n').some((l) => l.includes('binding call refused') && l.includes('"policy-denied"')), 'the refusal is in the operator log');
    // The same intern inside the storefront is fine.
    assert.deepEqual(JSON.parse((await web('CAT', intern)).body), { status: 200, body: 'catalog' });
  });
});

describe('a binding across segments without a rule', () => {
  test('palisade validate and palisade up refuse it, naming the binding and the rule to add', () => {
    const dir = writeProject(MANIFEST.replace('payments: { workers: 1, allowCallsFrom: [storefront] }', 'payments: { workers: 1 }'), FILES);
    const v = runCliSync(['validate', dir]);
    assert.equal(v.status, 3, v.stdout);
    assert.match(v.stderr, /palisade\.yaml:11:\d+ {2}functions\.web\.bindings\.PAY {2}PAL_MANIFEST_SEGMENT_CROSSING: binding `PAY` calls `billing` in segment `payments` from segment `storefront`, and no segment rule allows it/);
    assert.match(v.stderr, /add `storefront` to `segments\.payments\.allowCallsFrom`/);
    const up = runCliSync(['up', dir, '--port', '0']);
    assert.equal(up.status, 3);
    assert.match(up.stderr, /PAL_MANIFEST_SEGMENT_CROSSING/);
    // The policies agree: explain names the generated forbid.
    const ok = writeProject(MANIFEST, FILES);
    const explain = runCliSync(['policy', 'explain', ok, '--action', 'callFunction', '--principal', 'billing', '--resource', 'catalog']);
    assert.equal(explain.status, 2, explain.stdout + explain.stderr);
    assert.match(explain.stdout, /segment:storefront#allowCallsFrom/);
  });
});
