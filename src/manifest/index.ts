export { manifestSchema } from './manifest-schema.js';
export type {
  BindingSpec,
  FunctionLimits,
  FunctionSpec,
  GatewaySpec,
  HttpMethod,
  IdentitySpec,
  BuiltinSpec,
  MtlsSpec,
  IssuerSpec,
  Manifest,
  RouteSpec,
  SegmentSpec,
  TlsSpec,
} from './manifest-types.js';
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
