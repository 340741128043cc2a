import type { EgressGrantSpec, FunctionSpec, Manifest, SegmentSpec } from './manifest-types.js';

/**
 * The hosts a function may reach: its own `egress` grants and those of its segment
 * (`segments.<name>.egress`), in that order. The egress guard allows a target when any grant
 * allows it, so the union is exactly "granted to the function or its segment".
 *
 * @example
 * ```ts
 * effectiveEgressGrants(manifest.functions.get('web'), manifest.segments.get('storefront')); // [...own, ...segment's]
 * ```
 */
export function effectiveEgressGrants(fn: Pick<FunctionSpec, 'egress'> | undefined, segment: Pick<SegmentSpec, 'egress'> | undefined): readonly EgressGrantSpec[] {
  const own = fn?.egress ?? [];
  const shared = segment?.egress ?? [];
  // INVARIANT: no function, no grants: an unknown name never inherits a segment's hosts.
  if (fn === undefined) return [];
  return shared.length === 0 ? own : [...own, ...shared];
}

/**
 * The hosts function `name` of `manifest` may reach (its own grants and its segment's); none for
 * an unknown function.
 *
 * @example
 * ```ts
 * egressGrantsOf(manifest, 'web').map((g) => g.host); // ['api.stripe.com', 'cdn.example.com']
 * ```
 */
export function egressGrantsOf(manifest: Pick<Manifest, 'functions' | 'segments'>, name: string): readonly EgressGrantSpec[] {
  const fn = manifest.functions.get(name);
  return effectiveEgressGrants(fn, fn === undefined ? undefined : manifest.segments.get(fn.segment));
}
