import { PalisadeError } from '../../kernel/index.js';
import { createProblemReply } from '../problem-response.js';
import type { RequestContext } from '../request-context.js';

/**
 * Step 10 (release): writes the reply with the security headers and the request id, which
 * override anything a function set. A `HEAD` gets the headers only. A header value Node refuses
 * (a function's CR/LF) turns into a 500 problem rather than a split response.
 */
export function sendReply(ctx: RequestContext): void {
  const reply = ctx.reply;
  const res = ctx.res;
  if (reply === undefined || res.destroyed || res.headersSent) return;
  const base = ctx.state.baseHeaders;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of reply.headers) {
    const key = name.toLowerCase();
    const prev = headers[key];
    headers[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  for (const [name, value] of base) headers[name] = value;
  headers['x-request-id'] = ctx.requestId;
  headers['content-length'] = String(reply.body.byteLength);
  try {
    res.writeHead(reply.status, headers);
    res.end(ctx.req.method === 'HEAD' ? undefined : reply.body);
  } catch {
    if (!res.headersSent) {
      const problem = createProblemReply(new PalisadeError('PAL_RUNTIME_FUNCTION_THREW', 'the function returned an invalid response'), ctx.requestId);
      res.writeHead(problem.status, { ...Object.fromEntries(base), 'x-request-id': ctx.requestId, 'content-type': 'application/problem+json', 'content-length': String(problem.body.byteLength) });
      res.end(problem.body);
    } else {
      res.destroy();
    }
  }
}
