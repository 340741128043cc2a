import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { classifyAddress, parseIpv6 } from './classify-address.js';

const privateAddresses = [
  '0.0.0.0', '0.1.2.3', '10.0.0.1', '10.255.255.255', '100.64.0.1', '100.127.255.255', '127.0.0.1', '127.255.255.254',
  '169.254.169.254', '172.16.0.1', '172.31.255.255', '192.168.1.1', '192.0.0.192', '224.0.0.1', '239.255.255.250',
  '240.0.0.1', '255.255.255.255', '198.18.0.1',
  '::', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '0:0:0:0:0:ffff:7f00:1', '::ffff:0:7f00:1',
  '::127.0.0.1', '::7f00:1', '64:ff9b::127.0.0.1', '64:ff9b::a9fe:a9fe', '64:ff9b:1::1', '2002:7f00:1::1', '2002:a9fe:a9fe::',
  '2001:0:4136:e378:8000:63bf:80ff:fffe' /* Teredo, client 127.0.0.1 */, 'fc00::1', 'fd12:3456::1', 'fe80::1', 'febf::1',
  'fec0::1', 'ff02::1', '2001:db8::1', 'fe80::1%eth0', 'not-an-ip', '',
];
const publicAddresses = ['1.1.1.1', '8.8.8.8', '93.184.215.14', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '2a00:1450:4001::200e', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'];

test('refuses every private, loopback, link-local, metadata, multicast and reserved address', () => {
  for (const address of privateAddresses) assert.equal(classifyAddress(address).kind, 'private', address);
});

test('accepts public unicast addresses, also in mapped, NAT64 and 6to4 form', () => {
  for (const address of publicAddresses) assert.equal(classifyAddress(address).kind, 'public', address);
});

test('parses IPv6 with compression and a dotted tail', () => {
  assert.deepEqual([...(parseIpv6('::ffff:1.2.3.4') ?? [])], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4]);
  assert.deepEqual([...(parseIpv6('1::') ?? [])], [0, 1, ...new Array<number>(14).fill(0)]);
  assert.equal(parseIpv6('1.2.3.4'), undefined);
  assert.equal(parseIpv6('1:::2'), undefined);
});

// A reference written as plain prefix arithmetic, independent of net.BlockList.
const V4_RANGES: Array<[number, number]> = [
  [0x00000000, 8], [0x0a000000, 8], [0x64400000, 10], [0x7f000000, 8], [0xa9fe0000, 16], [0xac100000, 12], [0xc0000000, 24], [0xc0000200, 24],
  [0xc0586300, 24], [0xc0a80000, 16], [0xc6120000, 15], [0xc6336400, 24], [0xcb007100, 24], [0xe0000000, 4], [0xf0000000, 4],
];
function referencePrivate(n: number): boolean {
  return V4_RANGES.some(([net, bits]) => (n >>> (32 - bits)) === (net >>> (32 - bits)));
}
const dotted = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');
const hex = (n: number) => `${((n >>> 16) & 0xffff).toString(16)}:${(n & 0xffff).toString(16)}`;

test('an IPv4 address and every IPv6 form that embeds it get the same verdict', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
      const expected = referencePrivate(n) ? 'private' : 'public';
      assert.equal(classifyAddress(dotted(n)).kind, expected, dotted(n));
      assert.equal(classifyAddress(`::ffff:${dotted(n)}`).kind, expected);
      assert.equal(classifyAddress(`::ffff:${hex(n)}`).kind, expected);
      assert.equal(classifyAddress(`64:ff9b::${hex(n)}`).kind, expected);
      assert.equal(classifyAddress(`2002:${hex(n)}::1`).kind, expected);
    }),
    { numRuns: 3000 },
  );
});

test('biased toward range edges: the verdict matches the reference', () => {
  const edges = V4_RANGES.flatMap(([net, bits]) => [net - 1, net, net + 2 ** (32 - bits) - 1, net + 2 ** (32 - bits)]).filter((n) => n >= 0 && n <= 0xffffffff);
  for (const n of edges) assert.equal(classifyAddress(dotted(n)).kind, referencePrivate(n) ? 'private' : 'public', dotted(n));
});
