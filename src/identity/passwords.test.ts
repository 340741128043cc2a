import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkNewPassword, hashPassword, verifyPassword } from './passwords.js';

test('hashes with argon2id (OWASP parameters) and a random salt', async () => {
  const a = await hashPassword('correct horse battery staple');
  const b = await hashPassword('correct horse battery staple');
  assert.match(a, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.notEqual(a, b, 'salted');
});

test('verifies the right password and refuses the wrong one, a tampered hash and garbage', async () => {
  const hash = await hashPassword('correct horse battery staple');
  assert.equal(await verifyPassword('correct horse battery staple', hash), true);
  assert.equal(await verifyPassword('correct horse battery stapl', hash), false);
  // Alter a data character of the hash (the last base64 character of 32 bytes carries padding bits).
  const i = hash.length - 10;
  const tampered = `${hash.slice(0, i)}${hash[i] === 'A' ? 'B' : 'A'}${hash.slice(i + 1)}`;
  assert.equal(await verifyPassword('correct horse battery staple', tampered), false);
  assert.equal(await verifyPassword('x', 'not a hash'), false);
  assert.equal(await verifyPassword('x', '$argon2i$v=19$m=19456,t=2,p=1$AAAA$AAAA'), false, 'only argon2id');
  assert.equal(await verifyPassword('x'.repeat(2000), hash), false, 'overlong input is refused before hashing');
});

test('new passwords need 12 characters and must not contain the username', () => {
  assert.match(checkNewPassword('short', 'alice') ?? '', /12/);
  assert.match(checkNewPassword('alice-in-wonderland', 'alice') ?? '', /username/);
  assert.equal(checkNewPassword('a perfectly fine passphrase', 'alice'), undefined);
});
