import { PalisadeError } from '../../kernel/index.js';
import type { RequestContext } from '../request-context.js';
import { isRelayableResponseHeader } from '../security-headers.js';

/**
 * Step 7b: runs the route's function in its isolate, through the worker pool, with the request
 * `prepareFunctionRequest` built (credentials stripped, origin pinned) and the authenticated
 * caller in `ctx.principal`. A runtime failure is a `PalisadeError` whose code implies the
 * decision reason (see `toDenial`).
 */
export async function invokeFunction(ctx: RequestContext): Promise<void> {
  const route = ctx.route;
  const request = ctx.functionRequest;
  if (route === undefined || request === undefined) throw new PalisadeError('PAL_INTERNAL', 'invokeFunction ran before prepareFunctionRequest');
  const response = await ctx.deps.invoker.invoke(route.function, request);
  // A function may not set hop-by-hop, framing, banner or security headers; only its own
  // headers are filtered here, the gateway's replies are sent as built.
  ctx.response = { ...response, headers: response.headers.filter(([name]) => isRelayableResponseHeader(name)) };
}
