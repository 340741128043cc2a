import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDiagnostic } from '../kernel/index.js';
import { validateManifestText } from './validate-manifest.js';

const check = (text: string) => validateManifestText({ text, file: 'palisade.yaml', projectDir: '/project', checkFiles: false });

const manifest = (segments: string) => `name: shop
segments:
${segments}
functions:
  web:
    source: web.ts
    segment: storefront
    bindings: { PAY: { type: service, function: billing }, CAT: { type: service, function: catalog } }
  catalog: { source: catalog.ts, segment: storefront }
  billing: { source: billing.ts, segment: payments }
routes:
  - { path: /, function: web, public: true }
`;

describe('segment rules in the manifest', () => {
  test('a binding across segments is an error naming the binding, both segments and the fix', () => {
    const r = check(manifest('  storefront: {}\n  payments: { workers: 2 }'));
    assert.equal(r.ok, false);
    assert.equal(r.errors.length, 1, r.errors.map(formatDiagnostic).join('\n'));
    const e = r.errors[0];
    assert.equal(e?.code, 'PAL_MANIFEST_SEGMENT_CROSSING');
    assert.equal(e?.path, 'functions.web.bindings.PAY');
    assert.equal(e?.message, 'binding `PAY` calls `billing` in segment `payments` from segment `storefront`, and no segment rule allows it');
    assert.match(e?.hint ?? '', /add `storefront` to `segments\.payments\.allowCallsFrom`/);
    assert.equal(e?.location?.line, 9);
  });

  test('a segment rule lets the crossing in; a binding inside one segment needs no rule', () => {
    const r = check(manifest('  storefront: {}\n  payments: { workers: 2, allowCallsFrom: [storefront] }'));
    assert.equal(r.ok, true, r.errors.map(formatDiagnostic).join('\n'));
    assert.deepEqual(r.value?.segments.get('payments')?.allowCallsFrom, ['storefront']);
    assert.equal(r.value?.segments.get('payments')?.line, 4);
    assert.deepEqual(r.value?.segments.get('default')?.allowCallsFrom, []);
  });

  test('a rule in the wrong direction does not count (rules are on the segment called into)', () => {
    const r = check(manifest('  storefront: { allowCallsFrom: [payments] }\n  payments: {}'));
    assert.deepEqual(r.errors.map((e) => e.code), ['PAL_MANIFEST_SEGMENT_CROSSING']);
  });

  test('an unknown segment in a rule is refused with a suggestion; naming itself is refused', () => {
    const r = check(manifest('  storefront: {}\n  payments: { allowCallsFrom: [storefrnt, payments] }'));
    const codes = r.errors.map((e) => `${e.code} ${e.path}`);
    assert.ok(codes.includes('PAL_MANIFEST_UNKNOWN_SEGMENT segments.payments.allowCallsFrom[0]'), codes.join('\n'));
    assert.match(r.errors.find((e) => e.code === 'PAL_MANIFEST_UNKNOWN_SEGMENT')?.hint ?? '', /did you mean `storefront`/);
    assert.ok(codes.includes('PAL_MANIFEST_INVALID_VALUE segments.payments.allowCallsFrom[1]'), codes.join('\n'));
  });

  test('the implicit `default` segment may be named, and may carry a rule', () => {
    const text = `name: s
segments:
  default: { allowCallsFrom: [edge] }
  edge: {}
functions:
  a: { source: a.ts, segment: edge, bindings: { B: { type: service, function: b } } }
  b: { source: b.ts }
routes:
  - { path: /, function: a, public: true }
`;
    const r = check(text);
    assert.equal(r.ok, true, r.errors.map(formatDiagnostic).join('\n'));
    assert.equal(check(text.replace('default: { allowCallsFrom: [edge] }', 'default: {}')).errors[0]?.code, 'PAL_MANIFEST_SEGMENT_CROSSING');
  });

  test('a malformed rule is a schema error', () => {
    assert.equal(check(manifest('  storefront: {}\n  payments: { allowCallsFrom: storefront }')).ok, false);
    assert.equal(check(manifest('  storefront: {}\n  payments: { allowCallsFrom: [Store Front] }')).ok, false);
  });
});
