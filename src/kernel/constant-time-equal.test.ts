import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constantTimeEqual } from './constant-time-equal.js';

test('compares equal and unequal secrets, including different lengths', () => {
  assert.equal(constantTimeEqual('pal_abc', 'pal_abc'), true);
  assert.equal(constantTimeEqual('pal_abc', 'pal_abd'), false);
  assert.equal(constantTimeEqual('pal_abc', 'pal_abcd'), false);
  assert.equal(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
  assert.equal(constantTimeEqual('', ''), true);
});
