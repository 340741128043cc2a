import { PalisadeError } from '../../kernel/index.js';
import type { RequestContext } from '../request-context.js';
import { isRelayableRequestHeader, isRelayableResponseHeader } from '../security-headers.js';

const HOST = /^(?:[A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}(?::[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?$/;

/**
 * Step 7: runs the route's function in its isolate, through the worker pool. The function sees
 * the raw path and query, the request headers minus hop-by-hop ones, the request id and the
 * principal (type, id, issuer, roles, mfa, auth method). A large body comes back as a stream.
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
  const host = hostHeader !== undefined && HOST.test(hostHeader) ? hostHeader : ctx.state.defaultHost;
  try {
    const response = await ctx.deps.invoker.invoke(route.function, {
      method: ctx.req.method ?? 'GET',
      url: `${ctx.state.scheme}://${host}${target.path}${target.search}`,
      headers,
      body: ctx.body,
      requestId: ctx.requestId,
      // The function learns who called (ctx.principal), not how they proved it.
      principal: ctx.principal === undefined ? null : { type: ctx.principal.type, id: ctx.principal.id, issuer: ctx.principal.issuer ?? null, roles: ctx.principal.roles, mfa: ctx.principal.mfa, authMethod: ctx.principal.authMethod },
    });
    // A function may not set hop-by-hop, framing, banner or security headers; only its own
    // headers are filtered here, the gateway's replies are sent as built.
    ctx.response = { ...response, headers: response.headers.filter(([name]) => isRelayableResponseHeader(name)) };
  } catch (error) {
    const code = error instanceof PalisadeError ? error.code : 'PAL_INTERNAL';
    ctx.reason =
      code === 'PAL_RUNTIME_FUNCTION_THREW'
        ? 'function-error'
        : code === 'PAL_RUNTIME_UNAVAILABLE' || code === 'PAL_RUNTIME_WORKER_CRASHED' || code === 'PAL_RUNTIME_WORKER_FAULT' || code === 'PAL_RUNTIME_LOAD_FAILING'
          ? 'runtime-unavailable'
          : code === 'PAL_INTERNAL'
            ? 'internal-error'
            : 'runtime-limit';
    throw error;
  }
}
