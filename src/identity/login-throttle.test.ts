import assert from 'node:assert/strict';
import { test } from 'node:test';
import { throttleKeyFor } from './login-throttle.js';

test('IPv6 addresses in one /64 share a throttle key; other /64s do not', () => {
  const key = throttleKeyFor('2001:db8:1:2::1');
  assert.equal(key, 'ipv6:2001:db8:1:2::/64');
  for (const a of ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0db8:0001:0002:0:0:0:9', '[2001:db8:1:2::abcd]', '2001:db8:1:2::1%eth0', '2001:db8:1:2:0:0:1.2.3.4']) assert.equal(throttleKeyFor(a), key, a);
  assert.notEqual(throttleKeyFor('2001:db8:1:3::1'), key);
  assert.equal(throttleKeyFor('::1'), 'ipv6:0:0:0:0::/64');
});

test('IPv4 and IPv4-mapped IPv6 addresses are one key each', () => {
  assert.equal(throttleKeyFor('198.51.100.7'), 'ipv4:198.51.100.7');
  assert.equal(throttleKeyFor('::ffff:198.51.100.7'), 'ipv4:198.51.100.7');
  assert.notEqual(throttleKeyFor('198.51.100.8'), throttleKeyFor('198.51.100.7'));
});
