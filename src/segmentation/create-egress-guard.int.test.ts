import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, test } from 'node:test';
import { ensureLocalTls } from '../gateway/index.js';
import { isPalisadeError, systemClock } from '../kernel/index.js';
import { createEgressGuard, egressReasons, EgressError, type DnsResolver, type EgressEvent, type EgressGrant, type EgressGuardOptions, type EgressRequest } from './index.js';

// Names the local CA certifies (besides localhost, 127.0.0.1 and ::1). None of them exists in
// DNS: every test injects its resolver, so nothing here leaves 127.0.0.0/8.
const NAMES = ['api.egress.test', 'other.egress.test', 'internal.egress.test', 'rebind.egress.test'];

interface Seen {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly servername: string | false | null | undefined;
  readonly local: string | undefined;
}

let ca = '';
let tlsMaterial: { cert: string; key: string };
const servers: Server[] = [];
const seen: Seen[] = [];
let httpsPort = 0;
let httpPort = 0;
let rebindPort = 0;

function handler(name: string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://x');
    seen.push({ path: url.pathname, headers: req.headers, servername: (req.socket as TLSSocket).servername, local: req.socket.localAddress });
    const to = url.searchParams.get('to');
    switch (url.pathname) {
      case '/hello':
        res.writeHead(200, { 'content-type': 'text/plain', connection: 'close, x-hop', 'x-hop': 'h', 'keep-alive': 'timeout=5' });
        res.end(`hello from ${name}`);
        return;
      case '/echo':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ server: name, method: req.method, headers: req.headers, servername: (req.socket as TLSSocket).servername ?? null }));
        return;
      case '/redirect':
        res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: to ?? '/hello' });
        res.end();
        return;
      case '/loop':
        res.writeHead(302, { location: '/loop' });
        res.end();
        return;
      case '/big': {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(16 * 1024, 0x61);
        let sent = 0;
        const pump = () => {
          while (sent < 4 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('error', () => {});
        pump();
        return;
      }
      case '/declared-big':
        res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
        res.write('x');
        return;
      case '/slow':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial');
        return; // never ends
      default:
        res.writeHead(404);
        res.end();
    }
  };
}

async function listen(server: Server, host: string, port = 0): Promise<number> {
  server.on('error', () => {});
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-egress-'));
  const tls = await ensureLocalTls(dir, systemClock, NAMES);
  ca = readFileSync(tls.caFile ?? '', 'utf8');
  tlsMaterial = { cert: tls.cert, key: tls.key };
  httpsPort = await listen(createHttpsServer(tlsMaterial, handler('main')), '127.0.0.1');
  httpPort = await listen(createHttpServer(handler('plain')), '127.0.0.1');
  // Two servers on one port, on two loopback addresses: the rebinding test tells them apart.
  for (let attempt = 0; attempt < 5 && rebindPort === 0; attempt++) {
    const first = createHttpsServer(tlsMaterial, handler('at-127.0.0.2'));
    const port = await listen(first, '127.0.0.2');
    try {
      await listen(createHttpsServer(tlsMaterial, handler('at-127.0.0.1')), '127.0.0.1', port);
      rebindPort = port;
    } catch {
      first.close();
    }
  }
});

after(() => {
  for (const server of servers) {
    server.close();
    (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  }
});

const allowAll = () => ({ effect: 'allow' as const, policyIds: ['p-egress'] });
const limits = { maxResponseBytes: 64 * 1024, maxRequestBytes: 64 * 1024, timeoutMs: 3000, maxRedirects: 3 };
const toLoopback: DnsResolver = async () => [{ address: '127.0.0.1', family: 4 }];

function guardWith(overrides: Partial<EgressGuardOptions> = {}): { guard: ReturnType<typeof createEgressGuard>; events: EgressEvent[]; lookups: string[] } {
  const events: EgressEvent[] = [];
  const lookups: string[] = [];
  const resolve = overrides.resolve ?? toLoopback;
  const guard = createEgressGuard({
    limits,
    authorize: allowAll,
    tls: { ca },
    events: { onEgress: (e) => events.push(e) },
    ...overrides,
    resolve: async (host) => {
      lookups.push(host);
      return resolve(host);
    },
  });
  return { guard, events, lookups };
}

const get = (url: string, headers: EgressRequest['headers'] = []): EgressRequest => ({ method: 'GET', url, headers, body: null });

async function refused(promise: Promise<unknown>, reason: string): Promise<EgressError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof EgressError, String(error));
    assert.equal(error.reason, reason, `${error.reason}: ${error.message}`);
    assert.ok(isPalisadeError(error) && error.code.startsWith('PAL_EGRESS_'));
    return error;
  }
  assert.fail(`expected a refusal with ${reason}`);
}

test('an allowed fetch reaches a local https server, with SNI and Host the host name and the certificate verified', async () => {
  const { guard, events, lookups } = guardWith();
  const grants: EgressGrant[] = [{ host: 'api.egress.test', ports: [httpsPort], allowPrivateNetwork: true }];
  const res = await guard.fetch('billing', grants, get(`https://API.egress.test.:${httpsPort}/echo?q=secret-query`, [['Authorization', 'Bearer t'], ['Connection', 'x-drop'], ['x-drop', '1'], ['te', 'trailers'], ['upgrade', 'h2c'], ['x-keep', 'yes']]));
  assert.equal(res.status, 200);
  const echo = JSON.parse(Buffer.from(res.body).toString('utf8')) as { servername: string; headers: Record<string, string> };
  assert.equal(echo.servername, 'api.egress.test');
  assert.equal(echo.headers.host, `api.egress.test:${httpsPort}`);
  assert.equal(echo.headers.authorization, 'Bearer t');
  assert.equal(echo.headers['x-keep'], 'yes');
  for (const hop of ['x-drop', 'te', 'upgrade']) assert.equal(echo.headers[hop], undefined, hop);
  assert.deepEqual(lookups, ['api.egress.test']);
  assert.equal(events.length, 1);
  assert.deepEqual({ ...events[0], time: 0, durationMs: 0 }, { time: 0, durationMs: 0, function: 'billing', method: 'GET', host: 'api.egress.test', port: httpsPort, address: '127.0.0.1', decision: 'allow', reason: 'allowed', policyIds: ['p-egress'], status: 200, hop: 0 });
  // The audit record carries no path, query string or header value.
  assert.ok(!JSON.stringify(events).includes('secret-query') && !JSON.stringify(events).includes('Bearer'));
});

test('response: hop-by-hop headers are dropped, and the body owns its buffer', async () => {
  const { guard } = guardWith();
  const res = await guard.fetch('f', [{ host: 'api.egress.test', ports: [httpsPort], allowPrivateNetwork: true }], get(`https://api.egress.test:${httpsPort}/hello`));
  assert.equal(Buffer.from(res.body).toString(), 'hello from main');
  // The body owns its buffer: nothing of Node's shared pool (other requests' bytes) comes along.
  assert.equal(res.body.byteOffset, 0);
  assert.equal(res.body.buffer.byteLength, res.body.byteLength);
  const names = res.headers.map(([n]) => n);
  for (const hop of ['connection', 'keep-alive', 'x-hop']) assert.ok(!names.includes(hop), hop);
  assert.ok(names.includes('content-type'));
});

test('the certificate is checked against the host name: a name the certificate does not hold fails', async () => {
  const { guard } = guardWith();
  await refused(guard.fetch('f', [{ host: 'not-in-cert.test', ports: [httpsPort], allowPrivateNetwork: true }], get(`https://not-in-cert.test:${httpsPort}/hello`)), 'connect-failed');
  const untrusting = createEgressGuard({ limits, authorize: allowAll, resolve: toLoopback });
  await refused(untrusting.fetch('f', [{ host: 'api.egress.test', ports: [httpsPort], allowPrivateNetwork: true }], get(`https://api.egress.test:${httpsPort}/hello`)), 'connect-failed');
});

test('SSRF: loopback, metadata and private literals in every spelling are refused before any connection', async () => {
  const before = seen.length;
  const cases: Array<[string, string]> = [
    [`http://127.0.0.1:${httpPort}/hello`, '127.0.0.1'],
    [`https://127.0.0.1:${httpsPort}/hello`, '127.0.0.1'],
    [`http://2130706433:${httpPort}/hello`, '127.0.0.1'],
    [`http://0177.0.0.1:${httpPort}/hello`, '127.0.0.1'],
    [`http://0x7f.1:${httpPort}/hello`, '127.0.0.1'],
    [`http://0x7f000001:${httpPort}/hello`, '127.0.0.1'],
    [`http://127.1:${httpPort}/hello`, '127.0.0.1'],
    [`http://[::1]:${httpPort}/hello`, '::1'],
    [`http://[::ffff:127.0.0.1]:${httpPort}/hello`, '::ffff:7f00:1'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ['http://[::ffff:a9fe:a9fe]/latest/meta-data/', '::ffff:a9fe:a9fe'],
    ['http://0.0.0.0/', '0.0.0.0'],
  ];
  for (const [url, host] of cases) {
    // The grant names the host exactly: only the address check stands in the way.
    const { guard, events, lookups } = guardWith();
    const port = Number(new URL(url).port || 80);
    await refused(guard.fetch('f', [{ host, ports: [port], allowInsecureHttp: true }, { host, ports: [port] }], get(url)), 'private-address');
    assert.equal(lookups.length, 0, 'an IP literal is not resolved');
    assert.equal(events[0]?.reason, 'private-address');
    assert.equal(events[0]?.address, host);
  }
  assert.equal(seen.length, before, 'no request reached a server');
});

test('SSRF: localhost through the system resolver is refused', async () => {
  const guard = createEgressGuard({ limits, authorize: allowAll, tls: { ca } });
  await refused(guard.fetch('f', [{ host: 'localhost', ports: [httpsPort] }], get(`https://localhost:${httpsPort}/hello`)), 'private-address');
});

test('SSRF: a name with any private answer is refused, even when a public one comes first', async () => {
  for (const answers of [['10.0.0.5'], ['93.184.215.14', '10.0.0.5'], ['2606:4700::1', 'fd00::1'], ['64:ff9b::7f00:1']]) {
    const { guard, events } = guardWith({ resolve: async () => answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const) });
    await refused(guard.fetch('f', [{ host: 'api.egress.test' }], get('https://api.egress.test/')), 'private-address');
    assert.equal(events[0]?.address, answers.find((a) => a !== '93.184.215.14' && a !== '2606:4700::1'));
  }
});

test('a resolver that fails or answers nonsense is dns-failed', async () => {
  for (const resolve of [async () => Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' })), async () => [], async () => [{ address: 'evil', family: 4 as const }]]) {
    const { guard } = guardWith({ resolve });
    await refused(guard.fetch('f', [{ host: 'api.egress.test' }], get('https://api.egress.test/')), 'dns-failed');
  }
});

test('DNS rebinding: the connection goes to the address that was checked, resolved once', async (t) => {
  if (rebindPort === 0) return t.skip('no free port on both 127.0.0.1 and 127.0.0.2');
  let calls = 0;
  // Answers 127.0.0.2 the first time, 127.0.0.1 ever after: a second resolution would land on
  // the other server. (Both are loopback, so the grant allows private addresses; the point
  // here is pinning, the address classes are tested above.)
  const rebinding: DnsResolver = async () => (calls++ === 0 ? [{ address: '127.0.0.2', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]);
  const { guard, events } = guardWith({ resolve: rebinding });
  const res = await guard.fetch('f', [{ host: 'rebind.egress.test', ports: [rebindPort], allowPrivateNetwork: true }], get(`https://rebind.egress.test:${rebindPort}/hello`));
  assert.equal(Buffer.from(res.body).toString(), 'hello from at-127.0.0.2');
  assert.equal(calls, 1);
  assert.equal(events[0]?.address, '127.0.0.2');
  assert.equal(seen.at(-1)?.local, '127.0.0.2');
  assert.equal(seen.at(-1)?.servername, 'rebind.egress.test');
});

test('not granted: another host, another port, or plain http without allowInsecureHttp', async () => {
  const { guard, events, lookups } = guardWith();
  const grants: EgressGrant[] = [{ host: 'api.egress.test', ports: [httpsPort], allowPrivateNetwork: true }];
  await refused(guard.fetch('f', grants, get(`https://other.egress.test:${httpsPort}/hello`)), 'not-granted');
  await refused(guard.fetch('f', grants, get(`https://api.egress.test.evil.test:${httpsPort}/hello`)), 'not-granted');
  await refused(guard.fetch('f', grants, get(`https://api.egress.test:${httpsPort + 1}/hello`)), 'not-granted');
  await refused(guard.fetch('f', [{ host: 'api.egress.test', ports: [httpPort], allowPrivateNetwork: true }], get(`http://api.egress.test:${httpPort}/hello`)), 'insecure-scheme');
  await refused(guard.fetch('f', [], get(`https://api.egress.test:${httpsPort}/hello`)), 'not-granted');
  assert.deepEqual(lookups, [], 'a refused host is never resolved');
  assert.deepEqual(events.map((e) => e.reason), ['not-granted', 'not-granted', 'not-granted', 'insecure-scheme', 'not-granted']);
});

test('bad urls and requests are refused', async () => {
  const { guard, events } = guardWith();
  const grants: EgressGrant[] = [{ host: 'api.egress.test', ports: [httpsPort], allowPrivateNetwork: true }];
  await refused(guard.fetch('f', grants, get('file:///etc/passwd')), 'bad-url');
  await refused(guard.fetch('f', grants, get(`https://u:p@api.egress.test:${httpsPort}/`)), 'bad-url');
  await refused(guard.fetch('f', grants, get(`https://api.egress.test:${httpsPort}/`, [['host', 'evil.test']])), 'bad-request');
  await refused(guard.fetch('f', grants, get(`https://api.egress.test:${httpsPort}/`, [['x-a', 'v\r\nx-injected: 1']])), 'bad-request');
  await refused(guard.fetch('f', grants, { method: 'CONNECT', url: `https://api.egress.test:${httpsPort}/`, headers: [], body: null }), 'bad-request');
  await refused(guard.fetch('f', grants, { method: 'POST', url: `https://api.egress.test:${httpsPort}/`, headers: [], body: new Uint8Array(limits.maxRequestBytes + 1) }), 'bad-request');
  await refused(guard.fetch('f', grants, { method: 'X'.repeat(33), url: `https://api.egress.test:${httpsPort}/`, headers: [], body: null }), 'bad-request');
  assert.equal(events.length, 7);
  assert.equal(events[0]?.host, undefined);
  assert.equal(events[4]?.method, undefined, 'a refused method is not recorded');
  assert.equal(events[6]?.method, undefined);
  // A Host header naming the same host is accepted (and replaced by the guard's own).
  const ok = await guard.fetch('f', grants, get(`https://api.egress.test:${httpsPort}/echo`, [['Host', `API.egress.test:${httpsPort}`]]));
  assert.equal(ok.status, 200);
});

test('policy decides after the grants; a deny or a throw refuses, before resolution', async () => {
  const deny = guardWith({ authorize: () => ({ effect: 'deny', policyIds: ['forbid-egress'] }) });
  await refused(deny.guard.fetch('f', [{ host: 'api.egress.test', ports: [httpsPort], allowPrivateNetwork: true }], get(`https://api.egress.test:${httpsPort}/hello`)), 'policy-denied');
  assert.deepEqual(deny.events[0]?.policyIds, ['forbid-egress']);
  assert.deepEqual(deny.lookups, []);
  const malformed = guardWith({ authorize: () => undefined as never });
  await refused(malformed.guard.fetch('f', [{ host: 'api.egress.test', ports: [httpsPort], allowPrivateNetwork: true }], get(`https://api.egress.test:${httpsPort}/hello`)), 'policy-denied');
  const throwing = guardWith({ authorize: () => Promise.reject(new Error('engine down')) });
  await refused(throwing.guard.fetch('f', [{ host: 'api.egress.test', ports: [httpsPort], allowPrivateNetwork: true }], get(`https://api.egress.test:${httpsPort}/hello`)), 'policy-denied');
});

test('a granted host that redirects to a private or ungranted host is refused at the redirect', async () => {
  const grants: EgressGrant[] = [
    { host: 'api.egress.test', ports: [httpsPort], allowPrivateNetwork: true },
    { host: 'internal.egress.test', ports: [httpsPort] },
  ];
  const cases: Array<[string, string]> = [
    [`https://internal.egress.test:${httpsPort}/hello`, 'private-address'],
    [`https://127.0.0.1:${httpsPort}/hello`, 'not-granted'],
    ['http://169.254.169.254/latest/meta-data/', 'not-granted'],
    [`http://api.egress.test:${httpsPort}/hello`, 'insecure-scheme'],
  ];
  for (const [to, reason] of cases) {
    const { guard, events } = guardWith();
    const before = seen.length;
    await refused(guard.fetch('f', grants, get(`https://api.egress.test:${httpsPort}/redirect?to=${encodeURIComponent(to)}`)), reason);
    assert.equal(seen.length, before + 1, 'only the first hop reached a server');
    assert.deepEqual(events.map((e) => [e.hop, e.reason]), [[0, 'allowed'], [1, reason]]);
  }
});

test('redirects: credentials do not cross hosts, stay on the same host, and 303 turns into GET', async () => {
  const grants: EgressGrant[] = [
    { host: 'api.egress.test', ports: [httpsPort], allowPrivateNetwork: true },
    { host: 'other.egress.test', ports: [httpsPort], allowPrivateNetwork: true },
  ];
  const { guard } = guardWith();
  const secret: EgressRequest['headers'] = [['authorization', 'Bearer s3cret'], ['cookie', 'sid=1'], ['x-other', 'kept']];
  const cross = await guard.fetch('f', grants, get(`https://api.egress.test:${httpsPort}/redirect?to=${encodeURIComponent(`https://other.egress.test:${httpsPort}/echo`)}`, secret));
  const crossEcho = JSON.parse(Buffer.from(cross.body).toString()) as { headers: Record<string, string>; servername: string };
  assert.equal(crossEcho.headers.authorization, undefined);
  assert.equal(crossEcho.headers.cookie, undefined);
  assert.equal(crossEcho.headers['x-other'], 'kept');
  assert.equal(crossEcho.servername, 'other.egress.test');
  assert.equal(cross.redirects, 1);
  const same = await guard.fetch('f', grants, get(`https://api.egress.test:${httpsPort}/redirect?to=/echo`, secret));
  assert.equal((JSON.parse(Buffer.from(same.body).toString()) as { headers: Record<string, string> }).headers.authorization, 'Bearer s3cret');
  const post = await guard.fetch('f', grants, { method: 'POST', url: `https://api.egress.test:${httpsPort}/redirect?status=303&to=/echo`, headers: [['content-type', 'text/plain']], body: new TextEncoder().encode('x') });
  const postEcho = JSON.parse(Buffer.from(post.body).toString()) as { method: string; headers: Record<string, string> };
  assert.equal(postEcho.method, 'GET');
  assert.equal(postEcho.headers['content-type'], undefined);
});

test('too many redirects', async () => {
  const { guard, events } = guardWith();
  await refused(guard.fetch('f', [{ host: 'api.egress.test', ports: [httpsPort], allowPrivateNetwork: true }], get(`https://api.egress.test:${httpsPort}/loop`)), 'too-many-redirects');
  assert.deepEqual(events.map((e) => e.reason), ['allowed', 'allowed', 'allowed', 'too-many-redirects']);
});

test('an oversized response is cut off at the limit', { timeout: 5000 }, async () => {
  const { guard, events } = guardWith();
  const grants: EgressGrant[] = [{ host: 'api.egress.test', ports: [httpsPort], allowPrivateNetwork: true }];
  const t0 = performance.now();
  await refused(guard.fetch('f', grants, get(`https://api.egress.test:${httpsPort}/big`)), 'too-large');
  await refused(guard.fetch('f', grants, get(`https://api.egress.test:${httpsPort}/declared-big`)), 'too-large');
  assert.ok(performance.now() - t0 < 2500);
  assert.deepEqual(events.map((e) => e.reason), ['too-large', 'too-large']);
});

test('a slow response times out and the socket is closed', { timeout: 5000 }, async () => {
  const { guard, events } = guardWith({ limits: { ...limits, timeoutMs: 300 } });
  const t0 = performance.now();
  await refused(guard.fetch('f', [{ host: 'api.egress.test', ports: [httpsPort], allowPrivateNetwork: true }], get(`https://api.egress.test:${httpsPort}/slow`)), 'timeout');
  const took = performance.now() - t0;
  assert.ok(took >= 250 && took < 2000, `took ${took} ms`);
  assert.equal(events[0]?.reason, 'timeout');
});

test('a slow resolver counts against the time limit', { timeout: 5000 }, async () => {
  const { guard } = guardWith({ limits: { ...limits, timeoutMs: 200 }, resolve: () => new Promise(() => {}) });
  await refused(guard.fetch('f', [{ host: 'api.egress.test' }], get('https://api.egress.test/')), 'timeout');
});

test('a cancelled invocation cancels its egress', { timeout: 5000 }, async () => {
  const { guard } = guardWith();
  const controller = new AbortController();
  const pending = guard.fetch('f', [{ host: 'api.egress.test', ports: [httpsPort], allowPrivateNetwork: true }], get(`https://api.egress.test:${httpsPort}/slow`), controller.signal);
  setTimeout(() => controller.abort(), 100);
  await refused(pending, 'cancelled');
});

test('an event sink that throws fails the request (fail closed)', async () => {
  const guard = createEgressGuard({ limits, authorize: allowAll, resolve: toLoopback, tls: { ca }, events: { onEgress: () => { throw new Error('audit down'); } } });
  await assert.rejects(guard.fetch('f', [{ host: 'api.egress.test', ports: [httpsPort], allowPrivateNetwork: true }], get(`https://api.egress.test:${httpsPort}/hello`)), /audit down/);
});

test('every event reason is from the closed vocabulary', () => {
  assert.ok(egressReasons.includes('allowed') && egressReasons.length === new Set(egressReasons).size);
});

test('limits must be sane integers: none can silently switch itself off', () => {
  for (const bad of [{ timeoutMs: 2 ** 31 }, { timeoutMs: 0 }, { maxResponseBytes: Number.NaN }, { maxRedirects: -1 }, { maxRedirects: 1.5 }]) {
    assert.throws(() => createEgressGuard({ limits: { ...limits, ...bad }, authorize: allowAll }), (e: unknown) => isPalisadeError(e, 'PAL_INTERNAL'), JSON.stringify(bad));
  }
});
