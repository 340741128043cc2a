import { isAuthorized, preparsePolicySet, schemaToJson, statefulIsAuthorized, type AuthorizationAnswer, type Context, type EntityJson, type EntityUidJson, type PolicyJson, type TypeAndId } from './cedar.js';
import type { CompiledPolicy, CompiledPolicySet } from './compile-policy-set.js';
import { palisadeSchemaText } from './palisade-schema.js';
import { describe } from './parse-policy-file.js';

/** One authorization question, as Cedar takes it: uids, context and entities, all JSON data. */
export interface AuthorizationRequest {
  readonly principal: TypeAndId;
  readonly action: TypeAndId;
  readonly resource: TypeAndId;
  readonly context: Context;
  readonly entities: readonly EntityJson[];
}

/**
 * Why a decision came out as it did (closed vocabulary):
 * `permit` (a permit applied, no forbid), `forbid` (a forbid applied), `no-permit` (default
 * deny), `mfa-required` (denied now, allowed with a second factor), `engine-error` (Cedar refused
 * the request itself; denied).
 */
export const policyDecisionReasons = ['permit', 'forbid', 'no-permit', 'mfa-required', 'engine-error'] as const;

/** One decision reason. */
export type PolicyDecisionReason = (typeof policyDecisionReasons)[number];

/** A decision: effect, reason, the determining policy ids and the policies that failed to evaluate. */
export interface PolicyDecision {
  readonly effect: 'allow' | 'deny';
  readonly reason: PolicyDecisionReason;
  /** Cedar's determining policies: the permits that allowed, or the forbids that denied. */
  readonly policyIds: readonly string[];
  /** `<policy id>: <message>` for each policy whose evaluation raised an error (it did not apply). */
  readonly errors: readonly string[];
}

/** Options of {@link createPolicyEngine}. */
export interface PolicyEngineOptions {
  /** Most memoised decisions kept (default 10,000; 0 turns the memo off). */
  readonly memoSize?: number;
  /** Most pre-parsed slices kept (default 1,024). */
  readonly sliceCacheSize?: number;
}

/** Decides requests over one compiled policy set. */
export interface PolicyEngine {
  readonly set: CompiledPolicySet;
  /** Decides one request: pure in the request and the set (the memo never changes an answer). */
  decide(request: AuthorizationRequest): PolicyDecision;
  /** The policies of the slice a request falls into (the only ones that can apply to it). */
  slice(request: AuthorizationRequest): readonly CompiledPolicy[];
  /**
   * Whether any policy that can apply to the request reads its context: when none does, the
   * answer depends only on the uids and entities (and the set), never on the request's moment.
   */
  readsContext(request: AuthorizationRequest): boolean;
}

type Scope = PolicyJson['principal'];

interface IndexedPolicy {
  readonly policy: CompiledPolicy;
  readonly index: number;
  /** Context attributes the policy reads; `all` when it reads the context as a whole. */
  readonly contextReads: ReadonlySet<string> | 'all';
}

interface Slice {
  readonly key: string;
  readonly members: readonly IndexedPolicy[];
  readonly contextReads: readonly string[] | 'all';
  /** Slot of the pre-parsed set in Cedar's cache, with the token that proves it is still ours. */
  slot?: { readonly id: string; readonly token: object };
}

/**
 * Builds the decision engine over a compiled set. A decision evaluates only the policies whose
 * scope can match the request ("policy slicing": indexed by resource, then filtered by principal
 * and action scope), with a pre-parsed Cedar policy set per slice, and memoises decisions on
 * exactly the inputs the slice's policies can read: the uids, the entities, and the context
 * attributes those policies mention.
 *
 * INVARIANT: slicing and the memo never change an answer. A policy outside the slice has a scope
 * that does not match, so Cedar would neither apply it nor evaluate its conditions (no errors);
 * a differential test checks this against a direct `isAuthorized` over the whole set.
 *
 * @example
 * ```ts
 * const engine = createPolicyEngine(compiled);
 * engine.decide({ principal, action: { type: 'Action', id: 'invoke' }, resource, context, entities });
 * ```
 */
export function createPolicyEngine(set: CompiledPolicySet, options: PolicyEngineOptions = {}): PolicyEngine {
  const memoSize = options.memoSize ?? 10_000;
  const sliceCacheSize = options.sliceCacheSize ?? 1024;
  const indexed = set.policies.map<IndexedPolicy>((policy, index) => ({ policy, index, contextReads: contextReadsOf(policy.json) }));
  const byResourceEq = new Map<string, IndexedPolicy[]>();
  const byResourceIn = new Map<string, IndexedPolicy[]>();
  const byResourceType = new Map<string, IndexedPolicy[]>();
  const anyResource: IndexedPolicy[] = [];
  const push = (map: Map<string, IndexedPolicy[]>, key: string, p: IndexedPolicy) => {
    const list = map.get(key);
    if (list === undefined) map.set(key, [p]);
    else list.push(p);
  };
  for (const p of indexed) {
    const r = p.policy.json.resource;
    if (r.op === '==' && 'entity' in r) push(byResourceEq, uidKey(r.entity), p);
    else if (r.op === 'in' && 'entity' in r) push(byResourceIn, uidKey(r.entity), p);
    else if (r.op === 'is') push(byResourceType, r.entity_type, p);
    else anyResource.push(p);
  }
  const slices = new Map<string, Slice>();
  const memo = new Map<string, PolicyDecision>();

  const sliceOf = (request: AuthorizationRequest): Slice => {
    const parents = parentMap(request.entities);
    const principalAnc = ancestors(request.principal, parents);
    const resourceAnc = ancestors(request.resource, parents);
    const actionKey = uidKey(request.action);
    const actionAnc = actionAncestors(request.action);
    const candidates = new Set<IndexedPolicy>();
    for (const p of byResourceEq.get(uidKey(request.resource)) ?? []) candidates.add(p);
    for (const a of resourceAnc) for (const p of byResourceIn.get(a) ?? []) candidates.add(p);
    for (const p of byResourceType.get(request.resource.type) ?? []) candidates.add(p);
    for (const p of anyResource) candidates.add(p);
    const order: number[] = [];
    for (const p of candidates) {
      const j = p.policy.json;
      if (scopeMatches(j.principal, request.principal, principalAnc) && scopeMatches(j.resource, request.resource, resourceAnc) && actionMatches(j.action, actionKey, actionAnc)) order.push(p.index);
    }
    // A typed-array sort takes no callback (see the note on V8 at `toDecision`).
    const sorted = Uint32Array.from(order).sort();
    const members: IndexedPolicy[] = [];
    for (const i of sorted) members.push(indexed[i] as IndexedPolicy);
    const key = sorted.join(',');
    const cached = slices.get(key);
    if (cached !== undefined) return cached;
    let reads: Set<string> | 'all' = new Set<string>();
    for (const m of members) {
      if (m.contextReads === 'all') {
        reads = 'all';
        break;
      }
      for (const a of m.contextReads) reads.add(a);
    }
    const slice: Slice = { key, members, contextReads: reads === 'all' ? 'all' : [...reads].sort() };
    if (slices.size >= sliceCacheSize) slices.delete(slices.keys().next().value as string);
    slices.set(key, slice);
    return slice;
  };

  const evaluate = (slice: Slice, request: AuthorizationRequest): PolicyDecision => {
    // No policy in scope: Cedar's answer is a deny with no determining policy and no error.
    if (slice.members.length === 0) return NO_PERMIT;
    if (slice.slot === undefined || slotOwners.get(slice.slot.id) !== slice.slot.token) {
      const staticPolicies: Record<string, string | PolicyJson> = {};
      for (const m of slice.members) staticPolicies[m.policy.id] = m.policy.policy;
      const id = `palisade-slice-${nextSlot++ % SLICE_SLOTS}`;
      const parsed = preparsePolicySet(id, { staticPolicies });
      if (parsed.type === 'failure') return toDecision({ type: 'failure', errors: parsed.errors, warnings: [] });
      const token = {};
      slotOwners.set(id, token);
      slice.slot = { id, token };
    }
    const answer = statefulIsAuthorized({ principal: request.principal, action: request.action, resource: request.resource, context: request.context, entities: request.entities as EntityJson[], preparsedPolicySetId: slice.slot.id });
    return toDecision(answer);
  };

  return Object.freeze({
    set,
    slice: (request: AuthorizationRequest) => sliceOf(request).members.map((m) => m.policy),
    readsContext: (request: AuthorizationRequest) => {
      const reads = sliceOf(request).contextReads;
      return reads === 'all' || reads.length > 0;
    },
    decide(request: AuthorizationRequest): PolicyDecision {
      const slice = sliceOf(request);
      if (memoSize === 0) return evaluate(slice, request);
      const key = memoKey(slice, request);
      const hit = memo.get(key);
      if (hit !== undefined) return hit;
      const decision = evaluate(slice, request);
      if (memo.size >= memoSize) memo.delete(memo.keys().next().value as string);
      memo.set(key, decision);
      return decision;
    },
  });
}

/**
 * Decides a request over a whole policy set with Cedar directly: no slicing, no memo. The
 * reference the engine is tested against, and the slow path of tools.
 */
export function decideDirect(set: CompiledPolicySet, request: AuthorizationRequest): PolicyDecision {
  const staticPolicies: Record<string, string | PolicyJson> = {};
  for (const p of set.policies) staticPolicies[p.id] = p.policy;
  return toDecision(isAuthorized({ principal: request.principal, action: request.action, resource: request.resource, context: request.context, entities: request.entities as EntityJson[], policies: { staticPolicies } }));
}

/**
 * Maps Cedar's answer to a decision (determining ids and errors sorted, so equal answers compare
 * equal).
 *
 * INVARIANT: no array callbacks (`map`, `filter`, …) here or in the rest of the decision path.
 * On Node 20 (V8 11.3) an optimised caller of cedar-wasm that had inlined `Array.prototype.map`
 * was lazily deoptimised when the WASM glue changed object maps, and V8 aborted the process
 * ("unreachable code" in `Deoptimizer::DoComputeBuiltinContinuation`); the policy bench
 * reproduced it on every run until these became plain loops.
 */
export function toDecision(answer: AuthorizationAnswer): PolicyDecision {
  if (answer.type === 'failure') {
    const messages: string[] = [];
    for (const e of answer.errors) messages.push(describe(e));
    return Object.freeze({ effect: 'deny', reason: 'engine-error', policyIds: Object.freeze([]), errors: Object.freeze(messages) });
  }
  const { decision, diagnostics } = answer.response;
  const ids: string[] = [];
  for (const id of diagnostics.reason) ids.push(String(id));
  ids.sort();
  const messages: string[] = [];
  for (const e of diagnostics.errors) messages.push(`${e.policyId}: ${describe(e.error)}`);
  messages.sort();
  const effect = decision === 'allow' ? 'allow' : 'deny';
  const reason: PolicyDecisionReason = effect === 'allow' ? 'permit' : ids.length > 0 ? 'forbid' : 'no-permit';
  return Object.freeze({ effect, reason, policyIds: Object.freeze(ids), errors: Object.freeze(messages) });
}

const NO_PERMIT: PolicyDecision = Object.freeze({ effect: 'deny', reason: 'no-permit', policyIds: Object.freeze([]), errors: Object.freeze([]) });

/** Pre-parsed slices live in Cedar's thread-local cache under a bounded ring of ids. */
const SLICE_SLOTS = 4096;
let nextSlot = 0;
const slotOwners = new Map<string, object>();

function memoKey(slice: Slice, request: AuthorizationRequest): string {
  let context: unknown;
  if (slice.contextReads === 'all') context = request.context;
  else {
    const picked: unknown[] = [];
    for (const a of slice.contextReads) picked.push(Object.hasOwn(request.context, a) ? [a, request.context[a]] : [a]);
    context = picked;
  }
  return `${slice.key}\n${JSON.stringify([request.principal, request.action, request.resource, request.entities, context])}`;
}

function normalise(uid: EntityUidJson): TypeAndId {
  return '__entity' in uid ? uid.__entity : uid;
}

function uidKey(uid: EntityUidJson): string {
  const u = normalise(uid);
  return `${u.type}::${JSON.stringify(u.id)}`;
}

function parentMap(entities: readonly EntityJson[]): Map<string, readonly EntityUidJson[]> {
  const map = new Map<string, readonly EntityUidJson[]>();
  for (const e of entities) map.set(uidKey(e.uid), e.parents);
  return map;
}

/** The uid and all its ancestors (Cedar's `in` is reflexive and transitive). */
function ancestors(uid: TypeAndId, parents: ReadonlyMap<string, readonly EntityUidJson[]>): Set<string> {
  const out = new Set<string>([uidKey(uid)]);
  const queue = [uidKey(uid)];
  while (queue.length > 0) {
    const key = queue.pop() as string;
    for (const p of parents.get(key) ?? []) {
      const pk = uidKey(p);
      if (!out.has(pk)) {
        out.add(pk);
        queue.push(pk);
      }
    }
  }
  return out;
}

function scopeMatches(scope: Scope, uid: TypeAndId, anc: ReadonlySet<string>): boolean {
  switch (scope.op) {
    case 'All':
      return true;
    case '==':
      return 'entity' in scope ? uidKey(scope.entity) === uidKey(uid) : true;
    case 'in':
      return 'entity' in scope ? anc.has(uidKey(scope.entity)) : true;
    case 'is': {
      if (scope.entity_type !== uid.type) return false;
      const inner = scope.in;
      return inner === undefined || !('entity' in inner) || anc.has(uidKey(inner.entity));
    }
    default:
      return true;
  }
}

function actionMatches(scope: PolicyJson['action'], key: string, anc: ReadonlySet<string>): boolean {
  switch (scope.op) {
    case 'All':
      return true;
    case '==':
      return 'entity' in scope ? uidKey(scope.entity) === key : true;
    case 'in':
      if ('entity' in scope) return anc.has(uidKey(scope.entity));
      return scope.entities.some((e) => anc.has(uidKey(e)));
    default:
      return true;
  }
}

let actionParents: Map<string, readonly EntityUidJson[]> | undefined;

/** The action and its groups, from the schema (`deploy` is `in Action::"admin"`). */
function actionAncestors(action: TypeAndId): Set<string> {
  if (actionParents === undefined) {
    actionParents = new Map();
    const json = schemaToJson(palisadeSchemaText);
    if (json.type === 'success') {
      for (const [ns, def] of Object.entries(json.json)) {
        const prefix = ns === '' ? '' : `${ns}::`;
        for (const [name, a] of Object.entries(def.actions)) {
          actionParents.set(uidKey({ type: `${prefix}Action`, id: name }), (a.memberOf ?? []).map((m) => ({ type: m.type ?? `${prefix}Action`, id: m.id })));
        }
      }
    }
  }
  return ancestors(action, actionParents);
}

/** Which context attributes a policy reads: `context.x` and `context has x`; anything else reads all. */
function contextReadsOf(json: PolicyJson): ReadonlySet<string> | 'all' {
  const reads = new Set<string>();
  let all = false;
  const walk = (node: unknown): void => {
    if (all || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const n of node) walk(n);
      return;
    }
    const obj = node as Record<string, unknown>;
    for (const op of ['.', 'has'] as const) {
      const inner = obj[op] as { left?: unknown; attr?: unknown } | undefined;
      if (inner !== undefined && isContextVar(inner.left)) {
        const a = Array.isArray(inner.attr) ? inner.attr[0] : inner.attr;
        if (typeof a === 'string') reads.add(a);
        else all = true;
        return;
      }
    }
    if (isContextVar(obj)) {
      all = true;
      return;
    }
    for (const v of Object.values(obj)) walk(v);
  };
  walk(json.conditions);
  return all ? 'all' : reads;
}

function isContextVar(node: unknown): boolean {
  return node !== null && typeof node === 'object' && (node as { Var?: unknown }).Var === 'context';
}
