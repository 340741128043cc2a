import type { Diagnostic, SourceLocation, ValidationResult } from '../kernel/index.js';
import { policyToJson, policyToText, validate, type PolicyJson } from './cedar.js';
import { palisadeSchemaText } from './palisade-schema.js';
import { describe } from './parse-policy-file.js';
import { formatOrigin, type PolicyOrigin, type PolicySource } from './policy-source.js';

/** One validated policy: its id, origin, Cedar JSON and Cedar text. */
export interface CompiledPolicy {
  readonly id: string;
  readonly origin: PolicyOrigin;
  readonly generated: boolean;
  readonly effect: 'permit' | 'forbid';
  readonly json: PolicyJson;
  /** The policy as Cedar evaluates it (custom: the file's text; generated: Cedar's rendering of the JSON). */
  readonly policy: string | PolicyJson;
  readonly text: string;
}

/** A validated, frozen policy set. */
export interface CompiledPolicySet {
  readonly policies: readonly CompiledPolicy[];
  readonly byId: ReadonlyMap<string, CompiledPolicy>;
}

/**
 * Validates policies against the Palisade schema in Cedar's strict mode and freezes them into a
 * set. Collects every problem: a duplicate id, an unparsable policy, an unknown entity type,
 * action or attribute, an ill-typed expression; each diagnostic names the origin (`file:line`),
 * the policy id and Cedar's message.
 *
 * @example
 * ```ts
 * const result = compilePolicySet([...generateManifestPolicies(manifest), ...custom]);
 * if (!result.ok) for (const d of result.errors) console.error(formatDiagnostic(d));
 * ```
 */
export function compilePolicySet(sources: readonly PolicySource[]): ValidationResult<CompiledPolicySet> {
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const seen = new Map<string, PolicySource>();
  const parsed: Array<{ source: PolicySource; json: PolicyJson }> = [];
  for (const source of sources) {
    const first = seen.get(source.id);
    if (first !== undefined) {
      errors.push({ code: 'PAL_POLICY_DUPLICATE_ID', severity: 'error', path: source.id, message: `policy id \`${source.id}\` is also used at ${formatOrigin(first.origin)}`, hint: 'give each policy a unique `@id("…")`', location: locationOf(source.origin) });
      continue;
    }
    seen.set(source.id, source);
    if (typeof source.policy !== 'string') {
      parsed.push({ source, json: source.policy });
      continue;
    }
    const json = policyToJson(source.policy);
    if (json.type === 'failure') {
      errors.push({ code: 'PAL_POLICY_SYNTAX', severity: 'error', path: source.id, message: `policy \`${source.id}\`: ${describe(json.errors[0])}`, location: locationOf(source.origin) });
      continue;
    }
    parsed.push({ source, json: json.json });
  }
  if (errors.length > 0) return { ok: false, errors, warnings };

  const staticPolicies: Record<string, string | PolicyJson> = {};
  for (const { source } of parsed) staticPolicies[source.id] = source.policy;
  const answer = validate({ schema: palisadeSchemaText, policies: { staticPolicies }, validationSettings: { mode: 'strict' } });
  if (answer.type === 'failure') {
    for (const e of answer.errors) errors.push({ code: 'PAL_POLICY_INVALID', severity: 'error', path: '', message: describe(e) });
    return { ok: false, errors, warnings };
  }
  const offsetLine = (id: string, offset: number | undefined): PolicyOrigin => {
    const source = seen.get(id);
    if (source === undefined) return { file: '' };
    if (typeof source.policy !== 'string' || offset === undefined || source.origin.line === undefined) return source.origin;
    let extra = 0;
    for (let i = 0; i < offset && i < source.policy.length; i++) if (source.policy.charCodeAt(i) === 10) extra++;
    return { file: source.origin.file, line: source.origin.line + extra };
  };
  for (const e of answer.validationErrors) {
    errors.push({ code: 'PAL_POLICY_INVALID', severity: 'error', path: e.policyId, message: `policy \`${e.policyId}\`: ${describe(e.error)}`, hint: 'see docs/reference/cedar-schema.md for the types, actions and attributes', location: locationOf(offsetLine(e.policyId, e.error.sourceLocations?.[0]?.start)) });
  }
  for (const w of answer.validationWarnings) {
    warnings.push({ code: 'PAL_POLICY_INVALID', severity: 'warning', path: w.policyId, message: `policy \`${w.policyId}\`: ${describe(w.error)}`, location: locationOf(offsetLine(w.policyId, w.error.sourceLocations?.[0]?.start)) });
  }
  if (errors.length > 0) return { ok: false, errors, warnings };

  const policies = parsed.map<CompiledPolicy>(({ source, json }) => {
    const text = typeof source.policy === 'string' ? source.policy : renderText(source.policy);
    return Object.freeze({ id: source.id, origin: source.origin, generated: source.generated, effect: json.effect, json, policy: source.policy, text });
  });
  const value: CompiledPolicySet = Object.freeze({ policies: Object.freeze(policies), byId: new Map(policies.map((p) => [p.id, p])) });
  return { ok: true, value, errors: [], warnings };
}

function renderText(json: PolicyJson): string {
  const t = policyToText(json);
  return t.type === 'success' ? t.text : JSON.stringify(json);
}

function locationOf(origin: PolicyOrigin): SourceLocation {
  return origin.line === undefined ? { file: origin.file } : { file: origin.file, line: origin.line };
}
