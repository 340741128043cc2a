import { lookup, Resolver } from 'node:dns/promises';
import type { DnsResolver, ResolvedAddress } from './egress-types.js';

/**
 * The system resolver (`getaddrinfo` through `dns.lookup`, so `/etc/hosts` applies): every
 * address of the name, in the order the system gives them.
 *
 * @example
 * ```ts
 * await systemResolver('localhost'); // [{ address: '127.0.0.1', family: 4 }]
 * ```
 */
export const systemResolver: DnsResolver = async (hostname) => {
  const answers = await lookup(hostname, { all: true, verbatim: true });
  return answers.map((a): ResolvedAddress => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/**
 * A resolver that asks the given DNS servers directly (A and AAAA queries over UDP/TCP with
 * c-ares), for a gateway that must not use the machine's resolver configuration.
 *
 * @example
 * ```ts
 * const resolve = createDnsServerResolver(['10.0.0.2', '[2001:db8::53]:53']);
 * ```
 */
export function createDnsServerResolver(servers: readonly string[], options: { readonly timeoutMs?: number; readonly tries?: number } = {}): DnsResolver {
  const resolver = new Resolver({ timeout: options.timeoutMs ?? 2000, tries: options.tries ?? 2 });
  resolver.setServers([...servers]);
  const noData = (error: unknown): string[] => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
    throw error;
  };
  return async (hostname) => {
    const [v4, v6] = await Promise.all([resolver.resolve4(hostname).catch(noData), resolver.resolve6(hostname).catch(noData)]);
    return [...v4.map((address): ResolvedAddress => ({ address, family: 4 })), ...v6.map((address): ResolvedAddress => ({ address, family: 6 }))];
  };
}
