import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe as suite, test } from 'node:test';
import { openAuditLog } from '../../src/audit/index.js';
import { silentLogger, type AuditEvent } from '../../src/kernel/index.js';
import { loadManifest } from '../../src/manifest/index.js';
import { createProjectApiKey, loadAccessReport, userAdmin } from '../../src/platform/index.js';
import type { GrantUse } from '../../src/policy/index.js';
import { cliPath, fetchTls, repoRoot, runCliSync, startUp, writeProject } from '../helpers/cli.js';

const DAY = 86_400_000;
const describe = (g: GrantUse): string => (g.kind === 'route' ? `${g.route} ${g.list} ${g.value}` : g.kind === 'binding' ? `binding ${g.function}.${g.binding} ${g.target}` : g.kind === 'secret' ? `secret ${g.function} ${g.secret}` : g.kind === 'egress' ? `egress ${g.function} ${g.host}` : `segment-egress ${g.segment} ${g.host}`);
const manifestText = (ciKey: string) => `name: ar
identity:
  builtin: { enabled: true }
  apiKeys: { enabled: true }
functions:
  orders: { source: orders.ts, bindings: { STOCK: { type: service, function: stock } } }
  stock: { source: stock.ts }
routes:
  - { path: /orders, methods: [GET], function: orders, allow: { roles: [customer, admin], apiKeys: [${ciKey}] } }
  - { path: /admin, function: orders }
  - path: /reports
    function: orders
    allow:
      roles:
        - auditor
        - customer
`;

const FILES = { 'orders.ts': 'export default { async fetch() { return new Response("o"); } };\n', 'stock.ts': 'export default { async fetch() { return new Response("s"); } };\n' };

/**
 * A recorded history: alice (customer) read /orders and /reports, the ci key read /orders, a key
 * holding `admin` was refused once and never allowed; one old allow falls outside the window.
 */
async function recordedProject(): Promise<{ dir: string; now: number; aliceId: string; ciId: string; idleId: string }> {
  const dir = writeProject(manifestText('placeholder'), FILES);
  let manifest = loadManifest(dir);
  const alice = await userAdmin.add(manifest, { username: 'alice', password: 'a long and private passphrase', roles: ['customer'] });
  await userAdmin.add(manifest, { username: 'bob', password: 'a long and private passphrase', roles: ['auditor'] });
  const ci = await createProjectApiKey(manifest, { name: 'ci', roles: [], ttlMs: null });
  const idle = await createProjectApiKey(manifest, { name: 'idle-admin', roles: ['admin'], ttlMs: null });
  writeFileSync(join(dir, 'palisade.yaml'), manifestText(ci.view.id));
  manifest = loadManifest(dir);
  const now = Date.now();
  const log = await openAuditLog({ stateDir: join(dir, '.palisade'), mode: 'sync', checkpointEvery: 1000, checkpointEverySec: 60, logger: silentLogger });
  const base = { action: 'invoke', method: 'GET', clientIp: '127.0.0.1', durationMs: 1, function: 'orders' } as const;
  const builtinUser = { type: 'User', id: alice.id, issuer: 'https://127.0.0.1:8443/_palisade/auth', authMethod: 'builtin', mfa: false } as const;
  const key = (id: string) => ({ type: 'ServiceAccount', id: `apikey:${id}`, issuer: 'urn:palisade:api-keys', authMethod: 'api-key', mfa: false }) as const;
  const events: AuditEvent[] = [
    { ...base, time: now - 5 * DAY, requestId: 'r1', outcome: 'allow', reason: 'allowed', status: 200, route: 'GET /orders', principal: builtinUser, policyIds: ['route:GET /orders#allow.roles'] },
    { ...base, time: now - 4 * DAY, requestId: 'r2', outcome: 'allow', reason: 'allowed', status: 200, route: 'GET /reports', principal: builtinUser, policyIds: ['route:GET /reports#allow.roles'] },
    { ...base, time: now - 3 * DAY, requestId: 'r3', outcome: 'allow', reason: 'allowed', status: 200, route: 'GET /orders', principal: key(ci.view.id), policyIds: ['route:GET /orders#allow.apiKeys'] },
    // Refused: uses nothing, but the key was seen.
    { ...base, time: now - 2 * DAY, requestId: 'r4', outcome: 'deny', reason: 'policy-denied', status: 403, route: 'GET /reports', principal: key(idle.view.id), policyIds: [] },
    // Outside a 30-day window: the admin grant on /admin was used only long ago.
    { ...base, time: now - 40 * DAY, requestId: 'r0', outcome: 'allow', reason: 'allowed', status: 200, route: 'GET /admin', principal: key(idle.view.id), policyIds: ['route:GET /admin#admin-only'] },
  ];
  for (const e of events) await log.append(e);
  await log.close();
  return { dir, now, aliceId: alice.id, ciId: ci.view.id, idleId: idle.view.id };
}

suite('palisade access-report', () => {
  test('a recorded history gives exactly the known used and unused grants, principals never seen, and a diff removing the unused ones', async () => {
    const p = await recordedProject();
    const manifest = loadManifest(p.dir);
    const r = await loadAccessReport(manifest, { since: p.now - 30 * DAY, until: p.now + 1 });
    assert.equal(r.events, 4);
    // The only binding was never called: no `callFunction` event is on the trail.
    assert.deepEqual(r.unusedGrants.map(describe), ['GET /admin admin-only admin', 'GET /orders roles admin', 'GET /reports roles auditor', 'binding orders.STOCK stock']);
    const used = new Map(r.grants.filter((g) => g.lastUsed !== null).map((g) => [describe(g), g.lastUsed]));
    assert.deepEqual([...used.keys()], [`GET /orders apiKeys ${p.ciId}`, 'GET /orders roles customer', 'GET /reports roles customer']);
    assert.equal(used.get('GET /orders roles customer'), p.now - 5 * DAY);
    assert.deepEqual(r.principals.filter((x) => x.lastSeen === null).map((x) => `${x.kind} ${x.name}`), ['user bob']);
    assert.deepEqual(r.functions, [{ name: 'orders', lastInvoked: p.now - 3 * DAY }, { name: 'stock', lastInvoked: null }]);
    assert.deepEqual(r.notes, ['function `orders`: without binding `STOCK`, `env.STOCK` is undefined: code that still calls it throws a TypeError (uncaught, the request fails: 500 `PAL_RUNTIME_FUNCTION_THREW`)']);
    assert.equal(
      r.suggestedDiff,
      [
        '--- palisade.yaml',
        '+++ palisade.yaml (unused grants removed)',
        '@@ -3,14 +3,13 @@',
        '   builtin: { enabled: true }',
        '   apiKeys: { enabled: true }',
        ' functions:',
        '-  orders: { source: orders.ts, bindings: { STOCK: { type: service, function: stock } } }',
        '+  orders: { source: orders.ts }',
        '   stock: { source: stock.ts }',
        ' routes:',
        `-  - { path: /orders, methods: [GET], function: orders, allow: { roles: [customer, admin], apiKeys: [${p.ciId}] } }`,
        `+  - { path: /orders, methods: [GET], function: orders, allow: { roles: [customer], apiKeys: [${p.ciId}] } }`,
        '   - { path: /admin, function: orders }',
        '   - path: /reports',
        '     function: orders',
        '     allow:',
        '       roles:',
        '-        - auditor',
        '         - customer',
        '',
      ].join('\n'),
    );
    // A wider window sees the old admin use.
    const wide = await loadAccessReport(manifest, { since: p.now - 60 * DAY, until: p.now + 1 });
    assert.deepEqual(wide.unusedGrants.map(describe), ['GET /orders roles admin', 'GET /reports roles auditor', 'binding orders.STOCK stock']);

    // The CLI: exit 2 with unused grants, the diff in the text, JSON on request.
    const text = runCliSync(['access-report', p.dir, '--since', '30d']);
    assert.equal(text.status, 2, text.stderr);
    assert.match(text.stdout, /unused grants \(4\):\n {2}route GET \/admin {2}admin-only \(no allow\) admin {2}\(palisade\.yaml:10\)\n/);
    assert.match(text.stdout, / {2}function orders {2}binding STOCK -> stock {2}\(palisade\.yaml:6\)\n/);
    assert.match(text.stdout, /functions never invoked, through a route or a service binding \(1\):\n {2}stock\n/);
    assert.match(text.stdout, /users and api keys never seen \(1\):\n {2}user bob/);
    assert.match(text.stdout, /-\s+- auditor/);
    const json = JSON.parse(runCliSync(['access-report', p.dir, '--json']).stdout) as { unusedGrants: unknown[] };
    assert.equal(json.unusedGrants.length, 4);
    assert.equal(runCliSync(['access-report', p.dir, '--since', 'yesterday']).status, 3);
    assert.equal(runCliSync(['access-report', writeProject(manifestText('k'), FILES)]).status, 1, 'no audit log: tool failure');
  });

  test('exit 0 when every grant was used', async () => {
    const dir = writeProject('name: ok\nidentity: { apiKeys: { enabled: true } }\nfunctions:\n  f: { source: orders.ts }\nroutes:\n  - { path: /f, function: f, allow: { issuers: [api-key] } }\n', FILES);
    const log = await openAuditLog({ stateDir: join(dir, '.palisade'), mode: 'sync', checkpointEvery: 1000, checkpointEverySec: 60, logger: silentLogger });
    await log.append({ time: Date.now() - 1000, requestId: 'x', action: 'invoke', outcome: 'allow', reason: 'allowed', status: 200, method: 'GET', route: 'GET /f', function: 'f', clientIp: '127.0.0.1', durationMs: 1, principal: { type: 'ServiceAccount', id: 'apikey:k1', issuer: 'urn:palisade:api-keys', authMethod: 'api-key', mfa: false }, policyIds: ['route:GET /f#allow.issuers'] });
    await log.close();
    const r = runCliSync(['access-report', dir]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /unused grants \(0\)/);
  });

  test('an event row changed outside palisade is refused with its sequence number, never a crash', async () => {
    const dir = writeProject('name: ok\nidentity: { apiKeys: { enabled: true } }\nfunctions:\n  f: { source: orders.ts }\nroutes:\n  - { path: /f, function: f, allow: { issuers: [api-key] } }\n', FILES);
    const log = await openAuditLog({ stateDir: join(dir, '.palisade'), mode: 'sync', checkpointEvery: 1000, checkpointEverySec: 60, logger: silentLogger });
    await log.append({ time: Date.now() - 1000, requestId: 'x', action: 'invoke', outcome: 'allow', reason: 'allowed', status: 200, method: 'GET', route: 'GET /f', function: 'f', clientIp: '127.0.0.1', durationMs: 1, principal: { type: 'ServiceAccount', id: 'apikey:k1', issuer: 'urn:palisade:api-keys', authMethod: 'api-key', mfa: false }, policyIds: ['route:GET /f#allow.issuers'] });
    await log.close();
    const db = new Database(join(dir, '.palisade', 'audit.db'));
    for (const forged of ['{"time":1', 'null', JSON.stringify({ time: Date.now() - 500, action: 'invoke', outcome: 'allow', principal: null })]) {
      db.prepare('UPDATE audit_events SET event = ? WHERE seq = 1').run(forged);
      for (const args of [['access-report', dir], ['audit', 'search', dir]]) {
        const r = runCliSync(args);
        assert.equal(r.status, 2, `${args[0]} on ${forged}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /^error PAL_AUDIT_CHAIN_BROKEN: audit event 1 is not an event palisade wrote; check the log with `palisade audit verify`$/m);
        assert.doesNotMatch(r.stderr, /PAL_INTERNAL|\n\s+at /);
      }
    }
    db.close();
  });

  test('a live node: the binding, secret and egress grant the function used are used; the others are unused and removed', async () => {
    const remote = createServer((_req, res) => res.end('remote'));
    await new Promise<void>((resolve) => remote.listen(0, '127.0.0.1', resolve));
    const port = (remote.address() as AddressInfo).port;
    try {
      const manifest = [
        'name: ar-live',
        'functions:',
        '  front:',
        '    source: functions/front.js',
        '    bindings:',
        '      BACK: { type: service, function: back }',
        '      SPARE: { type: service, function: spare }',
        '    secrets: [api-token, legacy-token]',
        '    egress:',
        `      - { host: 127.0.0.1, ports: [${port}], allowPrivateNetwork: true, allowInsecureHttp: true }`,
        '      - host: "*.example.com"',
        '  back: { source: functions/back.js }',
        '  spare: { source: functions/back.js }',
        'routes:',
        '  - { path: /front, function: front, public: true }',
        '',
      ].join('\n');
      // One request: a binding call, a secret read, a granted fetch, and a fetch the grants refuse (port 8443 is not listed).
      const front = `export default {
  async fetch(request, env) {
    const back = await (await env.BACK.fetch('https://back.internal/')).text();
    const token = await env.secrets.get('api-token');
    const remote = await (await fetch('http://127.0.0.1:${port}/')).text();
    let refused = 'no';
    try { await fetch('https://api.example.com:8443/'); } catch { refused = 'yes'; }
    return new Response(back + '|' + token.length + '|' + remote + '|' + refused);
  },
};\n`;
      const dir = writeProject(manifest, { 'functions/front.js': front, 'functions/back.js': 'export default { async fetch() { return new Response("back"); } };\n' });
      const set = spawnSync(process.execPath, [cliPath, 'secrets', 'set', 'api-token', dir], { cwd: repoRoot, input: 'value-of-api-token', encoding: 'utf8', env: { ...process.env, PALISADE_MASTER_KEY: '' } });
      assert.equal(set.status, 0, set.stderr);
      const node = await startUp(dir);
      try {
        const r = await fetchTls(node.url, node.ca, '/front');
        assert.equal(r.status, 200, r.body);
        assert.equal(r.body, `back|${'value-of-api-token'.length}|remote|yes`);
      } finally {
        await node.stop();
      }

      const text = runCliSync(['access-report', dir, '--since', '1h']);
      assert.equal(text.status, 2, text.stdout + text.stderr);
      const report = await loadAccessReport(loadManifest(dir), { since: Date.now() - 3_600_000, until: Date.now() + 1 });
      assert.deepEqual(report.unusedGrants.map((g) => `${describe(g)} ${g.origin}`), ['binding front.SPARE spare palisade.yaml:7', 'secret front legacy-token palisade.yaml:8', 'egress front *.example.com palisade.yaml:11']);
      assert.deepEqual(report.grants.filter((g) => g.lastUsed !== null).map(describe), ['binding front.BACK back', 'secret front api-token', 'egress front 127.0.0.1']);
      assert.deepEqual(report.functions.filter((f) => f.lastInvoked === null).map((f) => f.name), ['spare'], 'back is invoked through its binding only');
      assert.match(text.stdout, /unused grants \(3\):\n {2}function front {2}binding SPARE -> spare {2}\(palisade\.yaml:7\)\n {2}function front {2}secret legacy-token {2}\(palisade\.yaml:8\)\n {2}function front {2}egress \*\.example\.com {2}\(palisade\.yaml:11\)\n/);
      assert.match(text.stdout, /functions never invoked, through a route or a service binding \(1\):\n {2}spare\n/);
      assert.equal(
        report.suggestedDiff,
        [
          '--- palisade.yaml',
          '+++ palisade.yaml (unused grants removed)',
          '@@ -4,11 +4,9 @@',
          '     source: functions/front.js',
          '     bindings:',
          '       BACK: { type: service, function: back }',
          '-      SPARE: { type: service, function: spare }',
          '-    secrets: [api-token, legacy-token]',
          '+    secrets: [api-token]',
          '     egress:',
          `       - { host: 127.0.0.1, ports: [${port}], allowPrivateNetwork: true, allowInsecureHttp: true }`,
          '-      - host: "*.example.com"',
          '   back: { source: functions/back.js }',
          '   spare: { source: functions/back.js }',
          ' routes:',
          '',
        ].join('\n'),
      );
    } finally {
      remote.close();
      remote.closeAllConnections();
    }
  });
});
