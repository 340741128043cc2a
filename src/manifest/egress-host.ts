import { isIP } from 'node:net';

/**
 * Checks the `host` of an egress grant: an exact host name or IP literal, or `*.suffix` with a
 * suffix of at least two labels. Returns why it is unusable, or `undefined` when it is fine.
 * The segmentation capability matches on the same canonical form (WHATWG URL host parsing).
 *
 * @example
 * ```ts
 * checkEgressHost('*.stripe.com'); // undefined
 * checkEgressHost('*');            // 'a bare `*` grants every host'
 * ```
 */
export function checkEgressHost(host: string): string | undefined {
  const wildcard = host.startsWith('*.');
  const name = wildcard ? host.slice(2) : host;
  if (name.includes('*')) return host === '*' ? 'a bare `*` grants every host' : 'a wildcard is only allowed as a leading `*.` label';
  if (/[\s/\\?#@]/.test(name)) return 'a host has no scheme, path, userinfo or spaces';
  const bracketed = name.startsWith('[') && name.endsWith(']');
  if (name.includes(':') && !bracketed && isIP(name) !== 6) return 'put the port in `ports`, not in `host`';
  let hostname: string;
  try {
    const url = new URL(`http://${isIP(name) === 6 ? `[${name}]` : name}/`);
    if (url.port !== '') return 'put the port in `ports`, not in `host`';
    hostname = url.hostname.replace(/\.$/, '');
  } catch {
    return 'not a valid host name or ip address';
  }
  if (hostname === '' || hostname.split('.').some((l) => l === '')) return 'a host name has no empty labels';
  if (wildcard) {
    if (hostname.startsWith('[') || isIP(hostname) !== 0) return 'a wildcard cannot cover ip addresses';
    if (!hostname.includes('.')) return 'a wildcard needs a suffix of at least two labels (`*.example.com`)';
  }
  return undefined;
}
