import { PalisadeError } from '../../kernel/index.js';
import { createProblemReply } from '../problem-response.js';
import type { RequestContext } from '../request-context.js';
import { sendStreamedBody } from '../stream-response.js';

/**
 * Step 10 (release): writes the reply with the security headers and the request id, which
 * override anything a function set. A `HEAD` gets the headers only. A header value Node refuses
 * (a function's CR/LF) turns into a 500 problem rather than a split response. A streamed function
 * body is pulled as the client reads (`sendStreamedBody`); one that will not be sent (the reply
 * was replaced by a denial, the client left) is cancelled so the worker drops it.
 */
export function sendReply(ctx: RequestContext): void {
  const reply = ctx.reply;
  const res = ctx.res;
  const produced = ctx.response?.body;
  if (produced !== undefined && !(produced instanceof Uint8Array) && reply?.body !== produced) produced.cancel();
  if (reply === undefined || res.destroyed || res.headersSent) {
    if (reply !== undefined && !(reply.body instanceof Uint8Array)) reply.body.cancel();
    return;
  }
  const base = ctx.state.baseHeaders;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of reply.headers) {
    const key = name.toLowerCase();
    const prev = headers[key];
    headers[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  for (const [name, value] of base) headers[name] = value;
  headers['x-request-id'] = ctx.requestId;
  // A body of unknown length (redacted on the way) goes out chunked; a function's own
  // `content-length` is never trusted for it.
  if (reply.body.byteLength === undefined) delete headers['content-length'];
  else headers['content-length'] = String(reply.body.byteLength);
  const head = ctx.req.method === 'HEAD';
  try {
    res.writeHead(reply.status, headers);
  } catch {
    if (!(reply.body instanceof Uint8Array)) reply.body.cancel();
    if (!res.headersSent) {
      const problem = createProblemReply(new PalisadeError('PAL_RUNTIME_FUNCTION_THREW', 'the function returned an invalid response'), ctx.requestId);
      res.writeHead(problem.status, { ...Object.fromEntries(base), 'x-request-id': ctx.requestId, 'content-type': 'application/problem+json', 'content-length': String(problem.body.byteLength) });
      res.end(problem.body);
    } else {
      res.destroy();
    }
    return;
  }
  if (reply.body instanceof Uint8Array) {
    res.end(head ? undefined : reply.body);
  } else if (head) {
    reply.body.cancel();
    res.end();
  } else {
    // Never rejects: a slow or vanished reader is disconnected and the stream cancelled there.
    void sendStreamedBody(res, reply.body, ctx.state.sendTimeoutMs);
  }
}
