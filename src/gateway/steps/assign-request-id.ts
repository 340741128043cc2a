import { createRequestId } from '../../kernel/index.js';
import type { RequestContext } from '../request-context.js';

/**
 * Step 1: gives the request a fresh id from the CSPRNG and records the client address.
 * A client-supplied `x-request-id` is never trusted: ids must be unique to tie audit records.
 */
export function assignRequestId(ctx: RequestContext): void {
  ctx.requestId = createRequestId();
  ctx.clientIp = ctx.req.socket.remoteAddress ?? 'unknown';
}
