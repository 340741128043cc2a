import { PalisadeError, type AuditEvent } from '../../kernel/index.js';
import { createProblemReply } from '../problem-response.js';
import type { RequestContext } from '../request-context.js';

/**
 * Step 9 (record): one audit event for the request's decision, before the response is released.
 * Fail closed: when the event cannot be recorded, the reply becomes a 503
 * (`PAL_AUDIT_UNAVAILABLE`) and the function's answer is withheld.
 */
export async function recordAudit(ctx: RequestContext): Promise<void> {
  const reply = ctx.reply;
  if (reply === undefined) return;
  const denial = ctx.denial;
  const principal = ctx.principal;
  const outcome: AuditEvent['outcome'] =
    denial === undefined ? 'allow' : denial.reason === 'client-aborted' ? 'aborted' : denial.status >= 500 && denial.code !== 'PAL_GATEWAY_SHUTTING_DOWN' && denial.code !== 'PAL_GATEWAY_NOT_IMPLEMENTED' ? 'error' : 'deny';
  const event: AuditEvent = {
    time: ctx.deps.clock.now(),
    requestId: ctx.requestId,
    action: ctx.action ?? (ctx.granted === 'health' ? 'health' : 'invoke'),
    outcome,
    reason: denial?.reason ?? ctx.granted ?? 'allowed',
    status: reply.status,
    method: ctx.req.method ?? '',
    clientIp: ctx.clientIp,
    ...userAgentOf(ctx),
    durationMs: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
    ...(ctx.route === undefined ? {} : { route: ctx.route.path, function: ctx.route.function }),
    ...(ctx.endpointPath === undefined ? {} : { route: ctx.endpointPath }),
    ...(principal === undefined ? {} : { principal: { type: principal.type, id: principal.id, issuer: principal.issuer, authMethod: principal.authMethod, mfa: principal.mfa } }),
    ...(denial === undefined ? {} : { code: denial.code }),
    ...(denial?.authFailure === undefined ? {} : { authFailure: denial.authFailure }),
    ...(ctx.decision === undefined ? {} : { policyIds: ctx.decision.policyIds }),
  };
  try {
    await ctx.deps.audit.append(event);
  } catch (error) {
    // Fail closed: an unrecorded decision is not released.
    ctx.deps.logger.error('audit record failed; refusing the response', { requestId: ctx.requestId, code: 'PAL_AUDIT_UNAVAILABLE', reason: error instanceof Error ? error.message.slice(0, 500) : 'unknown' });
    ctx.reply = createProblemReply(new PalisadeError('PAL_AUDIT_UNAVAILABLE', 'audit unavailable'), ctx.requestId, [['retry-after', '1']]);
  }
}

const MAX_USER_AGENT = 256;

function userAgentOf(ctx: RequestContext): { userAgent?: string } {
  const ua = ctx.req.headers['user-agent'];
  if (typeof ua !== 'string' || ua === '') return {};
  // A header value is client input: no control characters reach the record, and its length is bounded.
  // eslint-disable-next-line no-control-regex
  return { userAgent: ua.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, MAX_USER_AGENT) };
}
