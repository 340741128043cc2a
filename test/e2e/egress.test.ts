import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureLocalTls } from '../../src/gateway/index.js';
import { systemClock } from '../../src/kernel/index.js';
import { fetchTls, runCliSync, startUp, writeProject, type RunningCli } from '../helpers/cli.js';

// `palisade up` with a function whose fetch() reaches a local HTTPS server through the egress
// guard (trusted through NODE_EXTRA_CA_CERTS, as an operator with a private PKI would), SSRF
// attempts refused, and every attempt in the audit log as `palisade audit search` shows it.
const FETCHER = `export default {
  async fetch(request) {
    const target = new URL(request.url).searchParams.get('url');
    try {
      const res = await fetch(target);
      return new Response(await res.text(), { status: res.status });
    } catch (e) {
      return new Response(e.name + ': ' + e.message, { status: 502 });
    }
  },
};\n`;

describe('palisade up: fetch() from a function', () => {
  let remote: Server;
  let port = 0;
  let dir: string;
  let node: RunningCli;

  before(async () => {
    const tls = await ensureLocalTls(mkdtempSync(join(tmpdir(), 'palisade-e2e-remote-')), systemClock);
    remote = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      if (req.url?.startsWith('/redirect') === true) {
        res.writeHead(302, { location: 'http://127.0.0.1:1/' });
        res.end();
        return;
      }
      res.end('hello from the remote');
    });
    remote.on('error', () => {});
    await new Promise<void>((resolve) => remote.listen(0, '127.0.0.1', resolve));
    port = (remote.address() as AddressInfo).port;
    dir = writeProject(
      [
        'name: egress-e2e',
        'functions:',
        '  fetcher:',
        '    source: functions/fetcher.js',
        `    egress: [{ host: 127.0.0.1, ports: [${port}], allowPrivateNetwork: true }]`,
        // The same code without any grant: every attempt is still decided and audited by the gateway.
        '  ungranted:',
        '    source: functions/fetcher.js',
        'routes:',
        '  - { path: /go, function: fetcher, public: true }',
        '  - { path: /ungranted, function: ungranted, public: true }',
        '',
      ].join('\n'),
      { 'functions/fetcher.js': FETCHER },
    );
    const previous = process.env.NODE_EXTRA_CA_CERTS;
    process.env.NODE_EXTRA_CA_CERTS = tls.caFile;
    try {
      node = await startUp(dir);
    } finally {
      if (previous === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
      else process.env.NODE_EXTRA_CA_CERTS = previous;
    }
  });

  after(async () => {
    await node?.stop();
    remote?.close();
    remote?.closeAllConnections();
  });

  const go = (target: string) => fetchTls(node.url, node.ca, `/go?url=${encodeURIComponent(target)}`);

  test('a granted host answers; SSRF spellings and a redirect to loopback are refused; all are audited', async () => {
    const ok = await go(`https://127.0.0.1:${port}/hello`);
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.body, 'hello from the remote');
    for (const target of ['http://169.254.169.254/latest/meta-data/', 'http://[::1]/', 'http://2130706433/', `https://127.0.0.1:${port}/redirect`]) {
      const r = await go(target);
      assert.equal(r.status, 502, `${target}: ${r.body}`);
      assert.match(r.body, /^TypeError: fetch failed: /);
    }
    const search = runCliSync(['audit', 'search', dir, '--action', 'egress', '--json']);
    assert.equal(search.status, 0, search.stderr);
    const events = search.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event: { outcome: string; reason: string; function: string; egress?: { hop: number } } }).event);
    // The granted request and the redirect's first hop are allowed; the redirect's second hop and the SSRF attempts are not.
    assert.equal(events.filter((e) => e.outcome === 'allow').length, 2, search.stdout);
    const denied = events.filter((e) => e.outcome === 'deny');
    assert.equal(denied.length, 4, search.stdout);
    for (const e of denied) assert.match(e.reason, /^(not-granted|insecure-scheme|private-address)$/);
    assert.ok(events.every((e) => e.function === 'fetcher'));
  });

  test('a function without any egress grant is refused, and each attempt is an audit event', async () => {
    for (const target of ['https://example.com/', 'http://127.0.0.1/']) {
      const r = await fetchTls(node.url, node.ca, `/ungranted?url=${encodeURIComponent(target)}`);
      assert.equal(r.status, 502, `${target}: ${r.body}`);
      assert.equal(r.body, 'TypeError: fetch failed: outbound requests are not granted to this function (manifest: functions.<name>.egress)');
    }
    const search = runCliSync(['audit', 'search', dir, '--action', 'egress', '--json']);
    assert.equal(search.status, 0, search.stderr);
    const events = search.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event: { outcome: string; reason: string; function: string; egress?: { host?: string } } }).event)
      .filter((e) => e.function === 'ungranted');
    assert.deepEqual(
      events.map((e) => [e.outcome, e.reason, e.egress?.host]),
      [
        ['deny', 'not-granted', 'example.com'],
        ['deny', 'not-granted', '127.0.0.1'],
      ],
      search.stdout,
    );
  });
});
