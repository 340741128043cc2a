import { PalisadeError } from '../../kernel/index.js';
import type { RequestContext } from '../request-context.js';
import { isRelayableRequestHeader, isRelayableResponseHeader } from '../security-headers.js';

const HOST = /^(?:[A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}(?::[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?$/;

/**
 * Step 7: runs the route's function in its isolate, through the worker pool. The function sees
 * the raw path and query, the request headers minus hop-by-hop ones, and the request id.
 */
export async function invokeFunction(ctx: RequestContext): Promise<void> {
  const route = ctx.route;
  const target = ctx.target;
  if (route === undefined || target === undefined) throw new PalisadeError('PAL_INTERNAL', 'invokeFunction ran before resolveRoute');
  const raw = ctx.req.rawHeaders;
  const headers: Array<readonly [string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (isRelayableRequestHeader(name)) headers.push([name, raw[i + 1] as string]);
  }
  headers.push(['x-request-id', ctx.requestId]);
  const hostHeader = ctx.req.headers.host;
  const origin = hostHeader !== undefined && HOST.test(hostHeader) ? `${ctx.state.scheme}://${hostHeader}` : ctx.state.origin;
  // A runtime failure is a PalisadeError whose code implies the reason (`toDenial`).
  {
    const response = await ctx.deps.invoker.invoke(route.function, {
      method: ctx.req.method ?? 'GET',
      url: `${origin}${target.path}${target.search}`,
      headers,
      body: ctx.body,
      requestId: ctx.requestId,
    });
    // A function may not set hop-by-hop, framing, banner or security headers; only its own
    // headers are filtered here, the gateway's replies are sent as built.
    ctx.response = { ...response, headers: response.headers.filter(([name]) => isRelayableResponseHeader(name)) };
  }
}
