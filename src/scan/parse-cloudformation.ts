import type { Resource, Template } from './model.js';
import type { ParsedYaml } from './parse-yaml.js';
import { isRecord, unresolved } from './values.js';

/** True when a parsed document looks like a CloudFormation or SAM template. */
export function isCloudFormation(value: unknown): boolean {
  if (!isRecord(value)) return false;
  if (typeof value.AWSTemplateFormatVersion === 'string' || value.AWSTemplateFormatVersion instanceof Date) return true;
  const resources = value.Resources;
  return isRecord(resources) && Object.values(resources).some((r) => isRecord(r) && typeof r.Type === 'string' && r.Type.startsWith('AWS::'));
}

/**
 * Resolves `Ref`s to parameters with a `Default` (as Checkov's graph does); every other `Ref`
 * becomes unresolved (`Ref.Name`), which value checks treat as passing. Other intrinsic
 * functions are kept as written: present, never equal to a literal.
 */
export function resolveRefs(value: unknown, parameters: Readonly<Record<string, unknown>>, depth = 0): unknown {
  if (depth > 64) return unresolved('nesting too deep');
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, parameters, depth + 1));
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === 'Ref' && typeof value.Ref === 'string') {
    const name = value.Ref;
    if (Object.hasOwn(parameters, name) && parameters[name] !== undefined) return parameters[name];
    return unresolved(`Ref.${name}`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = resolveRefs(v, parameters, depth + 1);
  return out;
}

/** Parameter defaults of a template. */
export function parameterDefaults(doc: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isRecord(doc.Parameters)) return out;
  for (const [name, p] of Object.entries(doc.Parameters)) if (isRecord(p) && p.Default !== undefined) out[name] = p.Default;
  return out;
}

/** SAM `Globals.Function` merged under each `AWS::Serverless::Function` (the function wins). */
function withSamGlobals(type: string, props: Record<string, unknown>, doc: Record<string, unknown>): Record<string, unknown> {
  const globals = isRecord(doc.Globals) ? doc.Globals : undefined;
  const section = type === 'AWS::Serverless::Function' ? globals?.Function : type === 'AWS::Serverless::Api' ? globals?.Api : undefined;
  if (!isRecord(section)) return props;
  const merged: Record<string, unknown> = { ...section, ...props };
  const gEnv = section.Environment;
  const fEnv = props.Environment;
  if (isRecord(gEnv) && isRecord(fEnv) && isRecord(gEnv.Variables) && isRecord(fEnv.Variables)) {
    merged.Environment = { ...fEnv, Variables: { ...gEnv.Variables, ...fEnv.Variables } };
  }
  return merged;
}

/** The resources of a CloudFormation document, normalised. */
export function cloudFormationResources(doc: Record<string, unknown>, parsed: ParsedYaml, pathPrefix: readonly string[] = []): Resource[] {
  const parameters = parameterDefaults(doc);
  const out: Resource[] = [];
  if (!isRecord(doc.Resources)) return out;
  for (const [id, raw] of Object.entries(doc.Resources)) {
    if (!isRecord(raw) || typeof raw.Type !== 'string') continue;
    const props = isRecord(raw.Properties) ? raw.Properties : {};
    const properties = resolveRefs(withSamGlobals(raw.Type, props, doc), parameters) as Record<string, unknown>;
    const line = parsed.lineOf([...pathPrefix, 'Resources', id]);
    out.push({ type: raw.Type, id, properties, ...(line === undefined ? {} : { line }) });
  }
  return out;
}

/**
 * Builds a template from a parsed CloudFormation or SAM document (YAML or JSON).
 *
 * @example
 * ```ts
 * const t = parseCloudFormation('template.yaml', text, parseCloudFormationYaml(text));
 * ```
 */
export function parseCloudFormation(file: string, text: string, parsed: ParsedYaml): Template {
  const doc = isRecord(parsed.value) ? parsed.value : {};
  return { file, kind: 'cloudformation', text, resources: cloudFormationResources(doc, parsed), parameters: parameterDefaults(doc) };
}
