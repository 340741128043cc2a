/**
 * The one import of the Cedar engine (`@cedar-policy/cedar-wasm`, the Node.js build): every other
 * file of this capability reaches Cedar through here, so a change of engine version or build has
 * one place to look.
 */
export {
  isAuthorized,
  statefulIsAuthorized,
  preparsePolicySet,
  validate,
  policyToJson,
  policyToText,
  checkParseSchema,
  schemaToJson,
  getCedarVersion,
} from '@cedar-policy/cedar-wasm/nodejs';
export type {
  AuthorizationAnswer,
  Context,
  CedarValueJson,
  DetailedError,
  EntityJson,
  EntityUidJson,
  Expr,
  PolicyJson,
  TypeAndId,
} from '@cedar-policy/cedar-wasm/nodejs';
