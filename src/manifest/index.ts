export { manifestSchema } from './manifest-schema.js';
export { compileBodySchema, type BodyError, type BodyValidator, type CompileBodySchemaResult } from './body-schema.js';
export { credentialHeaders } from './manifest-types.js';
export type {
  BindingSpec,
  BodySchemaSpec,
  EgressGrantSpec,
  ContentEncoding,
  CredentialHeader,
  RateLimitSpec,
  FunctionLimits,
  FunctionSpec,
  GatewaySpec,
  AuditSpec,
  AuditSinkSpec,
  HttpMethod,
  IdentitySpec,
  BuiltinSpec,
  MtlsSpec,
  IssuerSpec,
  Manifest,
  RouteSpec,
  RouteAllowSpec,
  RoleSpec,
  SegmentSpec,
  TlsSpec,
} from './manifest-types.js';
export { checkEgressHost } from './egress-host.js';
export { secretSegmentOf } from './resolve-secret-segments.js';
export { effectiveEgressGrants, egressGrantsOf } from './egress-grants.js';
export { validateManifestText, parseListen, type ManifestSource } from './validate-manifest.js';
export { checkManifest, loadManifest, MANIFEST_FILE } from './load-manifest.js';
export {
  parseRoutePattern,
  routePatternsOverlap,
  RESERVED_PATH_PREFIX,
  type PatternSegment,
  type RoutePattern,
  type ParseRoutePatternResult,
} from './route-pattern.js';
export { renderJsonSchema, renderManifestReference } from './render-manifest-reference.js';
