import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { isPalisadeError, silentLogger, systemClock, type AuditEvent } from '../kernel/index.js';
import type { RouteSpec } from '../manifest/index.js';
import { createGateway, createInsecureLoopbackHttpGateway, type Gateway, type GatewayConfig } from './create-gateway.js';
import { ensureLocalTls } from './ensure-local-tls.js';
import { denyAllAuthorizer, rejectAllAuthenticator, type Authenticator, type FunctionInvoker } from './ports.js';
import type { GatewayDeps } from './request-context.js';

const route = (index: number, path: string, fn: string, extra: Partial<RouteSpec> = {}): RouteSpec => ({ index, path, methods: ['GET', 'POST', 'HEAD'], function: fn, public: true, maxBodyBytes: 64, auth: [], ...extra });
const routes: RouteSpec[] = [
  route(0, '/echo', 'echo'),
  route(1, '/slow', 'slow'),
  route(2, '/private', 'echo', { public: false }),
  route(3, '/rude', 'rude'),
  route(4, '/badheader', 'badheader'),
];
const limits = { maxHeaderBytes: 2048, headersTimeoutMs: 1000, requestTimeoutMs: 5000 };

// A small in-process invoker for the gateway's own behaviour; the real worker runtime is
// exercised end to end in test/e2e.
const invoker: FunctionInvoker = {
  async invoke(fn, req) {
    if (fn === 'slow') await new Promise((r) => setTimeout(r, 400));
    if (fn === 'rude') return { status: 200, headers: [['server', 'nginx/1.0'], ['x-powered-by', 'php'], ['x-frame-options', 'ALLOWALL'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']], body: Buffer.from('rude') };
    if (fn === 'badheader') return { status: 200, headers: [['x-bad', 'a\r\nset-cookie: injected=1']], body: Buffer.from('x') };
    return { status: 200, headers: [['content-type', 'application/json']], body: Buffer.from(JSON.stringify({ url: req.url, rid: req.requestId, len: req.body?.byteLength ?? 0, xrid: req.headers.filter(([k]) => k === 'x-request-id').map(([, v]) => v) })) };
  },
};

function makeDeps(events: AuditEvent[], overrides: Partial<GatewayDeps> = {}): GatewayDeps {
  return { invoker, authenticator: rejectAllAuthenticator, authorizer: denyAllAuthorizer, audit: { append: async (e) => void events.push(e) }, logger: silentLogger, clock: systemClock, ...overrides };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function raw(port: number, text: string, waitMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, waitMs);
    socket.on('data', (c) => (data += c.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('error', () => undefined);
    socket.write(text);
  });
}

describe('gateway over plain http on loopback', () => {
  const events: AuditEvent[] = [];
  let gateway: Gateway;
  let port: number;
  before(async () => {
    gateway = createInsecureLoopbackHttpGateway({ host: '127.0.0.1', port: 0, routes, limits }, makeDeps(events));
    port = (await gateway.listen()).port;
  });
  after(() => gateway.close(0));

  test('relays a function response with security headers and a fresh request id', async () => {
    const a = await get(port, '/echo?q=1', { headers: { 'x-request-id': 'spoofed' } });
    const b = await get(port, '/echo');
    assert.equal(a.status, 200);
    assert.equal(a.headers['x-content-type-options'], 'nosniff');
    assert.equal(a.headers['x-frame-options'], 'DENY');
    assert.equal(a.headers['referrer-policy'], 'no-referrer');
    assert.equal(a.headers['strict-transport-security'], undefined, 'no HSTS over plain http');
    assert.notEqual(a.headers['x-request-id'], 'spoofed');
    assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
    const body = JSON.parse(a.body) as { url: string; rid: string; xrid: string[] };
    assert.equal(body.url, `http://127.0.0.1:${port}/echo?q=1`);
    assert.equal(body.rid, a.headers['x-request-id']);
    assert.deepEqual(body.xrid, [body.rid], 'the function sees only the gateway request id');
  });

  test('a function cannot set a server banner or weaken security headers', async () => {
    const r = await get(port, '/rude');
    assert.equal(r.headers.server, undefined);
    assert.equal(r.headers['x-powered-by'], undefined);
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
  });

  test('a function header with CR/LF cannot split the response', async () => {
    const r = await get(port, '/badheader');
    assert.equal(r.status, 500);
    assert.equal(r.headers['set-cookie'], undefined);
    assert.equal(r.headers['content-type'], 'application/problem+json');
  });

  test('HEAD gets headers and no body', async () => {
    const r = await get(port, '/echo', { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
  });

  test('a private route answers 401 with a challenge and problem+json, recording the reason', async () => {
    const r = await get(port, '/private');
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="palisade"');
    assert.equal(r.headers['content-type'], 'application/problem+json');
    const problem = JSON.parse(r.body) as { code: string; requestId: string };
    assert.equal(problem.code, 'PAL_GATEWAY_UNAUTHENTICATED');
    const event = events.find((e) => e.requestId === problem.requestId);
    assert.equal(event?.reason, 'no-credentials');
    assert.equal(event?.outcome, 'deny');
  });

  test('404 and 405 with an allow header', async () => {
    assert.equal((await get(port, '/nope')).status, 404);
    const r = await get(port, '/echo', { method: 'DELETE' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET, POST, HEAD');
  });

  test('rejects unsafe raw paths before routing', async () => {
    for (const path of ['/echo/../private', '/%2e%2e/private', '/echo%2f..', '//echo', '/echo%00']) {
      const r = await get(port, path);
      assert.equal(r.status, 400, path);
      assert.equal((JSON.parse(r.body) as { code: string }).code, 'PAL_GATEWAY_BAD_PATH');
    }
  });

  test('a declared body over the route limit is refused with 413 before it is read', async () => {
    const r = await get(port, '/echo', { method: 'POST', body: 'x'.repeat(65) });
    assert.equal(r.status, 413);
    assert.equal((await get(port, '/echo', { method: 'POST', body: 'x'.repeat(64) })).status, 200);
  });

  test('a chunked body that grows past the limit is cut with 413', async () => {
    const text = await raw(port, `POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n40\r\n${'a'.repeat(64)}\r\n40\r\n${'b'.repeat(64)}\r\n0\r\n\r\n`, 1500);
    assert.match(text, /^HTTP\/1\.1 413/);
  });

  test('an oversized request head gets 431', async () => {
    const text = await raw(port, `GET /echo HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(4096)}\r\n\r\n`, 1500);
    assert.match(text, /^HTTP\/1\.1 431/);
  });

  test('malformed HTTP gets 400 and a closed connection', async () => {
    const text = await raw(port, 'GET /echo HTTP/1.1\r\nbad header line\r\n\r\n', 1500);
    assert.match(text, /^HTTP\/1\.1 400/);
  });

  test('a slowloris client that never finishes its headers is cut off', async () => {
    const started = Date.now();
    const text = await raw(port, 'GET /echo HTTP/1.1\r\nhost: x\r\nx-a: 1\r\n', 6000);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5000, `connection held for ${elapsed} ms`);
    assert.ok(text === '' || /^HTTP\/1\.1 408/.test(text), text);
  });

  test('one audit event per request', async () => {
    const before = events.length;
    await get(port, '/echo');
    await get(port, '/nope');
    assert.equal(events.length, before + 2);
  });
});

describe('gateway decisions', () => {
  test('built-in endpoint denials carry their own reason and headers (a bad path is bad-path, not internal-error)', async () => {
    const events: AuditEvent[] = [];
    const endpoints = { prefix: '/_palisade/auth', handle: async () => ({ kind: 'denied' as const, status: 429 as const, action: 'login' as const, authFailure: 'throttled' as const, retryAfterSec: 7 }) };
    const gateway = createInsecureLoopbackHttpGateway({ host: '127.0.0.1', port: 0, routes, limits }, makeDeps(events, { endpoints }));
    const { port } = await gateway.listen();
    try {
      const bad = await get(port, '/_palisade/auth/%2e%2e/x');
      assert.equal(bad.status, 400);
      const badEvent = events.find((e) => e.requestId === bad.headers['x-request-id']);
      assert.equal(badEvent?.reason, 'bad-path');
      assert.equal(badEvent?.outcome, 'deny');
      const wrongType = await get(port, '/_palisade/auth/login', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
      assert.equal(events.find((e) => e.requestId === wrongType.headers['x-request-id'])?.reason, 'unsupported-media-type');
      const throttled = await get(port, '/_palisade/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(throttled.status, 429);
      assert.equal(throttled.headers['retry-after'], '7');
      assert.equal(throttled.headers['x-frame-options'], 'DENY');
      const event = events.find((e) => e.requestId === throttled.headers['x-request-id']);
      assert.equal(event?.action, 'login');
      assert.equal(event?.authFailure, 'throttled');
    } finally {
      await gateway.close(0);
    }
  });

  test('an authenticated caller without an allowing policy gets 403', async () => {
    const events: AuditEvent[] = [];
    const authenticator: Authenticator = { authenticate: async () => ({ ok: true, principal: { type: 'User', id: 'u1', issuer: 'https://idp.example', roles: [], mfa: false, authMethod: 'builtin' } }) };
    const gateway = createInsecureLoopbackHttpGateway({ host: '127.0.0.1', port: 0, routes, limits }, makeDeps(events, { authenticator }));
    const { port } = await gateway.listen();
    try {
      const r = await get(port, '/private');
      assert.equal(r.status, 403);
      assert.equal(events[0]?.reason, 'policy-denied');
      assert.equal(events[0]?.principal?.id, 'u1');
    } finally {
      await gateway.close(0);
    }
  });

  test('an authorizer that throws denies (deny on error)', async () => {
    const authenticator: Authenticator = { authenticate: async () => ({ ok: true, principal: { type: 'User', id: 'u1', issuer: 'https://idp.example', roles: [], mfa: false, authMethod: 'builtin' } }) };
    const gateway = createInsecureLoopbackHttpGateway({ host: '127.0.0.1', port: 0, routes, limits }, makeDeps([], { authenticator, authorizer: { authorize: async () => { throw new Error('engine down'); }, authorizeAdmin: async () => { throw new Error('engine down'); } } }));
    const { port } = await gateway.listen();
    try {
      assert.equal((await get(port, '/private')).status, 403);
    } finally {
      await gateway.close(0);
    }
  });

  test('audit that cannot record fails closed with 503: the function response is not released', async () => {
    const gateway = createInsecureLoopbackHttpGateway({ host: '127.0.0.1', port: 0, routes, limits }, makeDeps([], { audit: { append: async () => { throw new Error('disk full'); } } }));
    const { port } = await gateway.listen();
    try {
      const r = await get(port, '/echo');
      assert.equal(r.status, 503);
      assert.ok(r.body.includes('PAL_AUDIT_UNAVAILABLE'));
      assert.ok(!r.body.includes('"url"'));
      assert.ok(!r.body.includes('disk full'));
    } finally {
      await gateway.close(0);
    }
  });

  test('close() drains in-flight requests and refuses new connections', async () => {
    const gateway = createInsecureLoopbackHttpGateway({ host: '127.0.0.1', port: 0, routes, limits }, makeDeps([]));
    const { port } = await gateway.listen();
    const slow = get(port, '/slow');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(gateway.inFlight(), 1);
    const closing = gateway.close(5000);
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(get(port, '/echo'));
    assert.equal((await slow).status, 200);
    await closing;
  });

  test('plain http is refused on a non-loopback address', () => {
    assert.throws(
      () => createInsecureLoopbackHttpGateway({ host: '0.0.0.0', port: 0, routes, limits }, makeDeps([])),
      (e: unknown) => isPalisadeError(e, 'PAL_MANIFEST_INSECURE_SETTING'),
    );
  });

  test('a port in use is a clear PAL_GATEWAY_LISTEN_FAILED', async () => {
    const first = createInsecureLoopbackHttpGateway({ host: '127.0.0.1', port: 0, routes, limits }, makeDeps([]));
    const { port } = await first.listen();
    try {
      const second = createInsecureLoopbackHttpGateway({ host: '127.0.0.1', port, routes, limits }, makeDeps([]));
      await assert.rejects(second.listen(), (e: unknown) => isPalisadeError(e, 'PAL_GATEWAY_LISTEN_FAILED') && /already in use/.test(e.message));
    } finally {
      await first.close(0);
    }
  });
});

describe('gateway over https', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'palisade-tls-'));
  let gateway: Gateway;
  let port: number;
  let ca: string;
  let tls: Awaited<ReturnType<typeof ensureLocalTls>>;
  before(async () => {
    tls = await ensureLocalTls(stateDir, systemClock);
    ca = (await import('node:fs')).readFileSync(tls.caFile ?? '', 'utf8');
    const config: GatewayConfig = { host: '127.0.0.1', port: 0, routes, limits };
    gateway = createGateway(config, tls, makeDeps([]));
    port = (await gateway.listen() as AddressInfo).port;
  });
  after(() => gateway.close(0));

  test('serves TLS trusted by the generated CA, with HSTS', async () => {
    const r = await new Promise<Reply>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path: '/echo', ca, servername: 'localhost', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['strict-transport-security'], 'max-age=63072000; includeSubDomains');
  });

  test('a client that does not trust the CA is refused', async () => {
    await assert.rejects(new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path: '/echo', agent: false }, resolve);
      req.on('error', reject);
      req.end();
    }), /self-signed|unable to verify|certificate/i);
  });

  test('TLS 1.1 is refused (by the server: the same client completes TLS 1.1 with a server that allows it)', async () => {
    // Node's client refuses TLS 1.1 by itself at the default security level; SECLEVEL=0 makes it
    // offer TLS 1.1 for real, so this test fails if the gateway ever accepts it.
    const legacy = { ciphers: 'DEFAULT@SECLEVEL=0', minVersion: 'TLSv1' as const, maxVersion: 'TLSv1.1' as const };
    const handshake = (p: number) =>
      new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port: p, ca, servername: 'localhost', ...legacy }, () => {
          const version = socket.getProtocol() ?? '';
          socket.end();
          resolve(version);
        });
        socket.on('error', reject);
      });
    const tls = await ensureLocalTls(stateDir, systemClock);
    const permissive = createTlsServer({ cert: tls.cert, key: tls.key, ...legacy }, (s) => s.end());
    await new Promise<void>((r) => permissive.listen(0, '127.0.0.1', r));
    try {
      assert.equal(await handshake((permissive.address() as AddressInfo).port), 'TLSv1.1', 'control: the client really offers TLS 1.1');
    } finally {
      await new Promise((r) => permissive.close(r));
    }
    await assert.rejects(handshake(port), /protocol version|unsupported protocol|alert/i);
  });

  test('the generated private keys are readable by the owner only', async () => {
    const { statSync } = await import('node:fs');
    for (const f of ['ca-key.pem', 'server-key.pem']) assert.equal(statSync(join(stateDir, 'tls', f)).mode & 0o777, 0o600, f);
    assert.equal(statSync(join(stateDir, 'tls')).mode & 0o777, 0o700);
  });

  test('a second start reuses the CA instead of issuing a new one', async () => {
    const again = await ensureLocalTls(stateDir, systemClock);
    assert.equal((await import('node:fs')).readFileSync(again.caFile ?? '', 'utf8'), ca);
  });
});
