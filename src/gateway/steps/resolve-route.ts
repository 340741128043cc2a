import { Denial } from '../denial.js';
import type { RequestContext } from '../request-context.js';
import { checkRequestTarget } from '../request-target.js';

/**
 * Step 2: rejects unsafe request targets before routing, then finds the route.
 * 400 for a bad path, 404 for no route, 405 (with `allow`) for a wrong method.
 */
export function resolveRoute(ctx: RequestContext): void {
  // checkRequestTarget throws PAL_GATEWAY_BAD_PATH, which is a `bad-path` denial.
  ctx.target = checkRequestTarget(ctx.req.url ?? '');
  const match = ctx.state.routes.match(ctx.req.method ?? '', ctx.target.segments);
  if (match.kind === 'not-found') throw new Denial('PAL_GATEWAY_ROUTE_NOT_FOUND', 'route-not-found', 'no route matches this path');
  if (match.kind === 'method-not-allowed') {
    throw new Denial('PAL_GATEWAY_METHOD_NOT_ALLOWED', 'method-not-allowed', `method not allowed; use ${match.allow.join(', ')}`, { headers: [['allow', match.allow.join(', ')]] });
  }
  ctx.route = match.route;
  ctx.params = match.params;
}
