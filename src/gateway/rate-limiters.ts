import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitSpec, RouteSpec } from '../manifest/index.js';

/** The outcome of counting one request against a limit. */
export interface RateLimitVerdict {
  readonly allowed: boolean;
  /** Requests allowed per window (burst included). */
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until the window resets (at least 1). */
  readonly resetSec: number;
  readonly windowSec: number;
}

/** One limit: counts and decides in a single atomic store operation per request. */
export interface RateLimiter {
  consume(key: string): Promise<RateLimitVerdict>;
}

/**
 * Port: where rate-limit counters live. One node: memory ({@link memoryRateLimitStore}); several
 * nodes: a shared store (Redis) implementing the same port. `consume` must be atomic per key
 * (CONVENTIONS §17): the limit holds exactly under concurrent requests.
 */
export interface RateLimitStore {
  createLimiter(name: string, spec: RateLimitSpec): RateLimiter;
}

/** The gateway's limiters, built once per configuration. */
export interface RateLimiters {
  /** The gateway-wide per-address limit, when configured. */
  readonly perAddress: RateLimiter | undefined;
  /** The limiter of a route with `rateLimit`, by route index. */
  forRoute(route: RouteSpec): RateLimiter | undefined;
}

/**
 * Counters in this process's memory, through `rate-limiter-flexible` (fixed windows; the burst
 * is a second, longer window used only once the first is spent). Exact on one node: every
 * consume is synchronous inside the library, so concurrent requests cannot interleave.
 *
 * @example
 * ```ts
 * const limiter = memoryRateLimitStore.createLimiter('route-0', { points: 100, durationSec: 60, burst: 0, by: 'principal' });
 * const verdict = await limiter.consume('alice');
 * ```
 */
export const memoryRateLimitStore: RateLimitStore = Object.freeze({
  createLimiter(name: string, spec: RateLimitSpec): RateLimiter {
    const main = new RateLimiterMemory({ keyPrefix: name, points: spec.points, duration: spec.durationSec });
    const burst = spec.burst > 0 ? new RateLimiterMemory({ keyPrefix: `${name}:burst`, points: spec.burst, duration: spec.durationSec * BURST_WINDOWS }) : undefined;
    const limiter = burst === undefined ? main : new BurstyRateLimiter(main, burst);
    const limit = spec.points + spec.burst;
    const verdict = (res: RateLimiterRes, allowed: boolean, burstLeft = 0): RateLimitVerdict => ({
      allowed,
      limit,
      // The limit announces the burst, so the remainder counts what is left of it too.
      remaining: allowed ? Math.max(0, res.remainingPoints) + burstLeft : 0,
      resetSec: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
      windowSec: spec.durationSec,
    });
    return {
      async consume(key: string): Promise<RateLimitVerdict> {
        try {
          const res = await limiter.consume(key, 1);
          // Read after the atomic consume, only for the header: it never decides.
          const spent = burst === undefined ? undefined : await burst.get(key);
          const burstLeft = burst === undefined ? 0 : spent === null || spent === undefined ? spec.burst : Math.max(0, spent.remainingPoints);
          return verdict(res, true, burstLeft);
        } catch (rejection) {
          // The library rejects with a RateLimiterRes when the limit is spent; anything else is a
          // store failure, which the step turns into a denial (deny on error).
          if (rejection instanceof RateLimiterRes) return verdict(rejection, false);
          throw rejection;
        }
      },
    };
  },
});

/** The burst pool refills over this many windows. */
const BURST_WINDOWS = 10;

/**
 * Builds the limiters of one configuration.
 *
 * @example
 * ```ts
 * const limiters = createRateLimiters(memoryRateLimitStore, manifest.routes, manifest.gateway.rateLimit);
 * ```
 */
export function createRateLimiters(store: RateLimitStore, routes: readonly RouteSpec[], perAddress: RateLimitSpec | undefined): RateLimiters {
  const byRoute = new Map<RouteSpec, RateLimiter>();
  for (const route of routes) {
    if (route.rateLimit !== undefined) byRoute.set(route, store.createLimiter(`route:${route.index}:${route.path}`, route.rateLimit));
  }
  return Object.freeze({
    perAddress: perAddress === undefined ? undefined : store.createLimiter('gateway:address', perAddress),
    forRoute: (route: RouteSpec) => byRoute.get(route),
  });
}

/**
 * The key an address is counted under: IPv4 as is, IPv6 by its /64 (one host usually owns a
 * whole /64, so rotating inside it must not evade the limit).
 */
export function addressKey(address: string): string {
  const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4mapped !== null) return v4mapped[1] as string;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** The `ratelimit-*` headers (IETF draft-ietf-httpapi-ratelimit-headers, fields of draft 06). */
export function rateLimitHeaders(verdict: RateLimitVerdict): Array<readonly [string, string]> {
  const headers: Array<readonly [string, string]> = [
    ['ratelimit-limit', String(verdict.limit)],
    ['ratelimit-remaining', String(verdict.remaining)],
    ['ratelimit-reset', String(verdict.resetSec)],
    ['ratelimit-policy', `${verdict.limit};w=${verdict.windowSec}`],
  ];
  if (!verdict.allowed) headers.push(['retry-after', String(verdict.resetSec)]);
  return headers;
}
