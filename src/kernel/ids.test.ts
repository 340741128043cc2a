import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRequestId, isWellFormedId } from './ids.js';

test('request ids are 32 hex characters and unique', () => {
  const ids = new Set(Array.from({ length: 10_000 }, () => createRequestId()));
  assert.equal(ids.size, 10_000);
  for (const id of [...ids].slice(0, 100)) {
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.ok(isWellFormedId(id));
  }
});

test('rejects ids that could smuggle content into logs or headers', () => {
  for (const bad of ['', 'a b', 'a\nb', 'x'.repeat(65), '../etc', 'id;drop']) assert.equal(isWellFormedId(bad), false, bad);
});
