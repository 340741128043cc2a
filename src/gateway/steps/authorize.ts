import { PalisadeError } from '../../kernel/index.js';
import { Denial } from '../denial.js';
import type { RequestContext } from '../request-context.js';

/**
 * Step 4: asks the authorizer whether the principal may invoke the route. Deny by default:
 * an error in evaluation is a deny. Public routes carry no principal and skip it.
 */
export async function authorize(ctx: RequestContext): Promise<void> {
  const route = ctx.route;
  if (route === undefined) throw new PalisadeError('PAL_INTERNAL', 'authorize ran before resolveRoute');
  if (route.public) return;
  const principal = ctx.principal;
  if (principal === undefined) throw new Denial('PAL_GATEWAY_UNAUTHENTICATED', 'no-credentials', 'authentication required');
  let allow = false;
  try {
    const decision = await ctx.deps.authorizer.authorize(principal, route, { clientIp: ctx.clientIp, time: ctx.deps.clock.now() });
    allow = decision.allow;
  } catch (error) {
    ctx.deps.logger.error('authorizer failed; denying', { requestId: ctx.requestId, code: 'PAL_GATEWAY_FORBIDDEN' });
    void error;
  }
  if (!allow) throw new Denial('PAL_GATEWAY_FORBIDDEN', 'policy-denied', 'not allowed');
  ctx.granted = 'allowed';
}
