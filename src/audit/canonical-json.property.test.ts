import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalizeJson } from './canonical-json.js';

test('RFC 8785 §3.2.2.3 number serialisation examples', () => {
  const cases: [number, string][] = [
    [0, '0'], [-0, '0'], [1e21, '1e+21'], [1e-7, '1e-7'], [0.000001, '0.000001'], [123456789012345680000, '123456789012345680000'],
    [4.5, '4.5'], [2e-3, '0.002'], [0.000001, '0.000001'], [-1.5e-7, '-1.5e-7'], [Number.MAX_SAFE_INTEGER, '9007199254740991'], [5e-324, '5e-324'],
  ];
  for (const [n, s] of cases) assert.equal(canonicalizeJson(n), s);
});

test('RFC 8785 §3.2.3 sorts member names by UTF-16 code units, recursively', () => {
  // The RFC's sorting example.
  const input = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
  const expected = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'].map((k) => `${JSON.stringify(k)}:${JSON.stringify((input as Record<string, string>)[k])}`);
  assert.equal(canonicalizeJson(input), `{${expected.join(',')}}`);
  assert.equal(canonicalizeJson({ b: { d: 1, c: [2, { f: 0, e: null }] }, a: true }), '{"a":true,"b":{"c":[2,{"e":null,"f":0}],"d":1}}');
});

test('strings use the minimal escapes of RFC 8785 §3.2.2.2', () => {
  assert.equal(canonicalizeJson('\u0000\b\t\n\f\r"\\/\u001f\u007f\u00e9'), '"\\u0000\\b\\t\\n\\f\\r\\"\\\\/\\u001f\u007f\u00e9"');
});

test('refuses values JSON cannot carry rather than changing them', () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, '\ud800', { k: '\udc00x' }, [undefined], 10n, new Date(0), () => 1]) {
    assert.throws(() => canonicalizeJson(bad), TypeError);
  }
});

const json = fc.jsonValue({ maxDepth: 4 });

test('canonical form is a fixed point and parses back to the same value', () => {
  fc.assert(
    fc.property(json, (v) => {
      const c = canonicalizeJson(v);
      assert.equal(canonicalizeJson(JSON.parse(c)), c);
      assert.deepEqual(JSON.parse(c), JSON.parse(JSON.stringify(v)));
    }),
    { numRuns: 2000 },
  );
});

test('member order of the input never changes the canonical form', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string({ maxLength: 6 }), json, { maxKeys: 8 }), (obj) => {
      const reversed = Object.fromEntries(Object.entries(obj).reverse());
      assert.equal(canonicalizeJson(reversed), canonicalizeJson(obj));
    }),
    { numRuns: 1000 },
  );
});
