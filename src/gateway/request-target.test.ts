import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPalisadeError } from '../kernel/index.js';
import { checkRequestTarget } from './request-target.js';

test('splits a clean target into raw path, query and decoded segments', () => {
  assert.deepEqual(checkRequestTarget('/api/orders/a%20b?x=1&y=%2F'), { path: '/api/orders/a%20b', search: '?x=1&y=%2F', segments: ['api', 'orders', 'a b'] });
  assert.deepEqual(checkRequestTarget('/'), { path: '/', search: '', segments: [] });
});

for (const [target, why] of [
  ['/api/../admin', 'dot segment'],
  ['/api/./orders', 'dot segment'],
  ['/api/%2e%2e/admin', 'encoded dot segment'],
  ['/api/.%2E/admin', 'mixed encoded dot segment'],
  ['/api/%2E', 'encoded single dot'],
  ['/api%2forders', 'encoded slash'],
  ['/api%2Forders', 'encoded slash, upper case'],
  ['/api%5corders', 'encoded backslash'],
  ['/api\\orders', 'raw backslash'],
  ['//api/orders', 'leading duplicate slash'],
  ['/api//orders', 'duplicate slash'],
  ['/api/or\u0000ders', 'raw NUL'],
  ['/api/or%00ders', 'encoded NUL'],
  ['/api/or%0Aders', 'encoded newline'],
  ['/api/or ders', 'raw space'],
  ['/api/orders#frag', 'fragment'],
  ['/api/%E0%A4%A', 'truncated percent-encoding'],
  ['/api/%zz', 'invalid percent-encoding'],
  ['http://evil.example/api', 'absolute-form target'],
  ['*', 'asterisk-form target'],
  ['', 'empty target'],
] as const) {
  test(`rejects ${why}: \`${JSON.stringify(target)}\``, () => {
    assert.throws(() => checkRequestTarget(target), (e: unknown) => isPalisadeError(e, 'PAL_GATEWAY_BAD_PATH') && e.status === 400);
  });
}

test('rejects an overlong target', () => {
  assert.throws(() => checkRequestTarget(`/${'a'.repeat(9000)}`), (e: unknown) => isPalisadeError(e, 'PAL_GATEWAY_BAD_PATH'));
});

test('a query may hold anything percent-encoded: it is not a path', () => {
  assert.equal(checkRequestTarget('/a?next=%2F..%2Fadmin').search, '?next=%2F..%2Fadmin');
});
