import { Denial } from '../denial.js';
import { addressKey, rateLimitHeaders, type RateLimiter } from '../rate-limiters.js';
import type { RequestContext } from '../request-context.js';

/**
 * Step 6: the route's `rateLimit`, per caller (issuer-qualified principal, so `sub: 123` of two
 * issuers are two callers) or per address (public routes; IPv6 per /64). It runs after
 * authorization and before the body is read or validated, so a flood is refused before the
 * expensive work, and one caller's flood never spends another caller's quota. 429 carries
 * `retry-after` and the `ratelimit-*` fields; allowed answers carry the fields too.
 */
export async function rateLimit(ctx: RequestContext): Promise<void> {
  const route = ctx.route;
  if (route?.rateLimit === undefined) return;
  const limiter = ctx.state.limiters.forRoute(route);
  if (limiter === undefined) return;
  const principal = ctx.principal;
  const key = route.rateLimit.by === 'principal' && principal !== undefined ? `p:${principal.authMethod}:${principal.issuer ?? ''}:${principal.id}` : `a:${addressKey(ctx.clientIp)}`;
  await consume(ctx, limiter, key);
}

/**
 * The gateway-wide limit per client address (`gateway.rateLimit`), checked before routing and
 * authentication so that a flood from one address costs one counter update per request.
 */
export async function limitAddress(ctx: RequestContext): Promise<void> {
  const limiter = ctx.state.limiters.perAddress;
  if (limiter === undefined) return;
  await consume(ctx, limiter, addressKey(ctx.clientIp));
}

async function consume(ctx: RequestContext, limiter: RateLimiter, key: string): Promise<void> {
  let verdict;
  try {
    verdict = await limiter.consume(key);
  } catch (error) {
    // Deny on error: a store that cannot count cannot allow.
    throw new Denial('PAL_GATEWAY_RATE_LIMITED', 'rate-limited', 'rate limit unavailable; retry later', { headers: [['retry-after', '1']], cause: error });
  }
  const headers = rateLimitHeaders(verdict);
  if (!verdict.allowed) throw new Denial('PAL_GATEWAY_RATE_LIMITED', 'rate-limited', 'too many requests; retry later', { headers });
  // The route limit runs after the address limit: its fields are the ones the caller sees.
  ctx.rateLimitHeaders = headers;
}
