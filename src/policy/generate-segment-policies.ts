import type { Manifest, SegmentSpec } from '../manifest/index.js';
import type { Expr, PolicyJson } from './cedar.js';
import type { PolicySource } from './policy-source.js';

const inSegment = (name: string): Expr => ({ in: { left: { Var: 'principal' }, right: { Value: { __entity: { type: 'Segment', id: name } } } } });

/** The segment rules and the action each one guards at the segment's boundary. */
const RULES = [
  { key: 'allowCallsFrom', action: 'callFunction' },
  { key: 'allowSecretReadsFrom', action: 'readSecret' },
] as const satisfies readonly { key: keyof SegmentSpec; action: string }[];

/**
 * The segment rules as Cedar: per segment, one `forbid` per rule that refuses the rule's action
 * into the segment unless the acting function is in the segment itself or in a segment the rule
 * names:
 *
 * - `segment:<name>#allowCallsFrom`: `callFunction` to a function of the segment;
 * - `segment:<name>#allowSecretReadsFrom`: `readSecret` of a secret of the segment (the runtime
 *   builds `Secret in Segment` from the manifest, see `buildSecretEntities`).
 *
 * A forbid, not a permit: a grant (`permit`, generated or custom) never opens a segment boundary by
 * itself, and a custom `forbid` can still narrow.
 *
 * ```cedar
 * @id("segment:payments#allowCallsFrom") @origin("palisade.yaml:17")
 * forbid (principal, action == Action::"callFunction", resource in Segment::"payments")
 * unless { principal in Segment::"payments" || principal in Segment::"storefront" };
 * ```
 *
 * @example
 * ```ts
 * generateSegmentPolicies(manifest, 'palisade.yaml').map((p) => p.id); // ['segment:default#allowCallsFrom', 'segment:default#allowSecretReadsFrom', ...]
 * ```
 */
export function generateSegmentPolicies(manifest: Pick<Manifest, 'segments'>, file: string): PolicySource[] {
  const out: PolicySource[] = [];
  const names = [...manifest.segments.keys()].sort();
  for (const name of names) {
    const seg = manifest.segments.get(name);
    if (seg === undefined) continue;
    const origin = seg.line === undefined ? file : `${file}:${seg.line}`;
    for (const rule of RULES) {
      const id = `segment:${name}#${rule.key}`;
      // INVARIANT: the segment's own functions always pass; a rule only ever adds segments.
      let body = inSegment(name);
      for (const from of [...new Set(seg[rule.key] ?? [])].sort()) if (from !== name) body = { '||': { left: body, right: inSegment(from) } };
      const policy: PolicyJson = {
        effect: 'forbid',
        principal: { op: 'All' },
        action: { op: '==', entity: { type: 'Action', id: rule.action } },
        resource: { op: 'in', entity: { type: 'Segment', id: name } },
        conditions: [{ kind: 'unless', body }],
        annotations: { id, origin },
      };
      out.push({ id, policy, origin: { file, ...(seg.line === undefined ? {} : { line: seg.line }) }, generated: true });
    }
  }
  return out;
}
