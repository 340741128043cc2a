import type { Resource, Unresolved } from './model.js';

/**
 * How rules read template values, with Checkov's treatment of values a template does not fix:
 * a value that depends on a parameter, variable or another resource counts as present and as
 * passing a value comparison (Checkov's `_is_variable_dependant`); a literal is compared as is.
 */

/** Marks a value the template does not fix. */
export function unresolved(text: string): Unresolved {
  return { unresolved: text };
}

/** True for a value from {@link unresolved}. */
export function isUnresolved(value: unknown): value is Unresolved {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { unresolved?: unknown }).unresolved === 'string' && Object.keys(value).length === 1;
}

/** True for a plain object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a path. A string step applied to an array reads its first element, so Terraform blocks
 * (`environment { … }`, parsed as arrays) read like CloudFormation mappings.
 *
 * @example
 * ```ts
 * get({ environment: [{ variables: { A: '1' } }] }, ['environment', 'variables', 'A']); // '1'
 * ```
 */
export function get(value: unknown, path: readonly (string | number)[]): unknown {
  let current: unknown = value;
  for (const step of path) {
    if (Array.isArray(current) && typeof step === 'string') current = current[0];
    if (typeof step === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[step];
    } else if (isRecord(current) && !isUnresolved(current)) {
      current = Object.hasOwn(current, step) ? current[step] : undefined;
    } else {
      return undefined;
    }
  }
  return current;
}

/** Present: not missing, not null, not an empty string or empty block (Checkov's ANY_VALUE). */
export function isPresent(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (Array.isArray(value)) return value.length > 0 && value.some((v) => isPresent(v));
  return true;
}

/** `true`, `"true"` (CloudFormation accepts both), or unresolved. */
export function isTrueOrUnresolved(value: unknown): boolean {
  return value === true || (typeof value === 'string' && value.toLowerCase() === 'true') || isUnresolved(value);
}

/** A literal string or number as a string; undefined for anything else. */
export function literalString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Passes when `value` is unresolved or one of `expected`; a missing value passes only if `missingPasses`. */
export function valueIn(value: unknown, expected: readonly (string | boolean | number)[], missingPasses = false): boolean {
  if (!isPresent(value)) return missingPasses;
  if (isUnresolved(value)) return true;
  const v = Array.isArray(value) && value.length === 1 ? value[0] : value;
  return expected.some((e) => e === v || (typeof e === 'boolean' && typeof v === 'string' && v.toLowerCase() === String(e)));
}

/** Always an array: a single value becomes a one-element array, missing becomes empty. */
export function asList(value: unknown): readonly unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** Every string (and unresolved text) inside a value, depth first. */
export function collectText(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (isUnresolved(value)) out.push(value.unresolved);
  else if (Array.isArray(value)) for (const v of value) collectText(v, out);
  else if (isRecord(value)) for (const [k, v] of Object.entries(value)) {
    if (k === 'Ref' || k === 'Fn::GetAtt') out.push(`\${${Array.isArray(v) ? v.join('.') : String(v)}}`);
    collectText(v, out);
  }
  return out;
}

/**
 * True when `value` refers to `target`: a CloudFormation `Ref`/`GetAtt`/`${Id}` of its logical id,
 * or a Terraform `type.name` reference (in an expression or in a plan's recorded references).
 */
export function refersTo(value: unknown, target: Resource): boolean {
  const name = target.id;
  let pattern = referencePatterns.get(name);
  if (pattern === undefined) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    pattern = new RegExp(`(^|[^A-Za-z0-9_])(Ref\\.)?${escaped}($|[^A-Za-z0-9_-])`);
    if (referencePatterns.size > 10_000) referencePatterns.clear();
    referencePatterns.set(name, pattern);
  }
  const p = pattern;
  return collectText(value).some((text) => text.includes(name) && p.test(text));
}

const referencePatterns = new Map<string, RegExp>();
