import { effectiveEgressGrants, secretSegmentOf, type FunctionSpec, type Manifest, type RouteSpec, type SegmentSpec } from '../manifest/index.js';
import { routeUid } from './build-entities.js';
import type { PolicyAuthorizer } from './create-policy-authorizer.js';
import { ADMIN_ROLE, canonicalGrantHost } from './generate-policies.js';
import { decidePolicyCase, type CasePrincipal } from './policy-cases.js';
import type { PolicyDecision } from './policy-engine.js';

/** A node of the communication graph. */
export interface GraphNode {
  /** `role:<r>`, `user:<issuer>:<subject>`, `apikey:<id>`, `issuer:<name>`, `public`, `route:<uid>`, `function:<name>`, `host:<host>`, `secret:<name>`. */
  readonly id: string;
  readonly kind: 'principal' | 'route' | 'function' | 'host' | 'secret';
  readonly label: string;
  /** Functions and secrets: the segment they belong to. */
  readonly segment?: string;
}

/** What an edge stands for. */
export type GraphEdgeKind = 'invoke' | 'route' | 'call' | 'egress' | 'secret';

/** An edge the effective policies allow (or, in `refused`, one a grant asks for and they refuse). */
export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: GraphEdgeKind;
  /** The binding name (`call`); the ports and `via segment <name>` (`egress`); or nothing. */
  readonly label?: string;
  /** The determining policies: permits for an edge, forbids for a refused one. */
  readonly policyIds: readonly string[];
  /** `invoke`: allowed only with a second factor. */
  readonly mfa?: true;
  /** `call`: caller and target are in different segments; `secret`: the secret belongs to another segment than the function. */
  readonly crossSegment?: true;
  /** `call`: the principals (reaching the caller through a route) on whose behalf the call is allowed; `public` for a call no principal started. */
  readonly onBehalfOf?: readonly string[];
  /** Refused edges: the decision reason. */
  readonly reason?: string;
}

/** The communication map of one project. */
export interface CommunicationGraph {
  readonly project: string;
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  /** Grants in the manifest that the effective policies refuse (a custom `forbid`, a segment rule). */
  readonly refused: readonly GraphEdge[];
}

interface Candidate {
  readonly id: string;
  readonly label: string;
  readonly principal: CasePrincipal;
}

/**
 * Computes who may reach what, from the effective policies (generated + custom), not just the
 * manifest: every candidate edge is a question to the same authorizer the gateway uses.
 *
 * - principals are those written in any route's `allow` (roles, users, API keys, issuers; the
 *   `admin` role for routes without `allow`), each asked about every private route with a
 *   representative principal (a role: a member of that role signed in with the first enabled
 *   issuer); public routes are reached by `public`;
 * - a service binding is an edge when the call is allowed on behalf of at least one principal that
 *   reaches the caller through a route (or with no end user, when none does);
 * - the hosts a function may reach (its own `egress:` and its segment's) and its `secrets:` are
 *   asked as `egress` / `readSecret`, exactly as the runtime asks them.
 *
 * Output is sorted, so the same policies give the same graph.
 *
 * @example
 * ```ts
 * const graph = buildCommunicationGraph(manifest, createPolicyAuthorizer(manifest), Date.now());
 * ```
 */
export function buildCommunicationGraph(manifest: Manifest, authorizer: PolicyAuthorizer, now: number): CommunicationGraph {
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  const refused: GraphEdge[] = [];
  const addNode = (n: GraphNode) => {
    if (!nodes.has(n.id)) nodes.set(n.id, n);
  };
  for (const fn of manifest.functions.values()) addNode({ id: `function:${fn.name}`, kind: 'function', label: fn.name, segment: fn.segment });

  const candidates = collectCandidates(manifest);
  /** Principal node ids allowed to reach each function through a route. */
  const reachers = new Map<string, Set<string>>();
  const reach = (fn: string, who: string) => {
    const set = reachers.get(fn) ?? new Set<string>();
    set.add(who);
    reachers.set(fn, set);
  };
  for (const route of manifest.routes) {
    const rid = `route:${routeUid(route).id}`;
    addNode({ id: rid, kind: 'route', label: routeUid(route).id });
    edges.push({ from: rid, to: `function:${route.function}`, kind: 'route', policyIds: [] });
    if (route.public) {
      addNode({ id: 'public', kind: 'principal', label: 'anyone (public)' });
      edges.push({ from: 'public', to: rid, kind: 'invoke', policyIds: [] });
      reach(route.function, 'public');
      continue;
    }
    for (const c of candidates) {
      const d = decideInvoke(authorizer, manifest, c, route, now);
      if (d.effect === 'allow' || d.reason === 'mfa-required') {
        const stepped = d.effect === 'allow' ? d : decideInvoke(authorizer, manifest, { ...c, principal: { ...c.principal, mfa: true } }, route, now);
        addNode({ id: c.id, kind: 'principal', label: c.label });
        edges.push({ from: c.id, to: rid, kind: 'invoke', policyIds: stepped.policyIds, ...(d.effect === 'allow' ? {} : { mfa: true as const }) });
        reach(route.function, c.id);
      } else if (namedIn(route, c)) {
        addNode({ id: c.id, kind: 'principal', label: c.label });
        refused.push({ from: c.id, to: rid, kind: 'invoke', policyIds: d.policyIds, reason: d.reason });
      }
    }
  }

  const byId = new Map(candidates.map((c) => [c.id, c.principal]));
  for (const fn of manifest.functions.values()) {
    for (const [name, binding] of Object.entries(fn.bindings)) {
      if (binding.type !== 'service') continue;
      const target = manifest.functions.get(binding.function);
      const cross = target !== undefined && target.segment !== fn.segment ? { crossSegment: true as const } : {};
      const behalf = [...(reachers.get(fn.name) ?? new Set(['public']))].sort();
      const allowedFor: string[] = [];
      let allowIds: readonly string[] = [];
      let lastDeny: PolicyDecision | undefined;
      for (const who of behalf) {
        const original = who === 'public' ? undefined : byId.get(who);
        const d = decidePolicyCase(authorizer, manifest, { principal: fn.name, action: 'callFunction', resource: binding.function, ...(original === undefined ? {} : { context: { originalCaller: original } }) }, now);
        if (!('effect' in d)) continue;
        if (d.effect === 'allow') {
          allowedFor.push(who);
          allowIds = d.policyIds;
        } else lastDeny = d;
      }
      const edge = { from: `function:${fn.name}`, to: `function:${binding.function}`, kind: 'call' as const, label: name, ...cross };
      if (allowedFor.length > 0) edges.push({ ...edge, policyIds: allowIds, onBehalfOf: allowedFor });
      else refused.push({ ...edge, policyIds: lastDeny?.policyIds ?? [], reason: lastDeny?.reason ?? 'no-permit' });
    }
    for (const [host, grant] of egressTargets(fn, manifest.segments.get(fn.segment))) {
      // Asked exactly as the egress guard asks (the canonical host, the function in its segment).
      const d = decideSafely(() => authorizer.authorizeEgress({ fn: fn.name, host, chain: [], principal: null, time: now }));
      addNode({ id: `host:${host}`, kind: 'host', label: host });
      const label = [grant.ports.length === 1 && grant.ports[0] === 'default' ? '' : `ports ${grant.ports.join(',')}`, grant.viaSegment ? `via segment ${fn.segment}` : ''].filter((x) => x !== '').join(' · ');
      (d.effect === 'allow' ? edges : refused).push({ from: `function:${fn.name}`, to: `host:${host}`, kind: 'egress', ...(label === '' ? {} : { label }), policyIds: d.policyIds, ...(d.effect === 'allow' ? {} : { reason: d.reason }) });
    }
    for (const secret of [...new Set(fn.secrets ?? [])].sort()) {
      // Asked exactly as the runtime asks at read time (the secret in its segment).
      const d = decideSafely(() => authorizer.authorizeSecretRead({ fn: fn.name, secret, chain: [], principal: null, time: now }));
      const segment = secretSegmentOf(manifest, secret);
      addNode({ id: `secret:${secret}`, kind: 'secret', label: secret, segment });
      const cross = segment !== fn.segment ? { crossSegment: true as const } : {};
      (d.effect === 'allow' ? edges : refused).push({ from: `function:${fn.name}`, to: `secret:${secret}`, kind: 'secret', policyIds: d.policyIds, ...cross, ...(d.effect === 'allow' ? {} : { reason: d.reason }) });
    }
  }
  const order = (a: GraphEdge, b: GraphEdge) => cmp(a.from, b.from) || cmp(a.to, b.to) || cmp(a.kind, b.kind) || cmp(a.label ?? '', b.label ?? '');
  return {
    project: manifest.name,
    nodes: [...nodes.values()].sort((a, b) => cmp(a.id, b.id)),
    edges: edges.map(sortIds).sort(order),
    refused: refused.map(sortIds).sort(order),
  };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sortIds = (e: GraphEdge): GraphEdge => ({ ...e, policyIds: [...e.policyIds].sort() });

function decideInvoke(authorizer: PolicyAuthorizer, manifest: Manifest, c: Candidate, route: RouteSpec, now: number): PolicyDecision {
  const d = decidePolicyCase(authorizer, manifest, { principal: c.principal, action: 'invoke', resource: routeUid(route).id }, now);
  return 'effect' in d ? d : { effect: 'deny', reason: 'engine-error', policyIds: [], errors: [d.problem] };
}

/** Whether the route's own `allow` names this candidate (so a refusal is worth showing). */
function namedIn(route: RouteSpec, c: Candidate): boolean {
  const a = route.allow;
  if (a === undefined) return c.id === `role:${ADMIN_ROLE}`;
  return (a.roles ?? []).some((r) => c.id === `role:${r}`) || (a.users ?? []).some((u) => c.id === `user:${u}`) || (a.apiKeys ?? []).some((k) => c.id === `apikey:${k.replace(/^apikey:/, '')}`) || (a.issuers ?? []).some((i) => c.id === `issuer:${i}`);
}

/** The principals written in the manifest's `allow` lists, each as a representative principal. */
function collectCandidates(manifest: Manifest): Candidate[] {
  const out = new Map<string, Candidate>();
  const issuer = manifest.identity.builtin.enabled ? 'builtin' : (manifest.identity.issuers[0]?.name ?? (manifest.identity.apiKeys.enabled ? 'api-key' : 'mtls'));
  const role = (r: string) => out.set(`role:${r}`, { id: `role:${r}`, label: `role ${r}`, principal: { issuer, id: `member-of-${r}`, roles: [r] } });
  for (const route of manifest.routes) {
    if (route.public) continue;
    const a = route.allow;
    if (a === undefined) {
      role(ADMIN_ROLE);
      continue;
    }
    for (const r of a.roles ?? []) role(r);
    for (const u of a.users ?? []) {
      const colon = u.indexOf(':');
      out.set(`user:${u}`, { id: `user:${u}`, label: `user ${u}`, principal: { issuer: u.slice(0, colon), id: u.slice(colon + 1), roles: [] } });
    }
    for (const k of a.apiKeys ?? []) {
      const key = k.replace(/^apikey:/, '');
      out.set(`apikey:${key}`, { id: `apikey:${key}`, label: `api key ${key}`, principal: { issuer: 'api-key', id: key, roles: [] } });
    }
    for (const i of a.issuers ?? []) out.set(`issuer:${i}`, { id: `issuer:${i}`, label: `issuer ${i}`, principal: { issuer: i, id: `anyone-from-${i}`, roles: [] } });
  }
  return [...out.values()].sort((a, b) => cmp(a.id, b.id));
}

/**
 * The hosts a function may reach (its own grants and its segment's), by canonical host: the ports
 * granted (`default`: the scheme's default port) and whether only the segment grants it.
 */
function egressTargets(fn: FunctionSpec, segment: SegmentSpec | undefined): Map<string, { ports: Array<number | 'default'>; viaSegment: boolean }> {
  const out = new Map<string, { ports: Array<number | 'default'>; viaSegment: boolean }>();
  const own = new Set((fn.egress ?? []).map((g) => g.host));
  for (const grant of effectiveEgressGrants(fn, segment)) {
    const host = canonicalGrantHost(grant.host);
    const entry = out.get(host) ?? { ports: [], viaSegment: true };
    // A grant without `ports` allows the scheme's default port.
    for (const p of grant.ports ?? ['default' as const]) if (!entry.ports.includes(p)) entry.ports.push(p);
    if (own.has(grant.host)) entry.viaSegment = false;
    out.set(host, entry);
  }
  for (const e of out.values()) e.ports.sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : a - b));
  return new Map([...out.entries()].sort(([a], [b]) => cmp(a, b)));
}

/** A decision; an engine error is a deny (as at run time). */
function decideSafely(decide: () => PolicyDecision): PolicyDecision {
  try {
    return decide();
  } catch (error) {
    return { effect: 'deny', reason: 'engine-error', policyIds: [], errors: [error instanceof Error ? error.message : 'unknown'] };
  }
}
