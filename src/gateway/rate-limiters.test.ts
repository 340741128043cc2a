import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryRateLimitStore } from './rate-limiters.js';

test('ratelimit-remaining counts the burst that ratelimit-limit announces, down to 0 at the last admitted request', async () => {
  const limiter = memoryRateLimitStore.createLimiter('t', { points: 3, durationSec: 60, burst: 2, by: 'address' });
  const seen: Array<[boolean, number, number]> = [];
  for (let i = 0; i < 6; i++) {
    const v = await limiter.consume('10.0.0.1');
    seen.push([v.allowed, v.limit, v.remaining]);
  }
  assert.deepEqual(seen, [
    [true, 5, 4],
    [true, 5, 3],
    [true, 5, 2],
    [true, 5, 1],
    [true, 5, 0],
    [false, 5, 0],
  ]);
});

test('without a burst, remaining is what is left of the window', async () => {
  const limiter = memoryRateLimitStore.createLimiter('u', { points: 2, durationSec: 60, burst: 0, by: 'address' });
  assert.equal((await limiter.consume('a')).remaining, 1);
  assert.equal((await limiter.consume('a')).remaining, 0);
  assert.equal((await limiter.consume('a')).allowed, false);
});
