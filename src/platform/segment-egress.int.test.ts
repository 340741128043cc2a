import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

// Segment egress grants on a real node: `api.egress.test` is granted to the segment `outbound`
// only. `sender` (in outbound, no grant of its own) reaches it through its segment; `other` (in
// `inner`, with a grant of its own to another host, so its fetch() is on) is refused. The remote
// is a local HTTPS server; names resolve to 127.0.0.1 through the injected resolver.
const toLoopback: DnsResolver = async () => [{ address: '127.0.0.1', family: 4 }];

const FETCHER = `export default {
  async fetch(request) {
    try {
      const res = await fetch(new URL(request.url).searchParams.get('url'));
      return new Response('status=' + res.status + ' body=' + (await res.text()));
    } catch (e) {
      return Response.json({ error: e.name + ': ' + e.message }, { status: 502 });
    }
  },
};\n`;

describe('segment egress grants on a running node', () => {
  let node: RunningPlatform;
  let dir: string;
  let server: Server;
  let port = 0;
  const warnings: Array<Record<string, unknown>> = [];
  const logger: Logger = { debug() {}, info() {}, warn: (_m, fields) => void warnings.push({ ...fields }), error() {} };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-segment-egress-'));
    const tls = await ensureLocalTls(join(dir, 'remote'), systemClock, ['api.egress.test']);
    server = createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`hello via ${req.headers.host ?? ''}`);
    });
    server.on('error', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    mkdirSync(join(dir, 'functions'));
    writeFileSync(join(dir, 'functions', 'fetcher.js'), FETCHER);
    writeFileSync(
      join(dir, 'palisade.yaml'),
      [
        'name: segment-egress',
        'segments:',
        '  outbound:',
        '    workers: 1',
        `    egress: [{ host: api.egress.test, ports: [${port}], allowPrivateNetwork: true }]`,
        '  inner: { workers: 1 }',
        'functions:',
        '  sender: { source: functions/fetcher.js, segment: outbound, limits: { cpuMs: 5000, timeoutMs: 5000 } }',
        `  other: { source: functions/fetcher.js, segment: inner, limits: { cpuMs: 5000, timeoutMs: 5000 }, egress: [{ host: elsewhere.egress.test, ports: [${port}] }] }`,
        'routes:',
        '  - { path: /sender, function: sender, public: true }',
        '  - { path: /other, function: other, public: true }',
        '',
      ].join('\n'),
    );
    node = await startInsecureLoopbackHttpPlatform({ manifest: loadManifest(dir), logger, host: '127.0.0.1', port: 0, egress: { tls: { ca: readFileSync(tls.caFile ?? '', 'utf8') }, resolve: toLoopback } });
  });

  after(async () => {
    await node?.close();
    server?.close();
    server?.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  });

  const go = async (path: string) => {
    const res = await fetch(`${node.url}${path}?url=${encodeURIComponent(`https://api.egress.test:${port}/hello`)}`);
    return { status: res.status, id: res.headers.get('x-request-id') ?? '', body: await res.text() };
  };
  const attempts = (requestId: string): AuditEvent[] => searchAuditLog(join(dir, '.palisade'), { action: 'egress' }).map((r) => r.event).filter((e) => e.requestId === requestId);

  test('a function reaches a host granted only to its segment, under the segment grant\'s policy', async () => {
    const r = await go('/sender');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, `status=200 body=hello via api.egress.test:${port}`);
    const e = attempts(r.id)[0];
    assert.deepEqual(e && [e.outcome, e.function, e.policyIds], ['allow', 'sender', ['segment:outbound#egress.api.egress.test']]);
  });

  test('a function of another segment is refused that host, and the refusal is recorded', async () => {
    const r = await go('/other');
    assert.equal(r.status, 502, r.body);
    assert.match(r.body, /fetch failed/);
    const e = attempts(r.id)[0];
    assert.deepEqual(e && [e.outcome, e.reason, e.function], ['deny', 'not-granted', 'other']);
  });

  test('a weakening switch on a segment grant is logged at start for each function that gets it', () => {
    const logged = warnings.filter((w) => w.code === 'PAL_MANIFEST_INSECURE_SETTING' && w.address === 'api.egress.test').map((w) => w.function);
    assert.deepEqual(logged, ['sender']);
  });
});
