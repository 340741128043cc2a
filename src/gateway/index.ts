export { createGateway, createInsecureLoopbackHttpGateway, type Gateway, type GatewayConfig, type GatewayLimits } from './create-gateway.js';
export { ensureLocalTls, loadTlsFiles, type TlsMaterial } from './ensure-local-tls.js';
export {
  rejectAllAuthenticator,
  denyAllAuthorizer,
  type Authenticator,
  type AuthenticationInput,
  type AuthenticationResult,
  type Authorizer,
  type AuthorizationDecision,
  type AuthorizationFacts,
  type AdminAuthorizationFacts,
  type FunctionInvoker,
  type FunctionRequest,
  type FunctionResponse,
  type FunctionBodyStream,
  type FunctionPrincipal,
  type BuiltinEndpoints,
  type EndpointRequest,
  type EndpointOutcome,
  type EndpointAction,
} from './ports.js';
export type { GatewayDeps } from './request-context.js';
export { createAdminApi, ADMIN_API_PREFIX, adminActionNames, type AdminApi, type AdminActionName, type AdminEndpoint, type AdminEndpointRequest, type AdminEndpointReply, type AdminAuthenticationInput } from './admin-api.js';
export { MAX_ADMIN_BODY_BYTES } from './steps/serve-admin-endpoint.js';
export { checkRequestTarget, type RequestTarget } from './request-target.js';
export { createRouteTable, type RouteTable, type RouteMatch } from './route-table.js';
export { createProblemReply } from './problem-response.js';
export { Denial, toDenial, type DenialOptions, type ProblemError } from './denial.js';
export { memoryRateLimitStore, type RateLimitStore, type RateLimiter, type RateLimitVerdict } from './rate-limiters.js';
