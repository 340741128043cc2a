import { parseRoutePattern, type HttpMethod, type PatternSegment, type RouteSpec } from '../manifest/index.js';

/** Result of {@link RouteTable.match}. */
export type RouteMatch =
  | { readonly kind: 'found'; readonly route: RouteSpec; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly string[] }
  | { readonly kind: 'not-found' };

/** A frozen lookup table from method and path segments to a route. */
export interface RouteTable {
  match(method: string, segments: readonly string[]): RouteMatch;
}

interface Entry {
  readonly route: RouteSpec;
  readonly pattern: readonly PatternSegment[];
}

/**
 * Compiles validated routes into a table. The manifest validator guarantees that no two routes
 * overlap for a shared method, so the first match is the only match.
 *
 * @example
 * ```ts
 * createRouteTable(manifest.routes).match('GET', ['api', 'orders', '42']);
 * ```
 */
export function createRouteTable(routes: readonly RouteSpec[]): RouteTable {
  const byLength = new Map<number, Entry[]>();
  for (const route of routes) {
    const parsed = parseRoutePattern(route.path);
    if (!parsed.ok) continue; // unreachable for a validated manifest
    const list = byLength.get(parsed.pattern.segments.length) ?? [];
    list.push({ route, pattern: parsed.pattern.segments });
    byLength.set(parsed.pattern.segments.length, list);
  }
  // Literal-only routes first: cheaper to compare.
  for (const list of byLength.values()) list.sort((a, b) => paramCount(a.pattern) - paramCount(b.pattern));

  return Object.freeze({
    match(method: string, segments: readonly string[]): RouteMatch {
      const candidates = byLength.get(segments.length);
      if (candidates === undefined) return { kind: 'not-found' };
      const allow = new Set<string>();
      for (const entry of candidates) {
        const params = matchPattern(entry.pattern, segments);
        if (params === undefined) continue;
        if (entry.route.methods.includes(method as HttpMethod)) return { kind: 'found', route: entry.route, params };
        for (const m of entry.route.methods) allow.add(m);
      }
      return allow.size > 0 ? { kind: 'method-not-allowed', allow: [...allow] } : { kind: 'not-found' };
    },
  });
}

function paramCount(pattern: readonly PatternSegment[]): number {
  return pattern.filter((s) => s.kind === 'param').length;
}

function matchPattern(pattern: readonly PatternSegment[], segments: readonly string[]): Record<string, string> | undefined {
  let params: Record<string, string> | undefined;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    const s = segments[i];
    if (p === undefined || s === undefined) return undefined;
    if (p.kind === 'literal') {
      if (p.value !== s) return undefined;
    } else {
      if (s === '') return undefined;
      params ??= {};
      params[p.name] = s;
    }
  }
  return params ?? {};
}
