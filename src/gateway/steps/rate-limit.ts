import type { RequestContext } from '../request-context.js';

/**
 * Step 6: per-principal and per-address rate limits. The manifest has no `rateLimit` setting in
 * this version (it is rejected, not ignored), so there is nothing to enforce yet; the step keeps
 * its place in the table so the order of checks is fixed.
 */
export function rateLimit(ctx: RequestContext): void {
  void ctx;
}
