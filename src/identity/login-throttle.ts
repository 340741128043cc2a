import { isIPv4, isIPv6 } from 'node:net';

/**
 * The key an address is throttled under: an IPv4 address as is (an IPv4-mapped IPv6 address as
 * its IPv4 form), an IPv6 address by its /64 prefix. One IPv6 subscriber usually holds a whole
 * /64, so keying on the full address would let them rotate through 2^64 fresh keys.
 *
 * @example
 * ```ts
 * throttleKeyFor('2001:db8:1:2::9'); // 'ipv6:2001:db8:1:2::/64'
 * ```
 */
export function throttleKeyFor(address: string): string {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const noZone = bare.split('%')[0] ?? '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(noZone);
  if (mapped !== null && isIPv4(mapped[1] as string)) return `ipv4:${mapped[1] as string}`;
  if (isIPv4(noZone)) return `ipv4:${noZone}`;
  if (!isIPv6(noZone)) return `other:${noZone.slice(0, 64)}`;
  const groups = expandIPv6(noZone);
  return `ipv6:${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (with `::` and a trailing IPv4 part expanded). */
function expandIPv6(address: string): number[] {
  let text = address.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : Array.from({ length: 8 - h.length - t.length }, () => '0');
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16));
}
