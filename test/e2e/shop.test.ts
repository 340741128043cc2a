import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fetchTls, repoRoot, runCliSync, startUp, type RunningCli } from '../helpers/cli.js';

// The README's example, started by the real CLI and called over real HTTPS.
describe('examples/shop over https', () => {
  let node: RunningCli;
  before(async () => {
    node = await startUp(join(repoRoot, 'examples', 'shop'));
  });
  after(async () => {
    assert.equal(await node.stop(), 0, 'SIGTERM exits 0');
  });

  test('announces an https url and a CA file', () => {
    assert.match(node.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(node.ca ?? '', /BEGIN CERTIFICATE/);
  });

  test('health is public and says only that the node is up', async () => {
    const r = await fetchTls(node.url, node.ca, '/_palisade/health');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { status: 'ok' });
  });

  test('a public route runs its function in an isolate', async () => {
    const r = await fetchTls(node.url, node.ca, '/api/products/p-200');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { id: 'p-200', name: 'Hand grinder', priceCents: 8900 });
    const list = JSON.parse((await fetchTls(node.url, node.ca, '/api/products?maxPriceCents=2000')).body) as { products: unknown[] };
    assert.equal(list.products.length, 1);
  });

  test('bindings reach the function env, and the request id is shared with it', async () => {
    const r = await fetchTls(node.url, node.ca, '/');
    const body = JSON.parse(r.body) as { message: string; currency: string; requestId: string };
    assert.equal(body.message, 'Welcome to the shop');
    assert.equal(body.currency, 'EUR');
    assert.equal(body.requestId, r.headers['x-request-id']);
    assert.equal(r.headers['strict-transport-security'], 'max-age=63072000; includeSubDomains');
  });

  test('function console output lands in the operator log tagged with the request id', async () => {
    const r = await fetchTls(node.url, node.ca, '/');
    const find = () => node.stderr().split('\n').find((l) => l.includes('greeting a visitor') && l.includes(String(r.headers['x-request-id'])));
    for (let i = 0; i < 20 && find() === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    const line = find();
    assert.ok(line, 'log line found');
    assert.equal((JSON.parse(line) as { function: string }).function, 'greet');
  });

  test('private routes answer 401 and never run the function', async () => {
    const r = await fetchTls(node.url, node.ca, '/api/orders', { method: 'POST', body: '{"lines":[{"productId":"p-100","quantity":1}]}', headers: { 'content-type': 'application/json', authorization: 'Bearer forged.token.value' } });
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="palisade", error="invalid_token"');
    const bare = await fetchTls(node.url, node.ca, '/api/orders');
    assert.equal(bare.status, 401);
    assert.equal(bare.headers['www-authenticate'], 'Bearer realm="palisade"');
    const problem = JSON.parse(r.body) as { code: string; requestId: string };
    assert.equal(problem.code, 'PAL_GATEWAY_UNAUTHENTICATED');
    assert.ok(!node.stderr().includes('forged.token.value'), 'the token never reaches the log');
    assert.ok(!node.stderr().includes('productId'), 'the body never reaches the log');
  });

  test('a JSON body reaches the function exactly (an order is accepted over a private route)', async () => {
    const key = runCliSync(['apikeys', 'create', join(repoRoot, 'examples', 'shop'), '--name', 'e2e', '--role', 'customer', '--json']);
    assert.equal(key.status, 0, key.stderr);
    const { key: apiKey } = JSON.parse(key.stdout) as { key: string };
    const r = await fetchTls(node.url, node.ca, '/api/orders', { method: 'POST', body: '{"lines":[{"productId":"p-100","quantity":2}]}', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` } });
    assert.equal(r.status, 201, r.body);
    const order = JSON.parse(r.body) as { id: string; lines: unknown[]; status: string };
    assert.match(order.id, /^ord_[A-Za-z0-9_-]{12}$/, 'nanoid, the npm dependency, ran in the isolate');
    assert.deepEqual(order.lines, [{ productId: 'p-100', quantity: 2 }]);
    assert.equal(runCliSync(['apikeys', 'revoke', join(repoRoot, 'examples', 'shop'), '--id', apiKey.slice(4, 20)]).status, 0);
  });

  test('an order that does not match the route schema gets 422 from the gateway; a GET with a body gets 400, not 500', async () => {
    const key = runCliSync(['apikeys', 'create', join(repoRoot, 'examples', 'shop'), '--name', 'e2e-schema', '--role', 'customer', '--json']);
    assert.equal(key.status, 0, key.stderr);
    const { key: apiKey } = JSON.parse(key.stdout) as { key: string };
    try {
      const r = await fetchTls(node.url, node.ca, '/api/orders', { method: 'POST', body: '{"lines":[{"productId":"x","quantity":0}]}', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` } });
      assert.equal(r.status, 422, r.body);
      const problem = JSON.parse(r.body) as { code: string; errors: Array<{ pointer: string }> };
      assert.equal(problem.code, 'PAL_GATEWAY_INVALID_BODY');
      assert.deepEqual(problem.errors.map((e) => e.pointer).sort(), ['/lines/0/productId', '/lines/0/quantity']);
      assert.equal(r.headers['ratelimit-limit'], '140', 'the route limit (120 + burst 20) is announced on every answer');
      const typed = await fetchTls(node.url, node.ca, '/api/orders', { method: 'POST', body: '{"lines":[]}', headers: { 'content-type': 'text/plain', authorization: `Bearer ${apiKey}` } });
      assert.equal(typed.status, 415);
      // The isolate's Request constructor throws on a GET body: the gateway refuses it first.
      const get = await fetchTls(node.url, node.ca, '/api/products', { method: 'GET', body: 'surprise', headers: { 'content-type': 'text/plain' } });
      assert.equal(get.status, 400, get.body);
      assert.equal((JSON.parse(get.body) as { code: string }).code, 'PAL_GATEWAY_BAD_REQUEST');
    } finally {
      runCliSync(['apikeys', 'revoke', join(repoRoot, 'examples', 'shop'), '--id', apiKey.slice(4, 20)]);
    }
  });

  test('path tricks are rejected before routing', async () => {
    for (const path of ['/api/products/../orders', '/api/products/%2e%2e/orders', '/api%2fproducts', '//api/products']) {
      const r = await fetchTls(node.url, node.ca, path);
      assert.equal(r.status, 400, path);
    }
  });
});
