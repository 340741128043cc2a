import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { searchAuditLog } from '../audit/index.js';
import { ensureLocalTls } from '../gateway/index.js';
import { systemClock, type AuditEvent, type Logger } from '../kernel/index.js';
import { loadManifest } from '../manifest/index.js';
import type { DnsResolver } from '../segmentation/index.js';
import { startInsecureLoopbackHttpPlatform, type RunningPlatform } from './start-platform.js';

// A real node: a function's global `fetch()` goes isolate → worker → gateway, where the egress
// guard makes it with the manifest grants and a Cedar `egress` decision, and the audit chain
// records each attempt. The remote is a local HTTPS server certified by a test CA; names resolve
// to 127.0.0.1 through the injected resolver, so nothing leaves the machine.
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const toLoopback: DnsResolver = async () => [{ address: '127.0.0.1', family: 4 }];

const FETCHER = `export default {
  async fetch(request) {
    const target = new URL(request.url).searchParams.get('url');
    try {
      const res = await fetch(target, { headers: { 'x-from': 'function' } });
      return new Response('status=' + res.status + ' body=' + (await res.text()));
    } catch (e) {
      return Response.json({ error: e.name + ': ' + e.message }, { status: 502 });
    }
  },
};\n`;

// Forty attempts at once from a function without any grant.
const FLOOD = `export default {
  async fetch() {
    const refused = await Promise.all(Array.from({ length: 40 }, (_, i) => fetch('https://example.com/' + i).then(() => 'reached', (e) => e.message)));
    return Response.json({ refused });
  },
};\n`;

let node: RunningPlatform;
let dir: string;
let server: Server;
let port = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'palisade-egress-node-'));
  const tls = await ensureLocalTls(join(dir, 'remote'), systemClock, ['api.egress.test', 'forbidden.egress.test']);
  server = createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://x');
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/hello' });
      res.end();
      return;
    }
    if (url.pathname === '/slow') {
      res.writeHead(200);
      res.write('partial');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`hello ${String(req.headers['x-from'])} via ${req.headers.host ?? ''}`);
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  mkdirSync(join(dir, 'functions'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'functions', 'fetcher.js'), FETCHER);
  writeFileSync(join(dir, 'functions', 'flood.js'), FLOOD);
  writeFileSync(
    join(dir, 'palisade.yaml'),
    [
      'name: egress-node',
      'functions:',
      '  caller:',
      '    source: functions/fetcher.js',
      '    limits: { timeoutMs: 3000 }',
      '    egress:',
      `      - { host: api.egress.test, ports: [${port}], allowPrivateNetwork: true }`,
      `      - { host: forbidden.egress.test, ports: [${port}], allowPrivateNetwork: true }`,
      // Granted, but without allowPrivateNetwork: the address check must still refuse them.
      `      - { host: 127.0.0.1, ports: [443, 80, ${port}] }`,
      '      - { host: "[::1]" }',
      '      - { host: 169.254.169.254 }',
      '  plain:',
      '    source: functions/fetcher.js',
      '  flood:',
      '    source: functions/flood.js',
      'routes:',
      '  - { path: /go, function: caller, public: true }',
      '  - { path: /plain, function: plain, public: true }',
      '  - { path: /flood, function: flood, public: true }',
      'policies: [policies/custom.cedar]',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'policies', 'custom.cedar'), '@id("no-forbidden-host")\nforbid (principal, action == Action::"egress", resource == Host::"forbidden.egress.test");\n');
  node = await startInsecureLoopbackHttpPlatform({ manifest: loadManifest(dir), logger: quiet, host: '127.0.0.1', port: 0, egress: { tls: { ca: readFileSync(tls.caFile ?? '', 'utf8') }, resolve: toLoopback } });
});

after(async () => {
  await node?.close();
  server?.close();
  server?.closeAllConnections();
});

const go = async (path: string, target: string) => {
  const res = await fetch(`${node.url}${path}?url=${encodeURIComponent(target)}`);
  return { status: res.status, id: res.headers.get('x-request-id') ?? '', body: await res.text() };
};
const attempts = (requestId: string): AuditEvent[] => searchAuditLog(join(dir, '.palisade'), { action: 'egress' }).map((r) => r.event).filter((e) => e.requestId === requestId);

describe('fetch() inside a function goes through the egress guard', () => {
  test('a granted host is reached over verified TLS; the body comes back as a Response; the attempt is on the audit chain', async () => {
    const r = await go('/go', `https://api.egress.test:${port}/hello`);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, `status=200 body=hello function via api.egress.test:${port}`);
    const events = attempts(r.id);
    assert.equal(events.length, 1);
    const e = events[0] as AuditEvent;
    assert.deepEqual([e.outcome, e.reason, e.function, e.principal?.type, e.method, e.status, e.egress, e.policyIds], [
      'allow',
      'allowed',
      'caller',
      'Function',
      'GET',
      200,
      { host: 'api.egress.test', port, address: '127.0.0.1', hop: 0 },
      [`function:caller#egress.api.egress.test`],
    ]);
  });

  test('SSRF attempts from inside a function are refused, each with its reason, each recorded', async () => {
    const cases: Array<[string, string]> = [
      ['http://127.0.0.1/', 'insecure-scheme'],
      ['http://[::1]/', 'insecure-scheme'],
      ['http://169.254.169.254/latest/meta-data/', 'insecure-scheme'],
      ['http://2130706433/', 'insecure-scheme'],
      [`https://127.0.0.1:${port}/hello`, 'private-address'],
      ['https://[::1]/', 'private-address'],
      ['https://169.254.169.254/latest/meta-data/', 'private-address'],
      // 2130706433 is 127.0.0.1 in another spelling: canonicalised before the grant and the address check.
      [`https://2130706433:${port}/hello`, 'private-address'],
      ['https://0x7f.1/', 'private-address'],
      ['https://metadata.google.internal/', 'not-granted'],
      ['file:///etc/passwd', 'bad-url'],
    ];
    for (const [target, reason] of cases) {
      const r = await go('/go', target);
      assert.equal(r.status, 502, `${target}: ${r.body}`);
      const body = JSON.parse(r.body) as { error: string };
      assert.match(body.error, /^TypeError: fetch failed: /, target);
      const events = attempts(r.id);
      assert.equal(events.length, 1, `${target}: ${JSON.stringify(events)}`);
      assert.deepEqual([events[0]?.outcome, events[0]?.reason], ['deny', reason], target);
    }
  });

  test('a granted host that redirects to a loopback address is refused at the redirect; both hops recorded', async () => {
    for (const to of ['http://127.0.0.1/', `https://127.0.0.1:${port}/hello`, 'https://169.254.169.254/']) {
      const r = await go('/go', `https://api.egress.test:${port}/redirect?to=${encodeURIComponent(to)}`);
      assert.equal(r.status, 502, r.body);
      const events = attempts(r.id);
      assert.deepEqual(
        events.map((e) => [e.outcome, e.egress?.hop]),
        [
          ['allow', 0],
          ['deny', 1],
        ],
        to,
      );
      assert.match(events[1]?.reason ?? '', /^(insecure-scheme|private-address)$/);
    }
  });

  test('a custom Cedar forbid removes an egress grant', async () => {
    const r = await go('/go', `https://forbidden.egress.test:${port}/hello`);
    assert.equal(r.status, 502, r.body);
    assert.match(r.body, /denied by policy/);
    const e = attempts(r.id)[0];
    assert.deepEqual(e && [e.outcome, e.reason, e.code, e.policyIds], ['deny', 'policy-denied', 'PAL_EGRESS_POLICY_DENIED', ['no-forbidden-host']]);
  });

  test('a function without any egress grant is refused by the gateway, and every attempt is on the audit chain', async () => {
    const message = 'TypeError: fetch failed: outbound requests are not granted to this function (manifest: functions.<name>.egress)';
    for (const target of ['https://example.com/', 'http://127.0.0.1/']) {
      const started = Date.now();
      const r = await go('/plain', target);
      assert.equal(r.status, 502, r.body);
      assert.deepEqual(JSON.parse(r.body), { error: message }, target);
      assert.ok(Date.now() - started < 2000, 'refused without trying to connect');
      const events = attempts(r.id);
      assert.equal(events.length, 1, `${target}: ${JSON.stringify(events)}`);
      const e = events[0] as AuditEvent;
      const host = new URL(target).hostname;
      assert.deepEqual([e.outcome, e.reason, e.code, e.function, e.principal?.type, e.method, e.egress?.host, e.policyIds], ['deny', 'not-granted', 'PAL_EGRESS_NOT_GRANTED', 'plain', 'Function', 'GET', host, []], target);
    }
  });

  test('a function without a grant cannot flood the audit chain: attempts stop at the per-invocation budget', async () => {
    const r = await fetch(`${node.url}/flood`);
    const id = r.headers.get('x-request-id') ?? '';
    const body = (await r.json()) as { refused: string[] };
    // MAX_CALLS_PER_INVOCATION attempts reach the gateway (each refused and recorded); the rest stop in the worker.
    assert.equal(body.refused.length, 40);
    assert.equal(body.refused.filter((m) => m.includes('not granted')).length, 32, JSON.stringify(body.refused));
    assert.equal(body.refused.filter((m) => m.includes('at most 32')).length, 8);
    const events = attempts(id);
    assert.equal(events.length, 32);
    assert.ok(events.every((e) => e.outcome === 'deny' && e.reason === 'not-granted' && e.function === 'flood'));
  });

  test('an outbound request never outlives its invocation', async () => {
    const started = Date.now();
    const r = await go('/go', `https://api.egress.test:${port}/slow`);
    assert.ok(r.status >= 500, r.body);
    assert.ok(Date.now() - started < 8000, 'bounded by the invocation deadline');
    // The attempt is recorded as a timeout or a cancellation (whichever end came first).
    for (let i = 0; i < 50 && attempts(r.id).length === 0; i++) await new Promise((res) => setTimeout(res, 100));
    assert.match(attempts(r.id)[0]?.reason ?? '', /^(timeout|cancelled)$/);
  });
});
