import type { AuditEvent, DecisionReason, ErrorCode } from '../../kernel/index.js';
import type { RequestContext } from '../request-context.js';

const ALLOW_REASONS: readonly DecisionReason[] = ['allowed', 'public-route', 'health'];

/**
 * Step 9: records one audit event for the request's decision, before the response is released.
 * Until the audit capability provides a durable chain, the sink is the operator log.
 */
export async function recordAudit(ctx: RequestContext, status: number, code: ErrorCode | undefined, action: AuditEvent['action'] = 'invoke'): Promise<void> {
  // The decision reason, not the status, says allow: a function's own 404 is an allowed call,
  // while an OAuth error body (RFC 6749 section 5.2) answered without an error code is a deny.
  const outcome: AuditEvent['outcome'] = status >= 500 ? 'error' : code === undefined && ALLOW_REASONS.includes(ctx.reason) ? 'allow' : 'deny';
  const principal = ctx.principal;
  const event: AuditEvent = {
    time: ctx.deps.clock.now(),
    requestId: ctx.requestId,
    action,
    outcome,
    reason: ctx.reason,
    status,
    method: ctx.req.method ?? '',
    clientIp: ctx.clientIp,
    durationMs: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
    ...(ctx.route === undefined ? {} : { route: ctx.route.path, function: ctx.route.function }),
    ...(principal === undefined ? {} : { principal: { type: principal.type, id: principal.id, issuer: principal.issuer, authMethod: principal.authMethod, mfa: principal.mfa } }),
    ...(code === undefined ? {} : { code }),
    ...(ctx.authFailure === undefined ? {} : { authFailure: ctx.authFailure }),
  };
  await ctx.deps.audit.append(event);
}
