/** One segment of a route pattern. */
export type PatternSegment = { readonly kind: 'literal'; readonly value: string } | { readonly kind: 'param'; readonly name: string };

/** A parsed route pattern. */
export interface RoutePattern {
  readonly source: string;
  readonly segments: readonly PatternSegment[];
}

/** Result of {@link parseRoutePattern}. */
export type ParseRoutePatternResult =
  | { readonly ok: true; readonly pattern: RoutePattern }
  | { readonly ok: false; readonly message: string };

// RFC 3986 unreserved characters plus a few sub-delims; no '%' (no encoded characters) and no
// '*' (it reads as a wildcard, which routes do not have).
const LITERAL = /^[A-Za-z0-9._~!$&'()+,;=@-]+$/;
const PARAM = /^:[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Path prefix reserved for Palisade's own endpoints. */
export const RESERVED_PATH_PREFIX = '/_palisade';

/**
 * Parses a manifest route path such as `/api/orders/:id`.
 *
 * Rejects anything a request path could not match literally: dot segments, empty segments,
 * trailing slashes, percent-encoding and wildcards.
 *
 * @example
 * ```ts
 * parseRoutePattern('/api/orders/:id'); // { ok: true, pattern: { segments: [lit api, lit orders, param id] } }
 * ```
 */
export function parseRoutePattern(path: string): ParseRoutePatternResult {
  if (!path.startsWith('/')) return { ok: false, message: `path \`${path}\` must start with \`/\`` };
  if (path === '/') return { ok: true, pattern: { source: path, segments: [] } };
  if (path.endsWith('/')) return { ok: false, message: `path \`${path}\` must not end with \`/\`` };
  const parts = path.slice(1).split('/');
  const segments: PatternSegment[] = [];
  const names = new Set<string>();
  for (const part of parts) {
    if (part === '') return { ok: false, message: `path \`${path}\` has an empty segment` };
    if (part === '.' || part === '..') return { ok: false, message: `path \`${path}\` has a dot segment` };
    if (part.startsWith(':')) {
      if (!PARAM.test(part)) return { ok: false, message: `parameter \`${part}\` must be \`:\` followed by a letter or \`_\` and letters, digits or \`_\`` };
      const name = part.slice(1);
      if (names.has(name)) return { ok: false, message: `parameter \`${part}\` appears twice in \`${path}\`` };
      names.add(name);
      segments.push({ kind: 'param', name });
      continue;
    }
    if (!LITERAL.test(part)) return { ok: false, message: `segment \`${part}\` may use only letters, digits and \`-._~!$&'()+,;=@\` (no \`%\`, \`*\` or spaces)` };
    segments.push({ kind: 'literal', value: part });
  }
  return { ok: true, pattern: { source: path, segments } };
}

/**
 * True when some request path matches both patterns: same length and, position by position,
 * equal literals or at least one parameter.
 */
export function routePatternsOverlap(a: RoutePattern, b: RoutePattern): boolean {
  if (a.segments.length !== b.segments.length) return false;
  return a.segments.every((sa, i) => {
    const sb = b.segments[i];
    if (sb === undefined) return false;
    if (sa.kind === 'param' || sb.kind === 'param') return true;
    return sa.value === sb.value;
  });
}
