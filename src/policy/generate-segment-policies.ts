import type { Manifest } from '../manifest/index.js';
import type { Expr, PolicyJson } from './cedar.js';
import type { PolicySource } from './policy-source.js';

const CALL_FUNCTION = { op: '==', entity: { type: 'Action', id: 'callFunction' } } as const;
const inSegment = (name: string): Expr => ({ in: { left: { Var: 'principal' }, right: { Value: { __entity: { type: 'Segment', id: name } } } } });

/**
 * The segment rules as Cedar: one `forbid` per segment (`segment:<name>#allowCallsFrom`) that
 * refuses `callFunction` into the segment unless the calling function is in the segment itself
 * or in a segment its `allowCallsFrom` names. A forbid, not a permit: a service binding grant
 * (`permit`) never opens a segment boundary by itself, and a custom `forbid` can still narrow.
 *
 * ```cedar
 * @id("segment:payments#allowCallsFrom") @origin("palisade.yaml:17")
 * forbid (principal, action == Action::"callFunction", resource in Segment::"payments")
 * unless { principal in Segment::"payments" || principal in Segment::"storefront" };
 * ```
 *
 * @example
 * ```ts
 * generateSegmentPolicies(manifest, 'palisade.yaml').map((p) => p.id); // ['segment:default#allowCallsFrom', ...]
 * ```
 */
export function generateSegmentPolicies(manifest: Pick<Manifest, 'segments'>, file: string): PolicySource[] {
  const out: PolicySource[] = [];
  const names = [...manifest.segments.keys()].sort();
  for (const name of names) {
    const seg = manifest.segments.get(name);
    if (seg === undefined) continue;
    const id = `segment:${name}#allowCallsFrom`;
    const origin = seg.line === undefined ? file : `${file}:${seg.line}`;
    // INVARIANT: the segment's own functions always pass; `allowCallsFrom` only ever adds segments.
    let body = inSegment(name);
    for (const from of [...new Set(seg.allowCallsFrom ?? [])].sort()) if (from !== name) body = { '||': { left: body, right: inSegment(from) } };
    const policy: PolicyJson = {
      effect: 'forbid',
      principal: { op: 'All' },
      action: CALL_FUNCTION,
      resource: { op: 'in', entity: { type: 'Segment', id: name } },
      conditions: [{ kind: 'unless', body }],
      annotations: { id, origin },
    };
    out.push({ id, policy, origin: { file, ...(seg.line === undefined ? {} : { line: seg.line }) }, generated: true });
  }
  return out;
}
