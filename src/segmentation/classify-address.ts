import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * IPv4 ranges that are not the public internet (RFC 6890 special-purpose registry, the ranges a
 * server-side request forgery aims at: loopback, RFC 1918, link-local with the cloud metadata
 * service at 169.254.169.254, CGNAT, multicast, reserved, broadcast, documentation, benchmark).
 */
const PRIVATE_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0', 8], // RFC 1918
  ['100.64.0.0', 10], // RFC 6598 carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12], // RFC 1918
  ['192.0.0.0', 24], // IETF protocol assignments (includes 192.0.0.192, Oracle Cloud metadata)
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16], // RFC 1918
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes 255.255.255.255 broadcast
];

/** IPv6 ranges that are not the public internet; embedded IPv4 forms are decoded separately. */
const PRIVATE_V6: ReadonlyArray<readonly [string, number]> = [
  ['::', 96], // unspecified ::, loopback ::1 and the deprecated IPv4-compatible ::a.b.c.d
  ['64:ff9b:1::', 48], // RFC 8215 local-use NAT64
  ['100::', 64], // discard-only
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed by some stacks)
  ['ff00::', 8], // multicast
];

function blockList(ranges: ReadonlyArray<readonly [string, number]>, family: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of ranges) list.addSubnet(network, prefix, family);
  return list;
}

const privateV4 = blockList(PRIVATE_V4, 'ipv4');
const privateV6 = blockList(PRIVATE_V6, 'ipv6');

/** The verdict of {@link classifyAddress}. */
export interface AddressClass {
  /** `public`: a globally routable unicast address; `private`: anything else. */
  readonly kind: 'public' | 'private';
  /** The IPv4 address this IPv6 address carries (mapped, NAT64, 6to4, Teredo), when it does. */
  readonly embeddedIpv4?: string;
}

/**
 * Parses an IPv6 text address into its 16 bytes, or `undefined` when it is not one.
 * Accepts `::` compression and a trailing dotted IPv4 part (`::ffff:127.0.0.1`).
 */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (!isIPv6(text)) return undefined;
  let head = text;
  const words: number[] = [];
  const tailWords: number[] = [];
  const lastColon = head.lastIndexOf(':');
  const tail = head.slice(lastColon + 1);
  let v4Words: number[] = [];
  if (tail.includes('.')) {
    const bytes = tail.split('.').map(Number);
    v4Words = [((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0), ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)];
    head = head.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const parseGroup = (group: string): number[] => (group === '' ? [] : group.split(':').map((h) => Number.parseInt(h, 16)));
  const gap = head.indexOf('::');
  if (gap >= 0) {
    words.push(...parseGroup(head.slice(0, gap)));
    tailWords.push(...parseGroup(head.slice(gap + 2)), ...v4Words);
    const missing = 8 - words.length - tailWords.length;
    for (let i = 0; i < missing; i++) words.push(0);
    words.push(...tailWords);
  } else {
    words.push(...parseGroup(head), ...v4Words);
  }
  if (words.length !== 8 || words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return undefined;
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

function v4At(bytes: Uint8Array, offset: number, xor = 0): string {
  return [0, 1, 2, 3].map((i) => ((bytes[offset + i] ?? 0) ^ xor) & 0xff).join('.');
}

function zeros(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * The IPv4 address an IPv6 address carries, if any: IPv4-mapped `::ffff:a.b.c.d`, SIIT
 * `::ffff:0:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` (RFC 6052),
 * 6to4 `2002:aabb:ccdd::` (RFC 3056) and Teredo `2001:0::` (RFC 4380, the client address,
 * stored inverted). Each of these can lead a packet to the IPv4 address, so each is judged as it.
 */
export function embeddedIpv4(bytes: Uint8Array): string[] {
  const word = (i: number) => ((bytes[i * 2] ?? 0) << 8) | (bytes[i * 2 + 1] ?? 0);
  if (zeros(bytes, 0, 10) && word(5) === 0xffff) return [v4At(bytes, 12)]; // ::ffff:0:0/96
  if (zeros(bytes, 0, 8) && word(4) === 0xffff && word(5) === 0) return [v4At(bytes, 12)]; // ::ffff:0:0:0/96
  if (zeros(bytes, 0, 12)) return [v4At(bytes, 12)]; // ::/96 (compatible; also :: and ::1)
  if (word(0) === 0x64 && word(1) === 0xff9b && zeros(bytes, 4, 12)) return [v4At(bytes, 12)]; // 64:ff9b::/96
  if (word(0) === 0x2002) return [v4At(bytes, 2)]; // 2002::/16
  if (word(0) === 0x2001 && word(1) === 0) return [v4At(bytes, 12, 0xff), v4At(bytes, 4)]; // 2001::/32: client, server
  return [];
}

/**
 * Says whether an IP address (text, as `dns.lookup` or the WHATWG URL parser gives it) is a
 * public unicast address or something a function must not reach without `allowPrivateNetwork`.
 * Anything that does not parse as an IP address is `private` (deny on error).
 *
 * @example
 * ```ts
 * classifyAddress('::ffff:7f00:1').kind; // 'private' (127.0.0.1)
 * classifyAddress('93.184.215.14').kind; // 'public'
 * ```
 */
export function classifyAddress(address: string): AddressClass {
  // A zone id (fe80::1%eth0) only ever qualifies a link-local address.
  if (address.includes('%')) return { kind: 'private' };
  if (isIPv4(address)) return { kind: privateV4.check(address, 'ipv4') ? 'private' : 'public' };
  const bytes = parseIpv6(address);
  if (bytes === undefined) return { kind: 'private' };
  if (privateV6.check(address, 'ipv6')) return { kind: 'private' };
  const embedded = embeddedIpv4(bytes);
  for (const v4 of embedded) {
    // SSRF: ::ffff:127.0.0.1, 64:ff9b::a9fe:a9fe and 2002:7f00:1:: all lead to a private IPv4 host.
    if (privateV4.check(v4, 'ipv4')) return { kind: 'private', embeddedIpv4: v4 };
  }
  return embedded[0] === undefined ? { kind: 'public' } : { kind: 'public', embeddedIpv4: embedded[0] };
}
