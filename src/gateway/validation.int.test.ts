import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { silentLogger, systemClock, type AuditEvent } from '../kernel/index.js';
import type { RouteSpec } from '../manifest/index.js';
import { createInsecureLoopbackHttpGateway, type Gateway } from './create-gateway.js';
import { denyAllAuthorizer, rejectAllAuthenticator, type FunctionInvoker } from './ports.js';

// Issue 8 item 6: input validation per route, before any function runs.

const orderSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sku', 'qty'],
  properties: { sku: { type: 'string', minLength: 1 }, qty: { type: 'integer', minimum: 1 }, email: { type: 'string', format: 'email' }, lines: { type: 'array' } },
};
const routes: RouteSpec[] = [
  { index: 0, path: '/orders', methods: ['GET', 'POST'], function: 'orders', public: true, maxBodyBytes: 2 * 1024 * 1024, auth: [], schema: { POST: { file: '/p/schemas/order.json', schema: orderSchema } }, contentTypes: ['application/json'] },
  { index: 1, path: '/text', methods: ['POST'], function: 'orders', public: true, maxBodyBytes: 1024, auth: [], contentTypes: ['text/plain'] },
  { index: 2, path: '/free', methods: ['POST'], function: 'orders', public: true, maxBodyBytes: 1024, auth: [] },
];
const limits = { maxHeaderBytes: 4096, headersTimeoutMs: 1000, requestTimeoutMs: 5000, maxJsonDepth: 8, maxJsonKeys: 100 };

interface Reply {
  status: number;
  body: string;
  json: { code?: string; errors?: Array<{ pointer: string; detail: string }> };
}

function post(port: number, path: string, body: string | Buffer, type = 'application/json'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': type }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = {};
        try {
          json = JSON.parse(text) as object;
        } catch {
          // not json
        }
        resolve({ status: res.statusCode ?? 0, body: text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('route body validation', () => {
  const events: AuditEvent[] = [];
  let invoked = 0;
  const invoker: FunctionInvoker = {
    async invoke() {
      invoked++;
      return { status: 200, headers: [], body: Buffer.from('ok') };
    },
  };
  let gateway: Gateway;
  let port: number;
  before(async () => {
    gateway = createInsecureLoopbackHttpGateway({ host: '127.0.0.1', port: 0, routes, limits }, { invoker, authenticator: rejectAllAuthenticator, authorizer: denyAllAuthorizer, audit: { append: async (e) => void events.push(e) }, logger: silentLogger, clock: systemClock });
    port = (await gateway.listen()).port;
  });
  after(() => gateway.close(0));

  test('a valid body reaches the function', async () => {
    const before = invoked;
    const r = await post(port, '/orders', JSON.stringify({ sku: 'a1', qty: 2, email: 'a@example.com' }));
    assert.equal(r.status, 200);
    assert.equal(invoked, before + 1);
  });

  test('an invalid body gets 422 problem+json listing each error with its JSON pointer, and no function runs', async () => {
    const before = invoked;
    const r = await post(port, '/orders', JSON.stringify({ qty: 0, email: 'not-an-email', extra: true }));
    assert.equal(r.status, 422);
    assert.equal(r.json.code, 'PAL_GATEWAY_INVALID_BODY');
    const pointers = (r.json.errors ?? []).map((e) => e.pointer).sort();
    assert.deepEqual(pointers, ['/email', '/extra', '/qty', '/sku']);
    assert.ok((r.json.errors ?? []).every((e) => typeof e.detail === 'string' && e.detail.length > 0));
    assert.equal(invoked, before);
    assert.equal(events.at(-1)?.reason, 'invalid-body');
  });

  test('a wrong content type gets 415', async () => {
    const before = invoked;
    assert.equal((await post(port, '/orders', JSON.stringify({ sku: 'a', qty: 1 }), 'text/plain')).status, 415);
    assert.equal((await post(port, '/orders', JSON.stringify({ sku: 'a', qty: 1 }), 'application/json; charset=utf-8')).status, 200);
    assert.equal((await post(port, '/text', 'hi', 'application/json')).status, 415);
    assert.equal((await post(port, '/text', 'hi', 'text/plain')).status, 200);
    assert.equal((await post(port, '/free', 'hi', 'application/x-anything')).status, 200, 'a route without contentTypes accepts any type');
    assert.equal(invoked, before + 3);
  });

  test('malformed JSON, prototype keys, invalid utf-8 and an empty body get 400', async () => {
    const before = invoked;
    for (const body of ['{"sku":', '{"__proto__":{"admin":true},"sku":"a","qty":1}', '{"sku":"a","qty":1,"lines":[{"__proto\\u005f_":{"admin":true}}]}', '{"sku":"a","qty":1,"lines":[[{"constructor":{}}]]}', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), '']) {
      const r = await post(port, '/orders', body);
      assert.equal(r.status, 400, String(body));
      assert.equal(r.json.code, 'PAL_GATEWAY_MALFORMED_BODY');
    }
    assert.equal(invoked, before);
  });

  test('a nesting bomb and a key bomb are refused before parsing, without stalling the gateway', async () => {
    const depthBomb = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    const keyBomb = `{${Array.from({ length: 50_000 }, (_, i) => `"k${i}":0`).join(',')}}`;
    const started = performance.now();
    const [deep, keys, meanwhile] = await Promise.all([post(port, '/orders', depthBomb), post(port, '/orders', keyBomb), post(port, '/orders', JSON.stringify({ sku: 'a', qty: 1 }))]);
    assert.equal(deep.status, 400);
    assert.match(deep.json.code ?? '', /MALFORMED_BODY/);
    assert.equal(keys.status, 400);
    assert.equal(meanwhile.status, 200);
    // Generous bound for a loaded machine: a stalled parser would take far longer.
    assert.ok(performance.now() - started < 5000);
    const justInside = `${'['.repeat(7)}{}${']'.repeat(7)}`;
    assert.equal((await post(port, '/orders', justInside)).status, 422, 'depth 8 parses, then fails the schema');
  });
});
