export { createEgressGuard, type EgressGuard, type EgressGuardOptions, type EgressLimits } from './create-egress-guard.js';
export { classifyAddress, type AddressClass } from './classify-address.js';
export { canonicalHost, checkGrants, egressGrantCovers, parseEgressTarget, type EgressTarget, type GrantVerdict } from './egress-target.js';
export { systemResolver, createDnsServerResolver } from './dns-resolvers.js';
export {
  EgressError,
  egressErrorCode,
  egressReasons,
  type DnsResolver,
  type EgressAuthorization,
  type EgressAuthorizer,
  type EgressEvent,
  type EgressGrant,
  type EgressReason,
  type EgressRequest,
  type EgressResult,
  type ResolvedAddress,
} from './egress-types.js';
