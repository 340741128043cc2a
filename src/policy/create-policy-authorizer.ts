import { DiagnosticsError, type Principal, type ValidationResult } from '../kernel/index.js';
import { secretSegmentOf, type Manifest, type RouteSpec } from '../manifest/index.js';
import { buildFunctionEntities, buildPrincipalEntities, buildRouteEntities, buildHostEntity, buildSecretEntities, functionUid, hostUid, ipValue, principalUid, resolveIssuerName, routeUid, secretUid } from './build-entities.js';
import type { CedarValueJson, EntityJson } from './cedar.js';
import type { CompiledPolicySet } from './compile-policy-set.js';
import { loadPolicySet } from './load-policies.js';
import { createPolicyEngine, type AuthorizationRequest, type PolicyDecision, type PolicyEngine, type PolicyEngineOptions, type PreparedDecision } from './policy-engine.js';

/** The request facts a route decision reads besides principal and route. */
export interface RouteRequestFacts {
  readonly clientIp: string;
  /** Request time, ms since the epoch. */
  readonly time: number;
  readonly method: string;
  /** Risk score 0-100 (0 until detection sets it). */
  readonly risk?: number;
}

/** The operator actions of the schema (`Action::"<name>"`, each `in Action::"admin"`). */
export const adminActions = ['manageUsers', 'manageApiKeys', 'readAudit', 'manageSecrets', 'rotateKeys', 'deploy'] as const;

/** One operator action. */
export type AdminAction = (typeof adminActions)[number];

/** The request facts an operator-action decision reads besides principal, action and resource. */
export interface AdminRequestFacts {
  readonly clientIp: string;
  /** Request time, ms since the epoch. */
  readonly time: number;
  /** Risk score 0-100 (0 until detection sets it). */
  readonly risk?: number;
}

/** The caller of a function as the runtime records it (its type, issuer and method as plain strings). */
export type CallPrincipal = Pick<Principal, 'id' | 'roles' | 'mfa'> & { readonly type: string; readonly issuer: string | null; readonly authMethod: string };

/** One function-to-function call to decide. */
export interface CallFacts {
  readonly caller: string;
  readonly target: string;
  /** Functions earlier in the chain, outermost first (not the caller). */
  readonly chain: readonly string[];
  /** The principal whose request started the chain; null for calls without one. */
  readonly principal: CallPrincipal | null;
  readonly time: number;
}

/** One secret read to decide. */
export interface SecretReadFacts {
  readonly fn: string;
  readonly secret: string;
  /** Functions earlier in the chain, outermost first (not the reader). */
  readonly chain: readonly string[];
  readonly principal: CallPrincipal | null;
  readonly time: number;
}

/** One outbound request (one attempt: the first request or a redirect) to decide. */
export interface EgressFacts {
  readonly fn: string;
  /** Canonical host name or IP literal (IPv6 without brackets). */
  readonly host: string;
  /** Functions earlier in the chain, outermost first (not `fn`). */
  readonly chain: readonly string[];
  readonly principal: CallPrincipal | null;
  readonly time: number;
}

/** Every access decision of a node, over one atomically swapped policy set. */
export interface PolicyAuthorizer {
  /** The set in force. */
  readonly set: CompiledPolicySet;
  /**
   * May `principal` invoke `route`? A deny that a second factor would turn into an allow has
   * reason `mfa-required` (the caller can step up).
   */
  authorizeRoute(principal: Principal, route: RouteSpec, facts: RouteRequestFacts): PolicyDecision;
  /** May function `caller` call `target` (`Action::"callFunction"`)? */
  authorizeCall(call: CallFacts): PolicyDecision;
  /**
   * May `principal` perform the operator action `action` on `AdminResource::"<resource>"`? Like
   * {@link PolicyAuthorizer.authorizeRoute}, a deny that a second factor alone would lift has
   * reason `mfa-required`.
   */
  authorizeAdmin(principal: Principal, action: AdminAction, resource: string, facts: AdminRequestFacts): PolicyDecision;
  /**
   * May function `fn` read `secret` (`Action::"readSecret"`)? `readsContext`: whether a policy
   * that could apply reads the context (then the answer may differ from one request to the next).
   */
  authorizeSecretRead(read: SecretReadFacts): PolicyDecision & { readonly readsContext: boolean };
  /** May function `fn` open a connection to `host` (`Action::"egress"`)? */
  authorizeEgress(facts: EgressFacts): PolicyDecision;
  /** Any request, built by the caller as JSON (tools). */
  decide(request: AuthorizationRequest): PolicyDecision;
  /**
   * Loads the manifest's policies again and swaps the whole set in one step. A set that does not
   * validate throws a {@link DiagnosticsError} and the old set keeps serving.
   */
  reload(manifest: Manifest): void;
}

interface State {
  readonly engine: PolicyEngine;
  readonly manifest: Pick<Manifest, 'functions' | 'identity' | 'secretSegments'>;
  readonly oidcIssuers: ReadonlyMap<string, string>;
  readonly routeEntities: WeakMap<RouteSpec, readonly EntityJson[]>;
  /** Prepared route requests per route and caller; dropped with the state (a reload starts afresh). */
  readonly prepared: WeakMap<RouteSpec, Map<string, PreparedDecision>>;
  /** Prepared `callFunction` requests per caller, target and chain; dropped with the state. */
  readonly preparedCalls: Map<string, PreparedDecision>;
}

/**
 * Everything of a principal that its entities depend on, as one unambiguous string: each part
 * carries its length, so no character inside a part (a separator, a quote) can shift a boundary.
 */
function callerKeyOf(p: Principal): string {
  let key = `${p.type}|${p.authMethod}|${p.issuer.length}:${p.issuer}|${p.id.length}:${p.id}|${p.roles.length}`;
  for (const r of p.roles) key += `|${r.length}:${r}`;
  return key;
}

/** Callers remembered per route (first in, first out). */
const PREPARED_PER_ROUTE = 4096;
/** Caller, target and chain combinations remembered for `callFunction` (first in, first out). */
const PREPARED_CALLS = 4096;

const INVOKE = { type: 'Action', id: 'invoke' } as const;
const CALL_FUNCTION = { type: 'Action', id: 'callFunction' } as const;
const ADMIN_GROUP = { type: 'Action', id: 'admin' } as const;
const READ_SECRET = { type: 'Action', id: 'readSecret' } as const;
const EGRESS = { type: 'Action', id: 'egress' } as const;
const STEP_UP_METHODS: ReadonlySet<string> = new Set(['builtin', 'oidc']);

/**
 * Loads and validates the manifest's policies and returns the node's authorizer. Throws a
 * {@link DiagnosticsError} (file:line, policy id, Cedar's message) when the set is invalid: a
 * node never starts with policies it cannot check.
 *
 * @example
 * ```ts
 * const authorizer = createPolicyAuthorizer(manifest);
 * authorizer.authorizeRoute(principal, route, { clientIp, time: Date.now(), method: 'GET' }).effect;
 * ```
 */
export function createPolicyAuthorizer(manifest: Manifest, options: PolicyEngineOptions = {}): PolicyAuthorizer {
  let state = buildState(manifest, options);

  const decide = (request: AuthorizationRequest) => state.engine.decide(request);

  return {
    get set() {
      return state.engine.set;
    },
    authorizeRoute(principal, route, facts) {
      const s = state;
      // One prepared request per route and caller (entities and slice built once); the context
      // is all that changes between their requests.
      let byCaller = s.prepared.get(route);
      if (byCaller === undefined) {
        byCaller = new Map();
        s.prepared.set(route, byCaller);
      }
      const callerKey = callerKeyOf(principal);
      let prepared = byCaller.get(callerKey);
      if (prepared === undefined) {
        let routeEntities = s.routeEntities.get(route);
        if (routeEntities === undefined) {
          routeEntities = buildRouteEntities(route, s.manifest);
          s.routeEntities.set(route, routeEntities);
        }
        const entities = [...buildPrincipalEntities(principal, resolveIssuerName(principal, s.oidcIssuers)), ...routeEntities];
        prepared = s.engine.prepare({ principal: principalUid(principal), action: INVOKE, resource: routeUid(route), entities });
        if (byCaller.size >= PREPARED_PER_ROUTE) byCaller.delete(byCaller.keys().next().value as string);
        byCaller.set(callerKey, prepared);
      }
      return decideWithStepUp(principal, { ...principalContext(principal, facts), method: facts.method }, (context) => prepared.decide(context));
    },
    authorizeAdmin(principal, action, resource, facts) {
      const s = state;
      const entities: EntityJson[] = [
        ...buildPrincipalEntities(principal, resolveIssuerName(principal, s.oidcIssuers)),
        { uid: { type: 'AdminResource', id: resource }, attrs: { kind: resource }, parents: [] },
        // Cedar learns the action group (`deploy in Action::"admin"`) from the entities, not the schema.
        { uid: { type: 'Action', id: action }, attrs: {}, parents: [ADMIN_GROUP] },
        { uid: ADMIN_GROUP, attrs: {}, parents: [] },
      ];
      const request = { principal: principalUid(principal), action: { type: 'Action', id: action }, resource: { type: 'AdminResource', id: resource }, entities };
      return decideWithStepUp(principal, principalContext(principal, facts), (context) => s.engine.decide({ ...request, context }));
    },
    authorizeCall(call) {
      const s = state;
      // A binding call is on the hot path of every service call: entities and slice are built once
      // per caller, target and chain (function names cannot hold `\n`); only the context (principal,
      // time) varies, and the prepared decision memoises exactly what its policies read of it.
      const key = `${call.caller}\n${call.target}\n${call.chain.join('\n')}`;
      let prepared = s.preparedCalls.get(key);
      if (prepared === undefined) {
        const entities: EntityJson[] = [];
        for (const fn of [call.caller, call.target, ...call.chain]) entities.push(...buildFunctionEntities(fn, s.manifest.functions.get(fn)?.segment ?? 'default'));
        prepared = s.engine.prepare({ principal: functionUid(call.caller), action: CALL_FUNCTION, resource: functionUid(call.target), entities: dedupe(entities) });
        if (s.preparedCalls.size >= PREPARED_CALLS) s.preparedCalls.delete(s.preparedCalls.keys().next().value as string);
        s.preparedCalls.set(key, prepared);
      }
      return prepared.decide(callContext(call.chain, call.principal, call.time, s.oidcIssuers));
    },
    authorizeSecretRead(read) {
      const s = state;
      const entities: EntityJson[] = [];
      for (const fn of [read.fn, ...read.chain]) entities.push(...buildFunctionEntities(fn, s.manifest.functions.get(fn)?.segment ?? 'default'));
      // The secret's segment from this node's manifest: what the segment rule's forbid looks at.
      entities.push(...buildSecretEntities(read.secret, secretSegmentOf(s.manifest, read.secret)));
      const context = callContext(read.chain, read.principal, read.time, s.oidcIssuers);
      const request: AuthorizationRequest = { principal: functionUid(read.fn), action: READ_SECRET, resource: secretUid(read.secret), context, entities: dedupe(entities) };
      return Object.freeze({ ...s.engine.decide(request), readsContext: s.engine.readsContext(request) });
    },
    authorizeEgress(facts) {
      const s = state;
      const entities: EntityJson[] = [];
      for (const fn of [facts.fn, ...facts.chain]) entities.push(...buildFunctionEntities(fn, s.manifest.functions.get(fn)?.segment ?? 'default'));
      entities.push(buildHostEntity(facts.host));
      const context = callContext(facts.chain, facts.principal, facts.time, s.oidcIssuers);
      return s.engine.decide({ principal: functionUid(facts.fn), action: EGRESS, resource: hostUid(facts.host), context, entities: dedupe(entities) });
    },
    decide,
    reload(next) {
      // Built completely before the swap: a bad set throws here and `state` is untouched.
      state = buildState(next, options);
    },
  };
}

/**
 * Decides a request; a deny that a second factor, and nothing else, would turn into an allow gets
 * reason `mfa-required` (RFC 9470 step-up), for principals that can add one.
 */
function decideWithStepUp<C extends { readonly mfa: boolean }>(principal: Principal, context: C, decide: (context: C) => PolicyDecision): PolicyDecision {
  const decision = decide(context);
  // Only a person signing in can add a second factor; an API key or a certificate cannot step up.
  if (decision.effect === 'allow' || principal.mfa || !STEP_UP_METHODS.has(principal.authMethod)) return decision;
  // RFC 9470 step-up: would a second factor, and nothing else, turn this deny into an allow?
  const stepped = decide({ ...context, mfa: true });
  return stepped.effect === 'allow' ? Object.freeze({ ...decision, reason: 'mfa-required' as const }) : decision;
}

/** The context a signed-in principal's decision reads (routes and operator actions). */
function principalContext(principal: Principal, facts: { readonly clientIp: string; readonly time: number; readonly risk?: number }) {
  return {
    mfa: principal.mfa,
    authMethod: principal.authMethod,
    authTime: principal.authTime ?? 0,
    ip: ipValue(facts.clientIp),
    time: Math.floor(facts.time / 1000),
    risk: facts.risk ?? 0,
  };
}

/** The context of a call or a secret read: the chain and the principal that started it. */
function callContext(chain: readonly string[], p: CallPrincipal | null, time: number, oidcIssuers: ReadonlyMap<string, string>): Record<string, CedarValueJson> {
  const context: Record<string, CedarValueJson> = { mfa: p?.mfa ?? false, authMethod: p?.authMethod ?? 'workload', time: Math.floor(time / 1000), risk: 0, callerChain: [] };
  for (const fn of chain) (context.callerChain as CedarValueJson[]).push({ __entity: functionUid(fn) });
  if (p !== null) {
    const issuer = p.issuer ?? '';
    context.originalCaller = { type: p.type, subject: p.id, issuer, issuerName: resolveIssuerName({ authMethod: p.authMethod as Principal['authMethod'], issuer }, oidcIssuers), roles: [...new Set(p.roles)], mfa: p.mfa };
  }
  return context;
}

function buildState(manifest: Manifest, options: PolicyEngineOptions): State {
  const loaded: ValidationResult<CompiledPolicySet> = loadPolicySet(manifest);
  if (!loaded.ok || loaded.value === undefined) throw new DiagnosticsError(loaded.errors);
  const oidcIssuers = new Map(manifest.identity.issuers.map((i) => [i.issuer, i.name]));
  return Object.freeze({ engine: createPolicyEngine(loaded.value, options), manifest, oidcIssuers, routeEntities: new WeakMap(), prepared: new WeakMap(), preparedCalls: new Map() });
}

function dedupe(entities: readonly EntityJson[]): EntityJson[] {
  const seen = new Set<string>();
  const out: EntityJson[] = [];
  for (const e of entities) {
    const uid = '__entity' in e.uid ? e.uid.__entity : e.uid;
    const key = `${uid.type}::${uid.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}
