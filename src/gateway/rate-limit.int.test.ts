import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { silentLogger, systemClock, type AuditEvent } from '../kernel/index.js';
import type { RouteSpec } from '../manifest/index.js';
import { createInsecureLoopbackHttpGateway, type Gateway } from './create-gateway.js';
import { addressKey, memoryRateLimitStore } from './rate-limiters.js';
import { type Authenticator, type FunctionInvoker } from './ports.js';
import { routeAuthAuthorizer } from './route-auth-authorizer.test-support.js';
import type { GatewayDeps } from './request-context.js';

// Issue 8 item 7: rate limits. Windows are long (60 s) wherever a count is asserted, so a slow
// machine cannot make the test race the window.

const routes: RouteSpec[] = [
  { index: 0, path: '/limited', methods: ['GET'], function: 'f', public: false, maxBodyBytes: 0, auth: ['builtin'], rateLimit: { points: 10, durationSec: 60, burst: 0, by: 'principal' } },
  { index: 1, path: '/bursty', methods: ['GET'], function: 'f', public: false, maxBodyBytes: 0, auth: ['builtin'], rateLimit: { points: 4, durationSec: 60, burst: 3, by: 'principal' } },
  { index: 2, path: '/open', methods: ['GET'], function: 'f', public: true, maxBodyBytes: 0, auth: [], rateLimit: { points: 6, durationSec: 60, burst: 0, by: 'address' } },
  { index: 3, path: '/free', methods: ['GET'], function: 'f', public: true, maxBodyBytes: 0, auth: [] },
];
const limits = { maxHeaderBytes: 4096, headersTimeoutMs: 2000, requestTimeoutMs: 10000 };

// "Bearer <name>" is user <name>; the same id from another issuer is another caller.
const authenticator: Authenticator = {
  authenticate: async ({ headers }) => {
    const m = /^Bearer (\w+)(?:@(\w+))?$/.exec(headers.authorization ?? '');
    if (m === null) return { ok: false, reason: 'no-credentials', challenge: 'Bearer' };
    return { ok: true, principal: { type: 'User', id: m[1] as string, roles: [], mfa: true, authMethod: 'builtin', issuer: m[2] ?? 'palisade' } };
  },
};
const invoker: FunctionInvoker = { invoke: async () => ({ status: 200, headers: [], body: Buffer.from('ok') }) };

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

function get(port: number, path: string, user?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: user === undefined ? {} : { authorization: `Bearer ${user}` }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const count = (replies: Reply[], status: number) => replies.filter((r) => r.status === status).length;

function deps(events: AuditEvent[], overrides: Partial<GatewayDeps> = {}): GatewayDeps {
  return { invoker, authenticator, authorizer: routeAuthAuthorizer, audit: { append: async (e) => void events.push(e) }, logger: silentLogger, clock: systemClock, ...overrides };
}

describe('route rate limits', () => {
  const events: AuditEvent[] = [];
  let gateway: Gateway;
  let port: number;
  before(async () => {
    gateway = createInsecureLoopbackHttpGateway({ host: '127.0.0.1', port: 0, routes, limits }, deps(events));
    port = (await gateway.listen()).port;
  });
  after(() => gateway.close(0));

  test('the limit holds exactly under concurrent requests, and one caller flood does not throttle another', async () => {
    const flood = Array.from({ length: 40 }, () => get(port, '/limited', 'mallory'));
    const others = Array.from({ length: 8 }, () => get(port, '/limited', 'alice'));
    const sameIdOtherIssuer = Array.from({ length: 8 }, () => get(port, '/limited', 'mallory@corp'));
    const [m, a, c] = await Promise.all([Promise.all(flood), Promise.all(others), Promise.all(sameIdOtherIssuer)]);
    assert.equal(count(m, 200), 10);
    assert.equal(count(m, 429), 30);
    assert.equal(count(a, 200), 8, 'another principal keeps its own quota');
    assert.equal(count(c, 200), 8, 'the same sub from another issuer is another caller');
    const refused = m.find((r) => r.status === 429);
    assert.ok(Number(refused?.headers['retry-after']) >= 1 && Number(refused?.headers['retry-after']) <= 60);
    assert.equal(refused?.headers['ratelimit-limit'], '10');
    assert.equal(refused?.headers['ratelimit-remaining'], '0');
    assert.equal(refused?.headers['ratelimit-policy'], '10;w=60');
    assert.equal(refused?.headers['x-frame-options'], 'DENY');
    const allowed = a.find((r) => r.status === 200);
    assert.ok(allowed?.headers['ratelimit-remaining'] !== undefined);
    assert.ok(events.some((e) => e.reason === 'rate-limited' && e.outcome === 'deny' && e.status === 429));
  });

  test('a burst allows exactly points + burst in a window', async () => {
    const replies = await Promise.all(Array.from({ length: 15 }, () => get(port, '/bursty', 'bob')));
    assert.equal(count(replies, 200), 7);
    assert.equal(count(replies, 429), 8);
  });

  test('a public route counts per address', async () => {
    const replies = await Promise.all(Array.from({ length: 12 }, () => get(port, '/open')));
    assert.equal(count(replies, 200), 6);
    assert.equal(count(replies, 429), 6);
  });

  test('an unauthenticated caller is refused before it can spend a principal quota', async () => {
    const replies = await Promise.all(Array.from({ length: 5 }, () => get(port, '/limited')));
    assert.equal(count(replies, 401), 5);
  });
});

describe('gateway-wide limit per address', () => {
  test('holds exactly under concurrent load, before authentication, across routes', async () => {
    const gateway = createInsecureLoopbackHttpGateway({ host: '127.0.0.1', port: 0, routes, limits, rateLimit: { points: 5, durationSec: 60, burst: 0, by: 'address' } }, deps([]));
    const { port } = await gateway.listen();
    try {
      const health = await get(port, '/_palisade/health');
      assert.equal(health.status, 200, 'health is not counted');
      const replies = await Promise.all([...Array.from({ length: 6 }, () => get(port, '/free')), ...Array.from({ length: 6 }, () => get(port, '/limited'))]);
      assert.equal(count(replies, 429), 7);
      assert.equal(replies.length - count(replies, 429), 5);
    } finally {
      await gateway.close(0);
    }
  });

  test('a store that cannot count denies (deny on error)', async () => {
    const broken = { createLimiter: () => ({ consume: async () => { throw new Error('store down'); } }) };
    const gateway = createInsecureLoopbackHttpGateway({ host: '127.0.0.1', port: 0, routes, limits, rateLimit: { points: 5, durationSec: 60, burst: 0, by: 'address' } }, deps([], { rateLimitStore: broken }));
    const { port } = await gateway.listen();
    try {
      assert.equal((await get(port, '/free')).status, 429);
    } finally {
      await gateway.close(0);
    }
  });
});

describe('rate limiter', () => {
  test('a window resets after the announced time', async () => {
    const limiter = memoryRateLimitStore.createLimiter('reset-test', { points: 3, durationSec: 1, burst: 0, by: 'address' });
    // Consumed in one tick: all four land in the same window whatever the machine load.
    const first = await Promise.all([limiter.consume('k'), limiter.consume('k'), limiter.consume('k'), limiter.consume('k')]);
    assert.deepEqual(first.map((v) => v.allowed), [true, true, true, false]);
    const refused = first[3];
    assert.ok(refused !== undefined && refused.resetSec >= 1);
    await new Promise((r) => setTimeout(r, (refused?.resetSec ?? 1) * 1000 + 50));
    assert.equal((await limiter.consume('k')).allowed, true);
    assert.equal((await limiter.consume('other')).allowed, true);
  });

  test('IPv6 addresses are counted per /64, IPv4-mapped as IPv4', () => {
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'));
    assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
    assert.equal(addressKey('2001:0db8:0001:0002::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('::ffff:10.0.0.1'), '10.0.0.1');
    assert.equal(addressKey('10.0.0.1'), '10.0.0.1');
  });
});
