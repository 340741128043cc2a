import { relative } from 'node:path';
import { isMap, isPair, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import type { AuditEvent } from '../kernel/index.js';
import type { Manifest } from '../manifest/index.js';
import { resolveIssuerName, routeUid } from './build-entities.js';
import { ADMIN_ROLE } from './generate-policies.js';

/** A principal as the stores list it (built-in user or API key), with its roles now. */
export interface KnownPrincipal {
  /** The principal id on audit events: a user's id, `apikey:<id>` for a key. */
  readonly principalId: string;
  readonly kind: 'user' | 'apiKey';
  readonly name: string;
  readonly roles: readonly string[];
  /** Disabled user or revoked key: listed, never counted as unused access. */
  readonly inactive: boolean;
}

/** One entry of a route's `allow` (or the implicit admin grant), and when it was last used. */
export interface GrantUse {
  /** The generated policy it belongs to, such as `route:GET /orders#allow.roles`. */
  readonly policyId: string;
  readonly route: string;
  /** `roles`, `users`, `apiKeys`, `issuers`, or `admin-only`. */
  readonly list: 'roles' | 'users' | 'apiKeys' | 'issuers' | 'admin-only';
  readonly value: string;
  /** `palisade.yaml:14`. */
  readonly origin: string;
  /** Last use in the window (ms since the epoch); null: never. */
  readonly lastUsed: number | null;
  /** Used by a principal whose roles the stores do not know (an OIDC user): every role of the list counts as used. */
  readonly assumed?: true;
}

/** The access report: what the audit trail says about the grants over one window. */
export interface AccessReport {
  readonly project: string;
  readonly since: number;
  readonly until: number;
  readonly events: number;
  readonly grants: readonly GrantUse[];
  readonly unusedGrants: readonly GrantUse[];
  readonly principals: ReadonlyArray<KnownPrincipal & { readonly lastSeen: number | null }>;
  readonly functions: ReadonlyArray<{ readonly name: string; readonly lastInvoked: number | null }>;
  /** Service bindings: binding calls are not audit events, so their use is unknown. */
  readonly bindings: ReadonlyArray<{ readonly caller: string; readonly binding: string; readonly target: string; readonly usage: 'not-audited' }>;
  /** A unified diff of the manifest removing the unused grants; empty when there are none. */
  readonly suggestedDiff: string;
  /** Unused grants the diff cannot remove (the last entry of a route's `allow`), with why. */
  readonly notes: readonly string[];
}

/**
 * Builds the access report from audit events of one window: every `allow` entry of every
 * private route is used when an allowed request was decided by its generated policy for a
 * principal it names (for `allow.roles`: a principal holding the role now, per the user and key
 * stores). Pure: the caller loads the events, users and keys.
 *
 * @example
 * ```ts
 * const report = buildAccessReport({ manifest, manifestText, events, principals, since, until });
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
}): AccessReport {
  const { manifest } = input;
  const file = relative(manifest.projectDir, manifest.file) || manifest.file;
  const oidc = new Map(manifest.identity.issuers.map((i) => [i.issuer, i.name]));
  const known = new Map(input.principals.map((p) => [p.principalId, p]));
  const grants = new Map<string, { g: Omit<GrantUse, 'lastUsed' | 'assumed'>; lastUsed: number | null; assumed: boolean }>();
  const byPolicy = new Map<string, string[]>();
  for (const route of manifest.routes) {
    if (route.public) continue;
    const uid = routeUid(route).id;
    const origin = `${file}:${route.allow?.line ?? route.line ?? 0}`;
    const add = (list: GrantUse['list'], value: string) => {
      const policyId = `route:${uid}#${list === 'admin-only' ? 'admin-only' : `allow.${list}`}`;
      const key = `${policyId}/${value}`;
      grants.set(key, { g: { policyId, route: uid, list, value, origin }, lastUsed: null, assumed: false });
      byPolicy.set(policyId, [...(byPolicy.get(policyId) ?? []), key]);
    };
    if (route.allow === undefined) add('admin-only', ADMIN_ROLE);
    else for (const list of ['roles', 'users', 'apiKeys', 'issuers'] as const) for (const v of route.allow[list] ?? []) add(list, v);
  }

  const lastSeen = new Map<string, number>();
  const lastInvoked = new Map<string, number>();
  for (const e of input.events) {
    if (e.principal !== undefined) lastSeen.set(e.principal.id, Math.max(lastSeen.get(e.principal.id) ?? 0, e.time));
    // Denied requests use no grant; an allowed one that failed later still used its grant.
    if (e.outcome === 'deny') continue;
    if (e.function !== undefined && e.action === 'invoke') lastInvoked.set(e.function, Math.max(lastInvoked.get(e.function) ?? 0, e.time));
    if (e.principal === undefined) continue;
    const p = e.principal;
    const issuerName = resolveIssuerName({ authMethod: p.authMethod, issuer: p.issuer }, oidc);
    const who = known.get(p.id);
    for (const policyId of e.policyIds ?? []) {
      for (const key of byPolicy.get(policyId) ?? []) {
        const entry = grants.get(key);
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
  const all: GrantUse[] = [...grants.values()]
    .map((x) => ({ ...x.g, lastUsed: x.lastUsed, ...(x.assumed ? { assumed: true as const } : {}) }))
    .sort((a, b) => cmp(a.route, b.route) || cmp(a.list, b.list) || cmp(a.value, b.value));
  const unused = all.filter((g) => g.lastUsed === null);
  const { diff, notes } = suggestRemoval(input.manifestText, file, manifest, unused);
  const bindings = [];
  for (const fn of manifest.functions.values()) for (const [name, b] of Object.entries(fn.bindings)) if (b.type === 'service') bindings.push({ caller: fn.name, binding: name, target: b.function, usage: 'not-audited' as const });
  return {
    project: manifest.name,
    since: input.since,
    until: input.until,
    events: input.events.length,
    grants: all,
    unusedGrants: unused,
    principals: [...input.principals].map((p) => ({ ...p, lastSeen: lastSeen.get(p.principalId) ?? null })).sort((a, b) => cmp(a.kind, b.kind) || cmp(a.name, b.name) || cmp(a.principalId, b.principalId)),
    functions: [...manifest.functions.keys()].sort().map((name) => ({ name, lastInvoked: lastInvoked.get(name) ?? null })),
    bindings: bindings.sort((a, b) => cmp(a.caller, b.caller) || cmp(a.binding, b.binding)),
    suggestedDiff: diff,
    notes,
  };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Text edits that remove the unused entries, and the unified diff they make. */
function suggestRemoval(text: string, file: string, manifest: Manifest, unused: readonly GrantUse[]): { diff: string; notes: string[] } {
  const notes: string[] = [];
  const doc = parseDocument(text, { keepSourceTokens: false });
  const cuts: Array<[number, number]> = [];
  for (const route of manifest.routes) {
    if (route.public || route.allow === undefined) continue;
    const mine = unused.filter((g) => g.route === routeUid(route).id && g.list !== 'admin-only');
    if (mine.length === 0) continue;
    const allow = doc.getIn(['routes', route.index, 'allow'], true) as Node | undefined;
    if (!isMap(allow)) continue;
    const lists = allow.items.filter((p) => isPair(p) && isScalar(p.key) && isSeq(p.value));
    let remaining = 0;
    const routeCuts: Array<[number, number]> = [];
    const emptied: number[] = [];
    lists.forEach((pair, i) => {
      const seq = pair.value;
      if (!isSeq(seq)) return;
      const key = String((pair.key as { value: unknown }).value);
      const drop = seq.items.map((item) => isScalar(item) && mine.some((g) => g.list === key && g.value === String(item.value)));
      const kept = drop.filter((d) => !d).length;
      remaining += kept;
      if (kept === 0) {
        emptied.push(i);
        return;
      }
      seq.items.forEach((item, j) => {
        if (!drop[j] || !isScalar(item) || item.range == null) return;
        if (seq.flow === true) {
          const next = seq.items.slice(j + 1).find((x, k) => !drop[j + 1 + k] && isScalar(x));
          const prev = [...seq.items.slice(0, j)].reverse().find((x) => isScalar(x));
          if (next !== undefined && isScalar(next) && next.range != null) routeCuts.push([item.range[0], next.range[0]]);
          else if (prev !== undefined && isScalar(prev) && prev.range != null) routeCuts.push([prev.range[1], item.range[1]]);
        } else {
          routeCuts.push(lineSpan(text, item.range[0], item.range[1]));
        }
      });
    });
    if (remaining === 0) {
      notes.push(`route \`${routeUid(route).id}\`: no entry of its \`allow\` was used; removing them all would make it admin-only, so the diff leaves it: remove the route if it is not needed`);
      continue;
    }
    for (const i of emptied) {
      const pair = lists[i];
      const key = pair?.key as { range?: [number, number, number] } | undefined;
      const seq = pair?.value as { range?: [number, number, number] } | undefined;
      if (key?.range == null || seq?.range == null) continue;
      if (allow.flow === true) {
        // Remove `key: [..]` and the comma that joins it to a neighbour.
        const after = text.slice(seq.range[1]).match(/^\s*,\s*/);
        if (after !== null) routeCuts.push([key.range[0], seq.range[1] + after[0].length]);
        else {
          const before = text.slice(0, key.range[0]).match(/,\s*$/);
          routeCuts.push([key.range[0] - (before?.[0].length ?? 0), seq.range[1]]);
        }
      } else {
        routeCuts.push(lineSpan(text, key.range[0], seq.range[1]));
      }
    }
    cuts.push(...routeCuts);
  }
  if (cuts.length === 0) return { diff: '', notes };
  let next = text;
  for (const [s, e] of [...cuts].sort((a, b) => b[0] - a[0])) next = next.slice(0, s) + next.slice(e);
  return { diff: unifiedDiff(text, next, file), notes };
}

/** Whole lines from the one holding `start` to the one holding `end`, newline included. */
function lineSpan(text: string, start: number, end: number): [number, number] {
  const s = text.lastIndexOf('\n', start - 1) + 1;
  const nl = text.indexOf('\n', end);
  return [s, nl === -1 ? text.length : nl + 1];
}

/**
 * A unified diff (3 lines of context) of two texts, by longest common subsequence of lines after
 * the common head and tail are set aside.
 */
export function unifiedDiff(before: string, after: string, file: string): string {
  // A final newline ends the last line; it does not start another.
  const lines = (t: string) => (t.endsWith('\n') ? t.slice(0, -1) : t).split('\n');
  const a = lines(before);
  const b = lines(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  const lcs: number[][] = Array.from({ length: am.length + 1 }, () => new Array<number>(bm.length + 1).fill(0));
  for (let i = am.length - 1; i >= 0; i--) for (let j = bm.length - 1; j >= 0; j--) (lcs[i] as number[])[j] = am[i] === bm[j] ? (lcs[i + 1]?.[j + 1] ?? 0) + 1 : Math.max(lcs[i + 1]?.[j] ?? 0, lcs[i]?.[j + 1] ?? 0);
  const ops: Array<{ op: ' ' | '-' | '+'; line: string }> = [];
  for (let k = 0; k < head; k++) ops.push({ op: ' ', line: a[k] ?? '' });
  let i = 0;
  let j = 0;
  while (i < am.length || j < bm.length) {
    if (i < am.length && j < bm.length && am[i] === bm[j]) ops.push({ op: ' ', line: am[i++] ?? '' }) && j++;
    else if (i < am.length && (j >= bm.length || (lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0))) ops.push({ op: '-', line: am[i++] ?? '' });
    else ops.push({ op: '+', line: bm[j++] ?? '' });
  }
  for (let k = a.length - tail; k < a.length; k++) ops.push({ op: ' ', line: a[k] ?? '' });
  // Hunks: changed ops with 3 lines of context, merged when they touch.
  const out = [`--- ${file}`, `+++ ${file} (unused grants removed)`];
  const changed = ops.map((o, k) => (o.op === ' ' ? -1 : k)).filter((k) => k >= 0);
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, (changed[k] ?? 0) - 3);
    let end = Math.min(ops.length, (changed[k] ?? 0) + 4);
    while (k + 1 < changed.length && (changed[k + 1] ?? 0) - 3 <= end) end = Math.min(ops.length, (changed[++k] ?? 0) + 4);
    k++;
    let aStart = 1;
    let bStart = 1;
    for (let x = 0; x < start; x++) {
      if (ops[x]?.op !== '+') aStart++;
      if (ops[x]?.op !== '-') bStart++;
    }
    const slice = ops.slice(start, end);
    const aLen = slice.filter((o) => o.op !== '+').length;
    const bLen = slice.filter((o) => o.op !== '-').length;
    out.push(`@@ -${aStart},${aLen} +${bStart},${bLen} @@`, ...slice.map((o) => `${o.op}${o.line}`));
  }
  return `${out.join('\n')}\n`;
}
