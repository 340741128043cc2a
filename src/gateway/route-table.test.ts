import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RouteSpec } from '../manifest/index.js';
import { createRouteTable } from './route-table.js';

const route = (index: number, path: string, methods: RouteSpec['methods'], fn = 'f'): RouteSpec => ({ index, path, methods, function: fn, public: false, maxBodyBytes: 1024, auth: [] });

const table = createRouteTable([
  route(0, '/', ['GET'], 'root'),
  route(1, '/api/orders', ['GET', 'POST'], 'orders'),
  route(2, '/api/orders/:id', ['GET'], 'order'),
  route(3, '/api/orders/:id/lines/:line', ['DELETE'], 'line'),
]);

test('matches literal and parameter routes', () => {
  assert.deepEqual(table.match('GET', []), { kind: 'found', route: route(0, '/', ['GET'], 'root'), params: {} });
  const m = table.match('GET', ['api', 'orders', '42']);
  assert.equal(m.kind, 'found');
  assert.deepEqual(m.kind === 'found' ? [m.route.function, m.params] : [], ['order', { id: '42' }]);
  const l = table.match('DELETE', ['api', 'orders', '42', 'lines', '3']);
  assert.deepEqual(l.kind === 'found' ? l.params : undefined, { id: '42', line: '3' });
});

test('answers method-not-allowed with the allowed methods', () => {
  assert.deepEqual(table.match('PUT', ['api', 'orders']), { kind: 'method-not-allowed', allow: ['GET', 'POST'] });
});

test('does not match prefixes, extra segments, empty parameters or different case', () => {
  for (const segments of [['api'], ['api', 'orders', '42', 'x'], ['api', 'orders', ''], ['API', 'orders'], ['api', 'orders', '42', 'lines']]) {
    assert.equal(table.match('GET', segments).kind === 'found', false, segments.join('/'));
  }
});
