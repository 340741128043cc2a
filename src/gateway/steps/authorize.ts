import { PalisadeError } from '../../kernel/index.js';
import { Denial } from '../denial.js';
import type { AuthorizationDecision } from '../ports.js';
import type { RequestContext } from '../request-context.js';

/** RFC 9470 section 3: the challenge that asks the client to authenticate again, with a second factor. */
const STEP_UP_CHALLENGE = 'Bearer error="insufficient_user_authentication", error_description="a second factor is required"';

/**
 * Step 4: asks the authorizer (Cedar) whether the principal may invoke the route, and records the
 * decision on the context for the audit event. Deny by default: no permit, a forbid, or an error
 * of the engine itself is a deny (403). A deny that only a second factor would lift answers 401
 * with the RFC 9470 step-up challenge. Public routes carry no principal and skip it.
 */
export async function authorize(ctx: RequestContext): Promise<void> {
  const route = ctx.route;
  if (route === undefined) throw new PalisadeError('PAL_INTERNAL', 'authorize ran before resolveRoute');
  if (route.public) return;
  const principal = ctx.principal;
  if (principal === undefined) throw new Denial('PAL_GATEWAY_UNAUTHENTICATED', 'no-credentials', 'authentication required');
  let decision: AuthorizationDecision;
  try {
    decision = await ctx.deps.authorizer.authorize(principal, route, { clientIp: ctx.clientIp, time: ctx.deps.clock.now(), method: ctx.req.method ?? '' });
  } catch (error) {
    // Deny on error (CONVENTIONS §11): a failing engine never opens a route.
    ctx.deps.logger.error('authorizer failed; denying', { requestId: ctx.requestId, code: 'PAL_POLICY_UNAVAILABLE', reason: error instanceof Error ? error.message.slice(0, 300) : 'unknown' });
    decision = { effect: 'deny', reason: 'engine-error', policyIds: [], errors: ['authorizer failed'] };
  }
  enforceDecision(ctx, decision);
}

/**
 * Records a decision on the context (for the audit event) and refuses unless it allows: 401
 * with the RFC 9470 step-up challenge when only a second factor would lift the deny, else 403.
 * Shared by route calls and the admin API, so both answer alike.
 */
export function enforceDecision(ctx: RequestContext, decision: AuthorizationDecision): void {
  ctx.decision = decision;
  if (decision.errors.length > 0) {
    // A policy that failed to evaluate did not apply (Cedar semantics); operators must see it.
    ctx.deps.logger.warn('policy evaluation errors', { requestId: ctx.requestId, code: 'PAL_POLICY_EVALUATION_ERROR', reason: decision.errors.join('; ').slice(0, 500) });
  }
  if (decision.effect === 'allow') {
    ctx.granted = 'allowed';
    return;
  }
  if (decision.reason === 'mfa-required') throw new Denial('PAL_GATEWAY_STEP_UP_REQUIRED', 'mfa-required', 'a second factor is required', { headers: [['www-authenticate', STEP_UP_CHALLENGE]] });
  throw new Denial('PAL_GATEWAY_FORBIDDEN', 'policy-denied', 'not allowed');
}
