import assert from 'node:assert/strict';
import { test } from 'node:test';
import { safeJsonParse } from './safe-json.js';

test('parses ordinary JSON', () => {
  assert.deepEqual(safeJsonParse('{"a":[1,{"b":null}]}'), { ok: true, value: { a: [1, { b: null }] } });
});

test('rejects __proto__, constructor and prototype keys at any depth', () => {
  for (const text of ['{"__proto__":{"admin":true}}', '{"a":{"constructor":{"prototype":{"x":1}}}}', '[{"prototype":1}]']) {
    assert.deepEqual(safeJsonParse(text), { ok: false, reason: 'forbidden-key' }, text);
  }
  assert.equal(({} as Record<string, unknown>).admin, undefined);
});

test('rejects syntax errors without throwing', () => {
  assert.deepEqual(safeJsonParse('{"a":'), { ok: false, reason: 'syntax' });
});

test('rejects nesting deeper than the limit', () => {
  const deep = '['.repeat(100) + ']'.repeat(100);
  assert.deepEqual(safeJsonParse(deep, 64), { ok: false, reason: 'too-deep' });
  assert.equal(safeJsonParse('[[[]]]', 64).ok, true);
});
