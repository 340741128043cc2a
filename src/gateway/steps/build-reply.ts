import { validateHeaderName, validateHeaderValue } from 'node:http';
import { Denial } from '../denial.js';
import { createProblemReply } from '../problem-response.js';
import type { RequestContext } from '../request-context.js';

/**
 * Step 8 (respond): turns the outcome into the reply: the function's or endpoint's response as
 * it is, or the denial as RFC 9457 problem+json with the denial's own headers. A client that
 * went away gets a `client-aborted` denial: there is nobody to answer, but the decision is still
 * recorded as its own outcome. The security headers are added when the reply is sent.
 */
export function buildReply(ctx: RequestContext): void {
  if (ctx.requestId === '') ctx.requestId = 'unassigned';
  if (ctx.denial === undefined && ctx.response === undefined) {
    ctx.denial = new Denial('PAL_INTERNAL', 'internal-error', 'the pipeline produced no response');
  }
  if (ctx.response !== undefined && !headersAreSendable(ctx.response.headers)) {
    // A function header Node would refuse (CR/LF, bad name): fail safe, and record it truthfully.
    ctx.denial = new Denial('PAL_RUNTIME_FUNCTION_THREW', 'function-error', 'the function returned an invalid response');
    delete ctx.response;
  }
  if (clientGone(ctx) && ctx.denial?.reason !== 'client-aborted') {
    ctx.denial = new Denial('PAL_GATEWAY_CLIENT_ABORTED', 'client-aborted', 'the client closed the connection', { cause: ctx.denial });
    delete ctx.response;
  }
  const denial = ctx.denial;
  if (denial !== undefined) {
    if (denial.status >= 500 && denial.reason !== 'client-aborted') {
      ctx.deps.logger.error(denial.code === 'PAL_INTERNAL' ? 'unexpected error' : denial.message, { requestId: ctx.requestId, code: denial.code, reason: describeCause(denial) });
    }
    ctx.reply = denial.reply === undefined ? createProblemReply(denial, ctx.requestId, ctx.rateLimitHeaders) : { ...denial.reply, headers: [...denial.reply.headers, ...(ctx.rateLimitHeaders ?? [])] };
    return;
  }
  const response = ctx.response;
  if (response !== undefined) ctx.reply = ctx.rateLimitHeaders === undefined ? response : { ...response, headers: [...response.headers, ...ctx.rateLimitHeaders] };
}

function headersAreSendable(headers: ReadonlyArray<readonly [string, string]>): boolean {
  try {
    for (const [name, value] of headers) {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    }
    return true;
  } catch {
    return false;
  }
}

/** True when the client closed its side before the reply was released. */
function clientGone(ctx: RequestContext): boolean {
  return ctx.res.destroyed || (ctx.res.socket?.destroyed ?? false);
}

function describeCause(error: Denial): string {
  const cause = error.cause instanceof Error ? error.cause : error;
  const inner = cause instanceof Error && cause.cause instanceof Error ? cause.cause : cause;
  return inner instanceof Error ? inner.message.slice(0, 500) : 'unknown';
}
