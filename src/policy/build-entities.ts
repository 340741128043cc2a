import type { Principal } from '../kernel/index.js';
import type { Manifest, RouteSpec } from '../manifest/index.js';
import type { CedarValueJson, EntityJson, TypeAndId } from './cedar.js';

/** Cedar entity types a principal can have. */
export type PrincipalEntityType = 'User' | 'ServiceAccount' | 'ApiKey' | 'Function';

/**
 * The Cedar uid of a principal. The id is the JSON array `[issuer, subject]`: the issuer is part
 * of who someone is (`sub: "123"` of two identity providers is two principals), and a JSON array
 * cannot be confused by any character inside either part.
 *
 * @example
 * ```ts
 * principalUid({ type: 'User', id: 'alice', issuer: 'https://idp', ... }); // { type: 'User', id: '["https://idp","alice"]' }
 * ```
 */
export function principalUid(principal: Pick<Principal, 'type' | 'id' | 'issuer' | 'authMethod'>): TypeAndId {
  return { type: principalEntityType(principal), id: JSON.stringify([principal.issuer, principal.id]) };
}

/** The entity type of a principal: API keys are `ApiKey`, whatever the kernel type says. */
export function principalEntityType(principal: Pick<Principal, 'type' | 'authMethod'>): PrincipalEntityType {
  if (principal.authMethod === 'api-key') return 'ApiKey';
  return principal.type;
}

/**
 * The manifest's name of the issuer that vouched for a principal: `builtin`, `api-key`, `mtls`, or
 * the `name` of the OIDC issuer whose URL is the principal's `issuer`. Undefined when unknown
 * (then no `issuers`/`users` list can match).
 */
export function resolveIssuerName(principal: Pick<Principal, 'authMethod' | 'issuer'>, oidcIssuers: ReadonlyMap<string, string>): string {
  switch (principal.authMethod) {
    case 'builtin':
      return 'builtin';
    case 'api-key':
      return 'api-key';
    case 'mtls':
      return 'mtls';
    default:
      // Unknown issuers get a name no manifest name can be (names are lowercase letters, digits, dashes).
      return oidcIssuers.get(principal.issuer) ?? '#unknown';
  }
}

/**
 * The principal's entities: itself (`subject`, `issuer`, `issuerName`) and one `Role` entity per
 * role, which the principal is `in`. Built as JSON data, never as policy text.
 *
 * INVARIANT: nothing of the principal is ever pasted into policy text; a subject such as
 * `admin" || true` stays one opaque string inside a JSON array.
 */
export function buildPrincipalEntities(principal: Pick<Principal, 'type' | 'id' | 'issuer' | 'authMethod' | 'roles'>, issuerName: string): EntityJson[] {
  const uid = principalUid(principal);
  const parents: TypeAndId[] = [];
  const roleEntities: EntityJson[] = [];
  // Loops rather than array callbacks on the decision path (see `toDecision`).
  for (const r of new Set(principal.roles)) {
    parents.push({ type: 'Role', id: r });
    roleEntities.push({ uid: { type: 'Role', id: r }, attrs: {}, parents: [] });
  }
  return [{ uid, attrs: { subject: principal.id, issuer: principal.issuer, issuerName }, parents }, ...roleEntities];
}

/**
 * The Cedar uid of a route: `"<METHODS> <path>"`, such as `"GET,HEAD /orders"`, unique in a valid
 * manifest (overlapping routes are refused).
 */
export function routeUid(route: Pick<RouteSpec, 'methods' | 'path'>): TypeAndId {
  return { type: 'Route', id: `${route.methods.join(',')} ${route.path}` };
}

/** The uid of a function entity. */
export function functionUid(name: string): TypeAndId {
  return { type: 'Function', id: name };
}

/**
 * The entities a route decision needs: the route, its function and the function's segment
 * (`resource in Segment::"payments"` holds for every route of a function in that segment).
 */
export function buildRouteEntities(route: RouteSpec, manifest: Pick<Manifest, 'functions'>): EntityJson[] {
  const fn = manifest.functions.get(route.function);
  const segment = fn?.segment ?? 'default';
  return [
    {
      uid: routeUid(route),
      attrs: { path: route.path, methods: [...route.methods], function: route.function, public: route.public },
      parents: [functionUid(route.function)],
    },
    ...buildFunctionEntities(route.function, segment),
  ];
}

/** The uid of a secret entity (by name). */
export function secretUid(name: string): TypeAndId {
  return { type: 'Secret', id: name };
}

/**
 * A secret and the segment it belongs to as entities: `Secret in Segment`, so the generated
 * segment rule (`resource in Segment::"payments"`) holds for every secret of that segment.
 *
 * INVARIANT: the segment comes from the gateway's own manifest (`secretSegmentOf`), never from a
 * worker; without the parent the segment forbid could not see the secret.
 *
 * @example
 * ```ts
 * buildSecretEntities('ledger-key', 'payments'); // [Secret::"ledger-key" in Segment::"payments", Segment::"payments"]
 * ```
 */
export function buildSecretEntities(name: string, segment: string): EntityJson[] {
  return [
    { uid: secretUid(name), attrs: { name }, parents: [{ type: 'Segment', id: segment }] },
    { uid: { type: 'Segment', id: segment }, attrs: {}, parents: [] },
  ];
}

/** The uid of a host an outbound request goes to (its canonical name). */
export function hostUid(name: string): TypeAndId {
  return { type: 'Host', id: name };
}

/** A host as an entity: its canonical `name` (what wildcard grants match with `like`). */
export function buildHostEntity(name: string): EntityJson {
  return { uid: hostUid(name), attrs: { name }, parents: [] };
}

/** A function and its segment as entities. */
export function buildFunctionEntities(name: string, segment: string): EntityJson[] {
  return [
    { uid: functionUid(name), attrs: { name, segment }, parents: [{ type: 'Segment', id: segment }] },
    { uid: { type: 'Segment', id: segment }, attrs: {}, parents: [] },
  ];
}

/**
 * A client address as a Cedar `ipaddr` value. IPv4-mapped IPv6 (`::ffff:10.0.0.1`, how Node
 * reports IPv4 clients of a dual-stack socket) becomes the IPv4 address, so `10.0.0.0/8` ranges
 * match; an IPv6 zone (`%eth0`) is dropped.
 */
export function ipValue(address: string): CedarValueJson {
  let a = address;
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  if (mapped?.[1] !== undefined) a = mapped[1];
  return { __extn: { fn: 'ip', arg: a } };
}
