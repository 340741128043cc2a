import { PalisadeError } from '../../kernel/index.js';
import type { RequestContext } from '../request-context.js';
import { checkRequestTarget } from '../request-target.js';

/**
 * Step 2: rejects unsafe request targets before routing, then finds the route.
 * 400 for a bad path, 404 for no route, 405 (with `allow`) for a wrong method.
 */
export function resolveRoute(ctx: RequestContext): void {
  try {
    ctx.target = checkRequestTarget(ctx.req.url ?? '');
  } catch (error) {
    ctx.reason = 'bad-path';
    throw error;
  }
  const match = ctx.state.routes.match(ctx.req.method ?? '', ctx.target.segments);
  if (match.kind === 'not-found') {
    ctx.reason = 'route-not-found';
    throw new PalisadeError('PAL_GATEWAY_ROUTE_NOT_FOUND', 'no route matches this path');
  }
  if (match.kind === 'method-not-allowed') {
    ctx.reason = 'method-not-allowed';
    throw new MethodNotAllowed(match.allow);
  }
  ctx.route = match.route;
  ctx.params = match.params;
}

/** A 405 that carries the methods for the `allow` header. */
export class MethodNotAllowed extends PalisadeError {
  readonly allow: readonly string[];
  constructor(allow: readonly string[]) {
    super('PAL_GATEWAY_METHOD_NOT_ALLOWED', `method not allowed; use ${allow.join(', ')}`);
    this.allow = allow;
  }
}
