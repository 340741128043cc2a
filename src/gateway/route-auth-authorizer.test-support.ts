import type { Principal } from '../kernel/index.js';
import type { RouteSpec } from '../manifest/index.js';
import type { AuthorizationDecision, Authorizer } from './ports.js';

/**
 * For the gateway's own tests, run without the policy capability: a private
 * route admits any caller who authenticated with one of the route's own `auth` methods. A
 * Palisade node never uses it: `platform` wires the Cedar authorizer.
 */
export const routeAuthAuthorizer: Authorizer = Object.freeze({
  authorize: (principal: Principal, route: RouteSpec): AuthorizationDecision => {
    const allow = route.auth.length > 0 && (principal.authMethod !== 'api-key' || route.auth.includes('api-key'));
    return { effect: allow ? 'allow' : 'deny', reason: allow ? 'permit' : 'no-permit', policyIds: ['palisade:route-auth'], errors: [] };
  },
  // Operator actions are never granted without the policy capability.
  authorizeAdmin: (): AuthorizationDecision => ({ effect: 'deny', reason: 'no-permit', policyIds: [], errors: [] }),
});

