import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPasswordVerifierPool } from './password-verifier-pool.js';
import { hashPassword } from './passwords.js';

test('verifies off the event loop: the loop keeps turning while a hash is computed', async () => {
  const pool = createPasswordVerifierPool({ threads: 2 });
  try {
    const hash = await hashPassword('correct horse battery staple');
    assert.equal(await pool.verify('correct horse battery staple', hash), 'match');
    // Count event-loop turns until one verification settles. argon2id on the loop would run as
    // one synchronous WASM call: at most a turn or two. In a worker thread the loop keeps going.
    let turns = 0;
    let settled = false;
    const spin = () => {
      if (settled) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const result = await pool.verify('wrong', hash).finally(() => {
      settled = true;
    });
    assert.equal(result, 'mismatch');
    assert.ok(turns >= 10, `the event loop turned ${turns} times during one verification`);
    assert.equal(pool.computed, 2);
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
