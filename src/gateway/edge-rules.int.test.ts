import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { silentLogger, systemClock, type AuditEvent } from '../kernel/index.js';
import type { RouteSpec } from '../manifest/index.js';
import { createInsecureLoopbackHttpGateway, type Gateway } from './create-gateway.js';
import { type Authenticator, type FunctionInvoker, type FunctionRequest } from './ports.js';
import { routeAuthAuthorizer } from './route-auth-authorizer.test-support.js';
import type { GatewayDeps } from './request-context.js';

// Issue 8 item 5 (HTTP edge rules) and issue 7 item 4 (what a function receives).

const route = (index: number, path: string, extra: Partial<RouteSpec> = {}): RouteSpec => ({ index, path, methods: ['GET', 'POST', 'HEAD'], function: 'echo', public: true, maxBodyBytes: 64 * 1024, auth: [], ...extra });
const routes: RouteSpec[] = [
  route(0, '/echo'),
  route(1, '/gz', { contentEncodings: ['gzip'] }),
  route(2, '/creds', { unsafeForwardCredentials: ['authorization'] }),
  route(3, '/slow', { function: 'slow' }),
  route(4, '/private', { public: false, auth: ['builtin'] }),
];
const limits = { maxHeaderBytes: 2048, headersTimeoutMs: 1000, requestTimeoutMs: 5000 };

interface Seen {
  calls: FunctionRequest[];
}

function makeInvoker(seen: Seen): FunctionInvoker {
  return {
    async invoke(fn, req) {
      seen.calls.push(req);
      if (fn === 'slow') await new Promise((r) => setTimeout(r, 300));
      return { status: 200, headers: [['content-type', 'application/json']], body: Buffer.from(JSON.stringify({ url: req.url, headers: req.headers, body: req.body === null ? null : Buffer.from(req.body).toString('utf8') })) };
    },
  };
}

const alice: Authenticator = { authenticate: async () => ({ ok: true, principal: { type: 'User', id: 'alice', roles: [], mfa: true, authMethod: 'builtin', issuer: 'palisade' } }) };

function makeDeps(events: AuditEvent[], seen: Seen): GatewayDeps {
  return { invoker: makeInvoker(seen), authenticator: alice, authorizer: routeAuthAuthorizer, audit: { append: async (e) => void events.push(e) }, logger: silentLogger, clock: systemClock };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(port: number, path: string, options: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer } = {}): Promise<Reply> {
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

/** Writes raw bytes and collects what comes back until the server closes or `waitMs` passes. */
function raw(port: number, text: string | Buffer, waitMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, waitMs);
    socket.on('data', (c) => {
      data += c.toString('latin1');
      // One response is enough: stop at the end of its body.
      const m = /content-length: (\d+)\r\n/i.exec(data);
      const headEnd = data.indexOf('\r\n\r\n');
      if (m !== null && headEnd >= 0 && data.length >= headEnd + 4 + Number(m[1])) {
        clearTimeout(timer);
        socket.destroy();
        resolve(data);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('error', () => undefined);
    socket.write(text);
  });
}

const status = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
const problemCode = (text: string) => (JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { code: string }).code;
const hasSecurityHeaders = (text: string) => /\r\nx-content-type-options: nosniff\r\n/i.test(text) && /\r\nx-frame-options: DENY\r\n/i.test(text) && /\r\nx-request-id: /i.test(text);

describe('HTTP edge rules', () => {
  const events: AuditEvent[] = [];
  const seen: Seen = { calls: [] };
  let gateway: Gateway;
  let port: number;
  before(async () => {
    gateway = createInsecureLoopbackHttpGateway({ host: '127.0.0.1', port: 0, routes, limits }, makeDeps(events, seen));
    port = (await gateway.listen()).port;
  });
  after(() => gateway.close(0));
  const eventOf = (text: string) => events.find((e) => e.requestId === /\r\nx-request-id: ([^\r]+)\r\n/i.exec(text)?.[1]);

  test('two Host headers get 400, recorded as bad-host, and the function never runs', async () => {
    const calls = seen.calls.length;
    const text = await raw(port, 'GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n');
    assert.equal(status(text), 400);
    assert.equal(problemCode(text), 'PAL_GATEWAY_BAD_REQUEST');
    assert.ok(hasSecurityHeaders(text));
    assert.equal(eventOf(text)?.reason, 'bad-host');
    assert.equal(seen.calls.length, calls);
  });

  test('a Host with userinfo, a bad port or no Host at all gets 400 with the security headers', async () => {
    for (const host of [`Host: 127.0.0.1:${port}@evil.example\r\n`, 'Host: 127.0.0.1:99999\r\n', 'Host: 127.0.0.1:abc\r\n', 'Host: a b\r\n', 'Host: \r\n', '']) {
      const text = await raw(port, `GET /echo HTTP/1.1\r\n${host}\r\n`);
      assert.equal(status(text), 400, host);
      assert.ok(hasSecurityHeaders(text), host);
    }
    const ok = await raw(port, `GET /echo HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`);
    assert.equal(status(ok), 200);
  });

  test('an empty Transfer-Encoding with Content-Length gets 400, an unknown coding 501, never framed by the other header', async () => {
    const empty = await raw(port, 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\nContent-Length: 3\r\n\r\nabc');
    assert.equal(status(empty), 400);
    assert.ok(hasSecurityHeaders(empty));
    // Node 24's HTTP parser refuses an empty Transfer-Encoding itself (a parser-level 400, before
    // any step runs); on Node 20 the gateway's framing step does, and records it.
    if (Number(process.versions.node.split('.')[0]) < 24) assert.equal(eventOf(empty)?.reason, 'bad-framing');
    const unknown = await raw(port, 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    assert.equal(status(unknown), 501);
    assert.equal(problemCode(unknown), 'PAL_GATEWAY_NOT_IMPLEMENTED');
    assert.equal(eventOf(unknown)?.outcome, 'deny');
    // Rejected by Node's parser itself (chunked not last): still problem+json with the headers.
    const parser = await raw(port, 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc');
    assert.equal(status(parser), 400);
    assert.ok(hasSecurityHeaders(parser));
  });

  test('parser-level errors (400, 431, 408) carry the security headers and problem+json', async () => {
    const malformed = await raw(port, 'GET /echo HTTP/1.1\r\nbad header line\r\n\r\n');
    assert.equal(status(malformed), 400);
    assert.ok(hasSecurityHeaders(malformed));
    assert.match(malformed, /content-type: application\/problem\+json/i);
    const big = await raw(port, `GET /echo HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(4096)}\r\n\r\n`);
    assert.equal(status(big), 431);
    assert.ok(hasSecurityHeaders(big));
    const slow = await raw(port, 'GET /echo HTTP/1.1\r\nHost: x\r\n', 6000);
    assert.equal(status(slow), 408);
    assert.ok(hasSecurityHeaders(slow));
  });

  test('an unmet Expect gets 417 and a CONNECT gets 405, both as problem+json with the security headers', async () => {
    const calls = seen.calls.length;
    const expect = await raw(port, 'POST /echo HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Length: 2\r\n\r\nhi');
    assert.equal(status(expect), 417);
    assert.ok(hasSecurityHeaders(expect));
    assert.equal(problemCode(expect), 'PAL_GATEWAY_BAD_REQUEST');
    const tunnel = await raw(port, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
    assert.equal(status(tunnel), 405);
    assert.ok(hasSecurityHeaders(tunnel));
    assert.equal(problemCode(tunnel), 'PAL_GATEWAY_METHOD_NOT_ALLOWED');
    assert.equal(seen.calls.length, calls, 'no function ran');
  });

  test('a gzip body on a route that does not declare it gets 415; a declared one is decoded and bounded', async () => {
    const plain = JSON.stringify({ hello: 'world' });
    const refused = await send(port, '/echo', { method: 'POST', headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' }, body: gzipSync(plain) });
    assert.equal(refused.status, 415);
    assert.equal((JSON.parse(refused.body) as { code: string }).code, 'PAL_GATEWAY_UNSUPPORTED_MEDIA_TYPE');
    const stacked = await send(port, '/gz', { method: 'POST', headers: { 'content-encoding': 'gzip, gzip' }, body: gzipSync(gzipSync(plain)) });
    assert.equal(stacked.status, 415);
    const decoded = await send(port, '/gz', { method: 'POST', headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' }, body: gzipSync(plain) });
    assert.equal(decoded.status, 200);
    const echoed = JSON.parse(decoded.body) as { body: string; headers: Array<[string, string]> };
    assert.equal(echoed.body, plain);
    assert.equal(echoed.headers.find(([k]) => k === 'content-encoding'), undefined);
    // A bomb: 16 MiB of zeros in ~16 KiB; the route allows 64 KiB decoded.
    const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
    assert.ok(bomb.byteLength < 64 * 1024);
    const r = await send(port, '/gz', { method: 'POST', headers: { 'content-encoding': 'gzip' }, body: bomb });
    assert.equal(r.status, 413);
    const corrupt = await send(port, '/gz', { method: 'POST', headers: { 'content-encoding': 'gzip' }, body: Buffer.from('not gzip at all') });
    assert.equal(corrupt.status, 400);
  });

  test('a GET or HEAD with a body is refused with 400 before any function runs', async () => {
    const calls = seen.calls.length;
    const get = await send(port, '/echo', { method: 'GET', headers: { 'content-length': '5' }, body: 'hello' });
    assert.equal(get.status, 400);
    assert.equal((JSON.parse(get.body) as { code: string }).code, 'PAL_GATEWAY_BAD_REQUEST');
    const chunked = await raw(port, 'GET /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    assert.equal(status(chunked), 400);
    assert.equal(eventOf(chunked)?.reason, 'body-not-allowed');
    const head = await raw(port, 'HEAD /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc');
    assert.equal(status(head), 400);
    assert.equal(seen.calls.length, calls);
  });

  test('a client abort is recorded as its own outcome, never as 500 or allowed', async () => {
    // Abort while the function runs.
    const before = events.length;
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 100);
    });
    // Abort in the middle of the body.
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npartial');
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 100);
    });
    const deadline = Date.now() + 3000;
    while (events.length < before + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const aborted = events.slice(before);
    assert.equal(aborted.length, 2);
    for (const e of aborted) {
      assert.equal(e.outcome, 'aborted');
      assert.equal(e.reason, 'client-aborted');
      assert.equal(e.code, 'PAL_GATEWAY_CLIENT_ABORTED');
      assert.notEqual(e.status, 500);
    }
  });
});

describe('what a function receives', () => {
  const events: AuditEvent[] = [];
  const seen: Seen = { calls: [] };
  let gateway: Gateway;
  let port: number;
  before(async () => {
    gateway = createInsecureLoopbackHttpGateway({ host: '127.0.0.1', port: 0, routes, limits, origin: 'https://api.example.com' }, makeDeps(events, seen));
    port = (await gateway.listen()).port;
  });
  after(() => gateway.close(0));

  const echo = async (path: string, headers: Record<string, string | string[]>) => {
    const r = await send(port, path, { headers });
    assert.equal(r.status, 200, r.body);
    const body = JSON.parse(r.body) as { url: string; headers: Array<[string, string]> };
    const all = (name: string) => body.headers.filter(([k]) => k === name).map(([, v]) => v);
    return { url: body.url, all };
  };

  test('credentials are removed before the function; the caller arrives as ctx.principal instead', async () => {
    const f = await echo('/private?x=1', { authorization: 'Bearer secret-token', cookie: 'session=s3cret', 'proxy-authorization': 'Basic cHJveHk=', 'x-api-key': 'pal_live_key', accept: 'application/json' });
    for (const name of ['authorization', 'cookie', 'proxy-authorization', 'x-api-key']) assert.deepEqual(f.all(name), [], name);
    assert.deepEqual(f.all('accept'), ['application/json']);
    const last = seen.calls.at(-1);
    assert.ok(last !== undefined && !JSON.stringify(last).includes('s3cret') && !JSON.stringify(last).includes('secret-token'));
  });

  test('a route that opts in with unsafeForwardCredentials gets only the headers it names', async () => {
    const f = await echo('/creds', { authorization: 'Bearer t', cookie: 'session=s3cret' });
    assert.deepEqual(f.all('authorization'), ['Bearer t']);
    assert.deepEqual(f.all('cookie'), []);
  });

  test('Forwarded and X-Forwarded-* are set by the gateway, never passed through', async () => {
    const f = await echo('/echo', { 'x-forwarded-for': '6.6.6.6', forwarded: 'for=6.6.6.6;host=evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http', 'x-real-ip': '6.6.6.6' });
    assert.deepEqual(f.all('x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(f.all('forwarded'), ['for=127.0.0.1;proto=https;host=api.example.com']);
    assert.deepEqual(f.all('x-forwarded-host'), ['api.example.com']);
    assert.deepEqual(f.all('x-forwarded-proto'), ['https']);
    assert.deepEqual(f.all('x-real-ip'), []);
  });

  test('a route that forwards credentials is announced at start with a code', () => {
    const warnings: Array<{ msg: string; fields: unknown }> = [];
    const logger = { ...silentLogger, warn: (msg: string, fields?: unknown) => void warnings.push({ msg, fields }) };
    const g = createInsecureLoopbackHttpGateway({ host: '127.0.0.1', port: 0, routes, limits }, { ...makeDeps([], { calls: [] }), logger });
    void g;
    const forwarding = warnings.filter((w) => /unsafeForwardCredentials/.test(w.msg));
    assert.equal(forwarding.length, 1);
    assert.deepEqual(forwarding[0]?.fields, { code: 'PAL_MANIFEST_INSECURE_SETTING', route: '/creds', reason: 'authorization' });
  });

  test('request.url and Host use the configured origin, not the client Host', async () => {
    const f = await echo('/echo?q=1', { host: 'attacker.example' });
    assert.equal(f.url, 'https://api.example.com/echo?q=1');
    assert.deepEqual(f.all('host'), ['api.example.com']);
  });
});
