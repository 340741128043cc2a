import type { AuthorizationDecision, Authorizer } from './ports.js';

const ALLOW: AuthorizationDecision = Object.freeze({ effect: 'allow', reason: 'permit', policyIds: Object.freeze([]), errors: Object.freeze([]) });

/**
 * Authorization switched off: every route call is allowed. For benchmarks that measure what
 * authorization costs (the same route with Cedar and without). Never part of a node: this file
 * is test support, left out of the package, and no CLI option or manifest key reaches it.
 * Operator actions stay denied even here.
 */
export const allowAllAuthorizer: Authorizer = Object.freeze({
  authorize: (): AuthorizationDecision => ALLOW,
  authorizeAdmin: (): AuthorizationDecision => ({ effect: 'deny', reason: 'no-permit', policyIds: [], errors: [] }),
});
