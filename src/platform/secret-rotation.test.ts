import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rotationTickMs } from './secret-rotation.js';

test('the rotation tick is a quarter of the shortest interval, between 1 s and 60 s', () => {
  const s = (everyMs: number) => ({ secret: 'a', function: 'f', everyMs });
  assert.equal(rotationTickMs([s(60_000)]), 15_000);
  assert.equal(rotationTickMs([s(30 * 86_400_000), s(120_000)]), 30_000);
  assert.equal(rotationTickMs([s(30 * 86_400_000)]), 60_000);
  assert.equal(rotationTickMs([s(1_000)]), 1_000);
});
