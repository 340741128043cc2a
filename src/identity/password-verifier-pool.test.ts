import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPasswordVerifierPool } from './password-verifier-pool.js';
import { hashPassword } from './passwords.js';

test('verifies off the event loop: the loop keeps turning while hashes are computed', async () => {
  const pool = createPasswordVerifierPool({ threads: 2 });
  try {
    const hash = await hashPassword('correct horse battery staple');
    let ticks = 0;
    let longestGapMs = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
      ticks++;
    }, 5);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => pool.verify(i === 0 ? 'correct horse battery staple' : 'wrong', hash)));
    clearInterval(timer);
    assert.deepEqual(results, ['match', 'mismatch', 'mismatch', 'mismatch', 'mismatch', 'mismatch']);
    assert.equal(pool.computed, 6);
    // Six argon2id runs take far longer than a few timer periods; in-loop hashing would give ~0 ticks.
    assert.ok(ticks >= 6, `the event loop ran ${ticks} timer callbacks while hashing`);
  } finally {
    await pool.close();
  }
});

test('bounds the work: beyond threads + queue a verification is refused at once without hashing', async () => {
  const pool = createPasswordVerifierPool({ threads: 1, maxQueued: 2 });
  try {
    const hash = await hashPassword('correct horse battery staple');
    const results = await Promise.all(Array.from({ length: 8 }, () => pool.verify('wrong', hash)));
    assert.equal(results.filter((r) => r === 'busy').length, 5, 'one running, two queued, five refused');
    assert.equal(pool.computed, 3);
  } finally {
    await pool.close();
  }
});

test('malformed hashes and a closed pool never yield a match', async () => {
  const pool = createPasswordVerifierPool({ threads: 1 });
  assert.equal(await pool.verify('x', 'not a hash'), 'mismatch');
  await pool.close();
  assert.equal(await pool.verify('x', 'not a hash'), 'busy');
});
