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

// web (storefront) and billing (payments); `segments` and `secrets` vary per test.
const withSecrets = (segments: string, grants: { web?: string; billing?: string }, secrets = '') => `name: shop
segments:
${segments}
functions:
  web: { source: web.ts, segment: storefront, secrets: [${grants.web ?? ''}] }
  billing: { source: billing.ts, segment: payments, secrets: [${grants.billing ?? ''}] }
routes:
  - { path: /, function: web, public: true }
${secrets}`;

describe('segment rules for secrets in the manifest', () => {
  test('a grant of another segment\'s secret without a rule is an error naming the grant, both segments and the fix', () => {
    const r = check(withSecrets('  storefront: {}\n  payments: {}', { web: 'ledger-key', billing: 'ledger-key' }, 'secrets:\n  ledger-key: { segment: payments }\n'));
    assert.equal(r.ok, false);
    assert.equal(r.errors.length, 1, r.errors.map(formatDiagnostic).join('\n'));
    const e = r.errors[0];
    assert.equal(e?.code, 'PAL_MANIFEST_SEGMENT_CROSSING');
    assert.equal(e?.path, 'functions.web.secrets[0]');
    assert.equal(e?.message, 'function `web` in segment `storefront` is granted secret `ledger-key` of segment `payments`, and no segment rule allows it');
    assert.match(e?.hint ?? '', /add `storefront` to `segments\.payments\.allowSecretReadsFrom` \(segments: \{ payments: \{ allowSecretReadsFrom: \[storefront\] \} \}\)/);
    assert.equal(e?.location?.line, 6);
  });

  test('a rule on the secret\'s segment lets the grant in; a rule in the wrong direction does not', () => {
    const secrets = 'secrets:\n  ledger-key: { segment: payments }\n';
    const ok = check(withSecrets('  storefront: {}\n  payments: { allowSecretReadsFrom: [storefront] }', { web: 'ledger-key' }, secrets));
    assert.equal(ok.ok, true, ok.errors.map(formatDiagnostic).join('\n'));
    assert.deepEqual(ok.value?.segments.get('payments')?.allowSecretReadsFrom, ['storefront']);
    assert.equal(ok.value?.secretSegments.get('ledger-key'), 'payments');
    const wrong = check(withSecrets('  storefront: { allowSecretReadsFrom: [payments] }\n  payments: {}', { web: 'ledger-key' }, secrets));
    assert.deepEqual(wrong.errors.map((e) => `${e.code} ${e.path}`), ['PAL_MANIFEST_SEGMENT_CROSSING functions.web.secrets[0]']);
    // allowCallsFrom is not a rule for secrets.
    const calls = check(withSecrets('  storefront: {}\n  payments: { allowCallsFrom: [storefront] }', { web: 'ledger-key' }, secrets));
    assert.deepEqual(calls.errors.map((e) => e.code), ['PAL_MANIFEST_SEGMENT_CROSSING']);
  });

  test('an undeclared secret granted in one segment belongs to it; granted nowhere and undeclared, to `default`', () => {
    const r = check(withSecrets('  storefront: {}\n  payments: {}', { billing: 'ledger-key' }, 'secrets:\n  spare: { description: kept for later }\n'));
    assert.equal(r.ok, true, r.errors.map(formatDiagnostic).join('\n'));
    assert.deepEqual([...(r.value?.secretSegments ?? [])], [['ledger-key', 'payments'], ['spare', 'default']]);
  });

  test('an undeclared secret granted in several segments is an error naming the secret, the segments and the fix', () => {
    const r = check(withSecrets('  storefront: {}\n  payments: {}', { web: 'ledger-key', billing: 'ledger-key' }));
    assert.equal(r.errors.length, 1, r.errors.map(formatDiagnostic).join('\n'));
    const e = r.errors[0];
    assert.equal(e?.code, 'PAL_MANIFEST_SEGMENT_CROSSING');
    assert.equal(e?.message, 'secret `ledger-key` declares no segment and is granted to functions in segments `payments` (`billing`) and `storefront` (`web`), so it is not clear which segment it belongs to');
    assert.equal(e?.hint, 'declare its segment and let the others read it with a rule: secrets: { ledger-key: { segment: payments } } and segments: { payments: { allowSecretReadsFrom: [storefront] } }');
    assert.equal(e?.path, 'functions.web.secrets[0]');
    // Following the hint makes it valid.
    const fixed = check(withSecrets('  storefront: {}\n  payments: { allowSecretReadsFrom: [storefront] }', { web: 'ledger-key', billing: 'ledger-key' }, 'secrets:\n  ledger-key: { segment: payments }\n'));
    assert.equal(fixed.ok, true, fixed.errors.map(formatDiagnostic).join('\n'));
  });

  test('a rotation function counts as holding the secret: it decides the owner and needs a rule across segments', () => {
    const rotated = (seg: string) => `secrets:\n  ledger-key: { ${seg}rotation: { function: billing, every: 30d } }\n`;
    const inferred = check(withSecrets('  storefront: {}\n  payments: {}', {}, rotated('')));
    assert.equal(inferred.value?.secretSegments.get('ledger-key'), 'payments');
    const crossing = check(withSecrets('  storefront: {}\n  payments: {}', {}, rotated('segment: storefront, ')));
    assert.deepEqual(crossing.errors.map((e) => `${e.code} ${e.path}`), ['PAL_MANIFEST_SEGMENT_CROSSING secrets.ledger-key.rotation.function']);
    assert.match(crossing.errors[0]?.message ?? '', /function `billing` in segment `payments` rotates secret `ledger-key` of segment `storefront`/);
  });

  test('an unknown segment in a secret rule or a secret\'s `segment` is refused with a suggestion; naming itself is refused', () => {
    const r = check(withSecrets('  storefront: {}\n  payments: { allowSecretReadsFrom: [storefrnt, payments] }', {}, 'secrets:\n  ledger-key: { segment: paymnts }\n'));
    const codes = r.errors.map((e) => `${e.code} ${e.path}`);
    assert.ok(codes.includes('PAL_MANIFEST_UNKNOWN_SEGMENT segments.payments.allowSecretReadsFrom[0]'), codes.join('\n'));
    assert.ok(codes.includes('PAL_MANIFEST_INVALID_VALUE segments.payments.allowSecretReadsFrom[1]'), codes.join('\n'));
    assert.ok(codes.includes('PAL_MANIFEST_UNKNOWN_SEGMENT secrets.ledger-key.segment'), codes.join('\n'));
    assert.match(r.errors.find((e) => e.path === 'segments.payments.allowSecretReadsFrom[0]')?.hint ?? '', /did you mean `storefront`/);
    assert.match(r.errors.find((e) => e.path === 'secrets.ledger-key.segment')?.hint ?? '', /did you mean `payments`/);
    assert.equal(check(withSecrets('  storefront: {}\n  payments: { allowSecretReadsFrom: storefront }', {})).ok, false);
  });
});
