import { closest } from 'fastest-levenshtein';
import type { FunctionSpec, SecretSpec, SegmentSpec } from './manifest-types.js';
import { secretHolders } from './resolve-secret-segments.js';
import type { SegmentRuleProblem } from './segment-rule-problem.js';

/** The segment rules: each lists the other segments let in for one kind of access. */
const RULES = [
  { key: 'allowCallsFrom', self: 'functions of one segment may always call each other through a granted binding' },
  { key: 'allowSecretReadsFrom', self: 'functions of a segment may always be granted the secrets of their own segment' },
] as const;

/** What the secret crossings are checked against; absent: only calls are checked. */
export interface SecretOwnership {
  readonly secrets: ReadonlyMap<string, SecretSpec>;
  /** The segment each secret belongs to (`resolveSecretSegments`); a secret missing here is not checked (its ambiguity is reported there). */
  readonly owners: ReadonlyMap<string, string>;
}

/**
 * Checks the segment rules (`segments.<name>.allowCallsFrom`, `allowSecretReadsFrom`) against the
 * segments, the service bindings and the secret grants: every named segment exists and is another
 * segment; every binding that crosses from one segment into another is let in by an
 * `allowCallsFrom` of the target segment; every function granted a secret of another segment (or
 * rotating it) is let in by an `allowSecretReadsFrom` of the secret's segment. The generated Cedar
 * `forbid`s (`segment:<name>#allowCallsFrom`, `#allowSecretReadsFrom`) refuse exactly the
 * crossings reported here, so the manifest and the policies agree before anything runs.
 *
 * @example
 * ```ts
 * checkSegmentRules(manifest.segments, manifest.functions); // [] when every crossing has a rule
 * ```
 */
export function checkSegmentRules(segments: ReadonlyMap<string, SegmentSpec>, functions: ReadonlyMap<string, FunctionSpec>, ownership?: SecretOwnership): SegmentRuleProblem[] {
  const out: SegmentRuleProblem[] = [];
  for (const seg of segments.values()) {
    for (const rule of RULES) {
      (seg[rule.key] ?? []).forEach((from, i) => {
        const path = ['segments', seg.name, rule.key, i];
        if (from === seg.name) {
          out.push({ code: 'PAL_MANIFEST_INVALID_VALUE', path, message: `segment \`${seg.name}\` names itself in \`${rule.key}\``, hint: `remove it: ${rule.self}` });
        } else if (!segments.has(from)) {
          out.push({ code: 'PAL_MANIFEST_UNKNOWN_SEGMENT', path, message: `segment \`${from}\` is not declared`, hint: `declare it under \`segments\`, or did you mean \`${closest(from, [...segments.keys()])}\`?` });
        }
      });
    }
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
  if (ownership !== undefined) out.push(...checkSecretCrossings(segments, functions, ownership));
  return out;
}

function checkSecretCrossings(segments: ReadonlyMap<string, SegmentSpec>, functions: ReadonlyMap<string, FunctionSpec>, { secrets, owners }: SecretOwnership): SegmentRuleProblem[] {
  const out: SegmentRuleProblem[] = [];
  for (const [name, s] of secrets) {
    if (s.segment !== undefined && !segments.has(s.segment)) {
      out.push({ code: 'PAL_MANIFEST_UNKNOWN_SEGMENT', path: ['secrets', name, 'segment'], message: `segment \`${s.segment}\` is not declared`, hint: `declare it under \`segments\`, or did you mean \`${closest(s.segment, [...segments.keys()])}\`?` });
    }
  }
  for (const [name, holders] of secretHolders(secrets, functions)) {
    const owner = owners.get(name);
    if (owner === undefined || !segments.has(owner)) continue;
    for (const h of holders) {
      if (h.segment === owner || !segments.has(h.segment)) continue;
      // INVARIANT: the manifest never grants a secret that the generated segment forbid refuses.
      if ((segments.get(owner)?.allowSecretReadsFrom ?? []).includes(h.segment)) continue;
      const what = h.path[0] === 'secrets' ? `rotates secret \`${name}\`` : `is granted secret \`${name}\``;
      out.push({
        code: 'PAL_MANIFEST_SEGMENT_CROSSING',
        path: h.path,
        message: `function \`${h.fn}\` in segment \`${h.segment}\` ${what} of segment \`${owner}\`, and no segment rule allows it`,
        hint: `add \`${h.segment}\` to \`segments.${owner}.allowSecretReadsFrom\` (segments: { ${owner}: { allowSecretReadsFrom: [${h.segment}] } }), or keep the secret in the function's segment (\`secrets.${name}.segment\`)`,
      });
    }
  }
  return out;
}
