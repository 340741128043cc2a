import { relative } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import type { AuditEvent } from '../kernel/index.js';
import type { EgressGrantSpec, Manifest } from '../manifest/index.js';
import { suggestRemoval } from './access-report-diff.js';
import type { AccessReport, BindingGrantUse, EgressGrantCovers, EgressGrantUse, GrantUse, KnownPrincipal, RouteGrantUse, SecretGrantUse, SegmentEgressGrantUse } from './access-report-types.js';
import { resolveIssuerName, routeUid } from './build-entities.js';
import { ADMIN_ROLE, canonicalGrantHost } from './generate-policies.js';

/**
 * Builds the access report from the audit events of one window (events outside it are ignored).
 * A grant is used when an allowed decision in the window went through it:
 * - a route `allow` entry: an allowed request decided by its generated policy for a principal it
 *   names (for `allow.roles`: a principal holding the role now, per the user and key stores);
 * - a service binding: an allowed `callFunction` from its function to its target;
 * - a secret: a `readSecret` of it by its function, allowed, or failed in the vault after the
 *   policy allowed it (`error` with policy ids);
 * - an egress grant: an `egress` attempt of its function to a host and port the grant covers,
 *   allowed, or failed on the network after the policy allowed it (`error` with policy ids).
 * Denied events use no grant. Pure: the caller loads the events, users and keys.
 *
 * @example
 * ```ts
 * const report = buildAccessReport({ manifest, manifestText, events, principals, since, until, egressGrantCovers });
 * report.unusedGrants.length; // 0 when every grant was used
 * ```
 */
export function buildAccessReport(input: {
  readonly manifest: Manifest;
  readonly manifestText: string;
  readonly events: readonly AuditEvent[];
  readonly principals: readonly KnownPrincipal[];
  readonly since: number;
  readonly until: number;
  readonly egressGrantCovers: EgressGrantCovers;
}): AccessReport {
  const { manifest } = input;
  const file = relative(manifest.projectDir, manifest.file) || manifest.file;
  const doc = parseDocument(input.manifestText, { keepSourceTokens: false });
  const events = input.events.filter((e) => e.time >= input.since && e.time < input.until);
  const routeGrants = new Map<string, { g: Omit<RouteGrantUse, 'lastUsed' | 'assumed'>; lastUsed: number | null; assumed: boolean }>();
  const byPolicy = new Map<string, string[]>();
  for (const route of manifest.routes) {
    if (route.public) continue;
    const uid = routeUid(route).id;
    const origin = `${file}:${route.allow?.line ?? route.line ?? 0}`;
    const add = (list: RouteGrantUse['list'], value: string) => {
      const policyId = `route:${uid}#${list === 'admin-only' ? 'admin-only' : `allow.${list}`}`;
      const key = `${policyId}/${value}`;
      routeGrants.set(key, { g: { kind: 'route', policyId, route: uid, list, value, origin }, lastUsed: null, assumed: false });
      byPolicy.set(policyId, [...(byPolicy.get(policyId) ?? []), key]);
    };
    if (route.allow === undefined) add('admin-only', ADMIN_ROLE);
    else for (const list of ['roles', 'users', 'apiKeys', 'issuers'] as const) for (const v of route.allow[list] ?? []) add(list, v);
  }
  const fnGrants = functionGrants(manifest, doc, input.manifestText, file);
  const fnLastUsed = new Map<number, number>();
  const use = (i: number, time: number) => fnLastUsed.set(i, Math.max(fnLastUsed.get(i) ?? 0, time));

  const oidc = new Map(manifest.identity.issuers.map((i) => [i.issuer, i.name]));
  const known = new Map(input.principals.map((p) => [p.principalId, p]));
  const lastSeen = new Map<string, number>();
  const lastInvoked = new Map<string, number>();
  const invoked = (fn: string, time: number) => lastInvoked.set(fn, Math.max(lastInvoked.get(fn) ?? 0, time));
  for (const e of events) {
    if (e.principal !== undefined) lastSeen.set(e.principal.id, Math.max(lastSeen.get(e.principal.id) ?? 0, e.time));
    // Denied decisions use no grant; an allowed request that failed later still used its grant.
    if (e.outcome === 'deny') continue;
    if (e.action === 'callFunction' || e.action === 'readSecret' || e.action === 'egress') {
      if (e.function === undefined) continue;
      if (e.action === 'callFunction') {
        if (e.outcome !== 'allow' || e.target === undefined) continue;
        invoked(e.target, e.time);
        // The event names the target, not the binding: every binding of the caller to that target was usable.
        fnGrants.forEach((g, i) => g.kind === 'binding' && g.function === e.function && g.target === e.target && use(i, e.time));
        continue;
      }
      // `error` with policy ids: the grant check and the policy let it through, then the vault or the network failed.
      if (e.outcome !== 'allow' && !(e.outcome === 'error' && (e.policyIds?.length ?? 0) > 0)) continue;
      if (e.action === 'readSecret') {
        if (e.secret === undefined) continue;
        fnGrants.forEach((g, i) => g.kind === 'secret' && g.function === e.function && g.secret === e.secret?.name && use(i, e.time));
      } else {
        const host = e.egress?.host;
        const port = e.egress?.port;
        if (host === undefined || port === undefined) continue;
        const segment = manifest.functions.get(e.function)?.segment;
        fnGrants.forEach((g, i) => ((g.kind === 'egress' && g.function === e.function) || (g.kind === 'segment-egress' && g.segment === segment)) && input.egressGrantCovers(g.spec, host, port) && use(i, e.time));
      }
      continue;
    }
    if (e.function !== undefined && e.action === 'invoke') invoked(e.function, e.time);
    if (e.principal === undefined) continue;
    const p = e.principal;
    const issuerName = resolveIssuerName({ authMethod: p.authMethod, issuer: p.issuer }, oidc);
    const who = known.get(p.id);
    for (const policyId of e.policyIds ?? []) {
      for (const key of byPolicy.get(policyId) ?? []) {
        const entry = routeGrants.get(key);
        if (entry === undefined) continue;
        const { list, value } = entry.g;
        let used = false;
        let assumed = false;
        if (list === 'roles' || list === 'admin-only') {
          if (who === undefined) used = assumed = true;
          else used = who.roles.includes(value);
        } else if (list === 'users') used = value === `${issuerName}:${p.id}`;
        else if (list === 'apiKeys') used = p.id === `apikey:${value.replace(/^apikey:/, '')}`;
        else used = value === issuerName;
        if (!used) continue;
        entry.lastUsed = Math.max(entry.lastUsed ?? 0, e.time);
        if (assumed) entry.assumed = true;
      }
    }
  }
  const routes: GrantUse[] = [...routeGrants.values()]
    .map((x) => ({ ...x.g, lastUsed: x.lastUsed, ...(x.assumed ? { assumed: true as const } : {}) }))
    .sort((a, b) => cmp(a.route, b.route) || cmp(a.list, b.list) || cmp(a.value, b.value));
  const functions = fnGrants.map((g, i): GrantUse => {
    const lastUsed = fnLastUsed.get(i) ?? null;
    if (g.kind !== 'egress' && g.kind !== 'segment-egress') return { ...g, lastUsed };
    const { spec: _spec, ...rest } = g;
    return { ...rest, lastUsed };
  });
  const all = [...routes, ...functions];
  const unused = all.filter((g) => g.lastUsed === null);
  const { diff, notes } = suggestRemoval(input.manifestText, doc, file, manifest, unused);
  return {
    project: manifest.name,
    since: input.since,
    until: input.until,
    events: events.length,
    grants: all,
    unusedGrants: unused,
    principals: [...input.principals].map((p) => ({ ...p, lastSeen: lastSeen.get(p.principalId) ?? null })).sort((a, b) => cmp(a.kind, b.kind) || cmp(a.name, b.name) || cmp(a.principalId, b.principalId)),
    functions: [...manifest.functions.keys()].sort().map((name) => ({ name, lastInvoked: lastInvoked.get(name) ?? null })),
    suggestedDiff: diff,
    notes,
  };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

type Unscored<T> = T extends GrantUse ? Omit<T, 'lastUsed'> : never;
/** A function grant before the events are read; an egress grant keeps its spec for matching. */
type FunctionGrant = Unscored<BindingGrantUse | SecretGrantUse> | (Unscored<EgressGrantUse | SegmentEgressGrantUse> & { readonly spec: EgressGrantSpec });

/** Each function's grants in a stable order (functions and bindings by name, secrets and egress as written), with the line of each. */
function functionGrants(manifest: Manifest, doc: Document, text: string, file: string): FunctionGrant[] {
  const out: FunctionGrant[] = [];
  for (const fn of [...manifest.functions.values()].sort((a, b) => cmp(a.name, b.name))) {
    const node = doc.getIn(['functions', fn.name], true) as Node | undefined;
    // The line of the entry: a map entry's key, a list item's start; else the function's line.
    const at = (path: readonly [string, string | number], fallback?: number): string => {
      const coll = isMap(node) ? (node.get(path[0], true) as Node | undefined) : undefined;
      const n = isMap(coll) ? (coll.items.find((p) => isScalar(p.key) && p.key.value === path[1])?.key as Node | undefined) : isSeq(coll) ? (coll.items[path[1] as number] as Node | undefined) : undefined;
      const line = n?.range == null ? (fallback ?? fn.line) : lineOf(text, n.range[0]);
      return line === undefined ? file : `${file}:${line}`;
    };
    for (const [binding, spec] of Object.entries(fn.bindings).sort(([a], [b]) => cmp(a, b))) {
      if (spec.type === 'service') out.push({ kind: 'binding', policyId: `function:${fn.name}#binding.${binding}`, function: fn.name, binding, target: spec.function, origin: at(['bindings', binding]) });
    }
    (fn.secrets ?? []).forEach((secret, i) => out.push({ kind: 'secret', policyId: `function:${fn.name}#secret.${secret}`, function: fn.name, secret, origin: at(['secrets', i], fn.secretLines?.[secret]) }));
    (fn.egress ?? []).forEach((spec, index) =>
      out.push({ kind: 'egress', policyId: `function:${fn.name}#egress.${canonicalGrantHost(spec.host)}`, function: fn.name, index, host: spec.host, ...(spec.ports === undefined ? {} : { ports: spec.ports }), origin: at(['egress', index]), spec }),
    );
  }
  for (const seg of [...manifest.segments.values()].sort((a, b) => cmp(a.name, b.name))) {
    const list = doc.getIn(['segments', seg.name, 'egress'], true) as Node | undefined;
    (seg.egress ?? []).forEach((spec, index) => {
      const item = isSeq(list) ? (list.items[index] as Node | undefined) : undefined;
      const line = item?.range == null ? seg.line : lineOf(text, item.range[0]);
      out.push({ kind: 'segment-egress', policyId: `segment:${seg.name}#egress.${canonicalGrantHost(spec.host)}`, segment: seg.name, index, host: spec.host, ...(spec.ports === undefined ? {} : { ports: spec.ports }), origin: line === undefined ? file : `${file}:${line}`, spec });
    });
  }
  return out;
}

/** The 1-based line of a character offset. */
function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
