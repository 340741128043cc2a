import { closest } from 'fastest-levenshtein';
import type { ErrorCode } from '../kernel/index.js';
import type { FunctionSpec, SegmentSpec } from './manifest-types.js';

/** One problem with the segment rules, located by its manifest path. */
export interface SegmentRuleProblem {
  readonly code: ErrorCode;
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly hint: string;
}

/**
 * Checks the segment rules (`segments.<name>.allowCallsFrom`) against the segments and the
 * service bindings: every named segment exists and is another segment, and every binding that
 * crosses from one segment into another is let in by a rule of the target segment. The generated
 * Cedar `forbid` (`segment:<name>#allowCallsFrom`) refuses exactly the crossings reported here,
 * so the manifest and the policies agree before anything runs.
 *
 * @example
 * ```ts
 * checkSegmentRules(manifest.segments, manifest.functions); // [] when every crossing has a rule
 * ```
 */
export function checkSegmentRules(segments: ReadonlyMap<string, SegmentSpec>, functions: ReadonlyMap<string, FunctionSpec>): SegmentRuleProblem[] {
  const out: SegmentRuleProblem[] = [];
  for (const seg of segments.values()) {
    (seg.allowCallsFrom ?? []).forEach((from, i) => {
      const path = ['segments', seg.name, 'allowCallsFrom', i];
      if (from === seg.name) {
        out.push({ code: 'PAL_MANIFEST_INVALID_VALUE', path, message: `segment \`${seg.name}\` names itself in \`allowCallsFrom\``, hint: 'remove it: functions of one segment may always call each other through a granted binding' });
      } else if (!segments.has(from)) {
        out.push({ code: 'PAL_MANIFEST_UNKNOWN_SEGMENT', path, message: `segment \`${from}\` is not declared`, hint: `declare it under \`segments\`, or did you mean \`${closest(from, [...segments.keys()])}\`?` });
      }
    });
  }
  for (const fn of functions.values()) {
    for (const [name, binding] of Object.entries(fn.bindings)) {
      if (binding.type !== 'service') continue;
      const target = functions.get(binding.function);
      // Unknown functions and segments are reported by their own rules.
      if (target === undefined || target.segment === fn.segment || !segments.has(fn.segment) || !segments.has(target.segment)) continue;
      const rule = segments.get(target.segment)?.allowCallsFrom ?? [];
      // INVARIANT: the manifest never grants what the generated segment forbid refuses.
      if (rule.includes(fn.segment)) continue;
      out.push({
        code: 'PAL_MANIFEST_SEGMENT_CROSSING',
        path: ['functions', fn.name, 'bindings', name],
        message: `binding \`${name}\` calls \`${target.name}\` in segment \`${target.segment}\` from segment \`${fn.segment}\`, and no segment rule allows it`,
        hint: `add \`${fn.segment}\` to \`segments.${target.segment}.allowCallsFrom\` (segments: { ${target.segment}: { allowCallsFrom: [${fn.segment}] } }), or put both functions in one segment`,
      });
    }
  }
  return out;
}
