import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkJsonLimits } from './json-limits.js';

const bytes = (s: string) => Buffer.from(s, 'utf8');

test('refuses nesting deeper than the limit, counting objects and arrays', () => {
  assert.deepEqual(checkJsonLimits(bytes('[[[1]]]'), 3, 100), { ok: true });
  assert.deepEqual(checkJsonLimits(bytes('[[[1]]]'), 2, 100), { ok: false, reason: 'too-deep' });
  assert.deepEqual(checkJsonLimits(bytes('{"a":{"b":[{}]}}'), 3, 100), { ok: false, reason: 'too-deep' });
});

test('brackets and separators inside strings, escaped quotes included, do not count', () => {
  assert.deepEqual(checkJsonLimits(bytes('{"a":"[[[[,,,:::\\"[[["}'), 1, 1), { ok: true });
});

test('refuses more keys and items than the limit', () => {
  assert.deepEqual(checkJsonLimits(bytes('{"a":1,"b":2}'), 5, 3), { ok: true });
  assert.deepEqual(checkJsonLimits(bytes('{"a":1,"b":2,"c":3}'), 5, 3), { ok: false, reason: 'too-many-keys' });
  assert.deepEqual(checkJsonLimits(bytes(`[${'1,'.repeat(99)}1]`), 5, 50), { ok: false, reason: 'too-many-keys' });
});

test('a nesting bomb of a million brackets is refused quickly', () => {
  const bomb = Buffer.alloc(1024 * 1024, '[');
  const started = performance.now();
  assert.deepEqual(checkJsonLimits(bomb, 32, 10000), { ok: false, reason: 'too-deep' });
  assert.ok(performance.now() - started < 100);
});

test('agrees with the real depth of any JSON value (property)', () => {
  const depthOf = (v: unknown): number => (v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v as object).map(depthOf)) : 0);
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 0, max: 8 }), (value, limit) => {
      const result = checkJsonLimits(bytes(JSON.stringify(value)), limit, 1_000_000);
      assert.equal(result.ok, depthOf(value) <= limit);
    }),
  );
});
