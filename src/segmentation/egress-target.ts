import { isIP } from 'node:net';
import { EgressError, type EgressGrant } from './egress-types.js';

/** Where one outbound attempt goes, after WHATWG parsing and canonicalisation. */
export interface EgressTarget {
  readonly url: URL;
  readonly scheme: 'http' | 'https';
  /** Lowercase, IDNA (punycode), no trailing dot, IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
  /** The IP version when the host is an IP literal (already normalised by the URL parser). */
  readonly literal: 0 | 4 | 6;
}

const DEFAULT_PORT = { http: 80, https: 443 } as const;

/**
 * Canonicalises a host the way the WHATWG URL parser does (lowercase, IDNA to punycode, IPv4 in
 * any form, decimal `2130706433`, octal `0177.0.0.1`, hex `0x7f.1`, short `127.1`, normalised to
 * dotted quad), then drops one trailing dot. Returns `undefined` for anything that is not a host.
 *
 * @example
 * ```ts
 * canonicalHost('BÜCHER.example.'); // 'xn--bcher-kva.example'
 * canonicalHost('0x7f.1');          // '127.0.0.1'
 * ```
 */
export function canonicalHost(raw: string): string | undefined {
  if (raw === '' || /[\s/\\?#@]/.test(raw)) return undefined;
  // A colon belongs only inside an IPv6 literal; `host:80` is a host and a port, not a host.
  if (raw.includes(':') && !(raw.startsWith('[') && raw.endsWith(']'))) return undefined;
  let hostname: string;
  try {
    const url = new URL(`http://${raw}/`);
    if (url.port !== '' || url.username !== '' || url.password !== '') return undefined;
    hostname = url.hostname;
  } catch {
    return undefined;
  }
  if (hostname.startsWith('[') && hostname.endsWith(']')) return hostname.slice(1, -1);
  if (hostname.endsWith('.')) hostname = hostname.slice(0, -1);
  // "a..b" or a name that was only dots has an empty label: not a host anyone means.
  if (hostname === '' || hostname.split('.').some((label) => label === '')) return undefined;
  return hostname;
}

/**
 * Parses the url of an outbound attempt with the WHATWG parser and refuses what must never be
 * sent: other schemes (`file:`, `ftp:`, `data:`, …), userinfo (`user:pass@host`, also a classic
 * host-confusion trick) and hosts that do not canonicalise.
 */
export function parseEgressTarget(raw: string, base?: URL): EgressTarget {
  let url: URL;
  try {
    url = base === undefined ? new URL(raw) : new URL(raw, base);
  } catch (cause) {
    throw new EgressError('bad-url', 'egress url is not a valid absolute url', { cause });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new EgressError('bad-url', `egress url scheme \`${url.protocol}\` is not http or https`);
  // Credentials in a url leak into logs and Referer headers, and `https://good@evil` confuses readers.
  if (url.username !== '' || url.password !== '') throw new EgressError('bad-url', 'egress url must not carry userinfo; send credentials in a header');
  const host = canonicalHost(url.hostname);
  if (host === undefined) throw new EgressError('bad-url', 'egress url has no usable host');
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const port = url.port === '' ? DEFAULT_PORT[scheme] : Number(url.port);
  const family = isIP(host);
  return { url, scheme, host, port, literal: family === 4 ? 4 : family === 6 ? 6 : 0 };
}

/** A grant with its host canonicalised, or `undefined` when the grant's host is unusable. */
interface CompiledGrant {
  readonly exact?: string;
  readonly suffix?: string;
  readonly grant: EgressGrant;
}

function compileGrant(grant: EgressGrant): CompiledGrant | undefined {
  if (grant.host.startsWith('*.')) {
    const suffix = canonicalHost(grant.host.slice(2));
    // A wildcard over an IP literal, or over a bare top-level label, would match far more than meant.
    if (suffix === undefined || isIP(suffix) !== 0 || !suffix.includes('.')) return undefined;
    return { suffix, grant };
  }
  const exact = canonicalHost(grant.host.startsWith('[') ? grant.host : grant.host.includes(':') && isIP(grant.host) === 6 ? `[${grant.host}]` : grant.host);
  return exact === undefined ? undefined : { exact, grant };
}

function hostMatches(compiled: CompiledGrant, host: string): boolean {
  // INVARIANT: matching compares whole canonical names or whole trailing labels, never substrings:
  // `*.example.com` does not match `evil-example.com`, `example.com.evil` or `example.com`.
  if (compiled.exact !== undefined) return compiled.exact === host;
  return compiled.suffix !== undefined && isIP(host) === 0 && host.endsWith(`.${compiled.suffix}`) && host.length > compiled.suffix.length + 1;
}

/** What the grants say about one target. */
export type GrantVerdict =
  | { readonly ok: true; readonly allowPrivateNetwork: boolean }
  | { readonly ok: false; readonly reason: 'not-granted' | 'insecure-scheme' };

/**
 * Decides from the grants alone whether a target may be reached: some grant must name its host
 * (exactly, or as a strict subdomain of a `*.` grant), list its port (default: the scheme's
 * default port) and, for `http:`, allow insecure http. Pure.
 *
 * @example
 * ```ts
 * checkGrants([{ host: 'api.stripe.com' }], parseEgressTarget('https://API.stripe.com./v1')); // { ok: true, allowPrivateNetwork: false }
 * ```
 */
export function checkGrants(grants: readonly EgressGrant[], target: EgressTarget): GrantVerdict {
  let insecure = false;
  let allowPrivateNetwork = false;
  let ok = false;
  for (const grant of grants) {
    const compiled = compileGrant(grant);
    if (compiled === undefined || !hostMatches(compiled, target.host)) continue;
    const ports = grant.ports ?? [DEFAULT_PORT[target.scheme]];
    if (!ports.includes(target.port)) continue;
    if (target.scheme === 'http' && grant.allowInsecureHttp !== true) {
      insecure = true;
      continue;
    }
    ok = true;
    if (grant.allowPrivateNetwork === true) allowPrivateNetwork = true;
  }
  if (ok) return { ok: true, allowPrivateNetwork };
  return { ok: false, reason: insecure ? 'insecure-scheme' : 'not-granted' };
}

/**
 * Whether one grant lets a request reach `host:port` (a canonical host, as an `egress` audit
 * event records it) over https, or over http when the grant allows it: `checkGrants` on that
 * target. The event does not record the scheme, so both are tried (the access report's question:
 * could this grant have let that attempt through?).
 *
 * @example
 * ```ts
 * egressGrantCovers({ host: '*.x.com' }, 'api.x.com', 443); // true
 * egressGrantCovers({ host: 'x.com' }, 'api.x.com', 443); // false
 * ```
 */
export function egressGrantCovers(grant: EgressGrant, host: string, port: number): boolean {
  const authority = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  return (['https', 'http'] as const).some((scheme) => {
    let target: EgressTarget;
    try {
      target = parseEgressTarget(`${scheme}://${authority}/`);
    } catch {
      return false;
    }
    return target.host === host && target.port === port && checkGrants([grant], target).ok;
  });
}
