import { createRequire } from 'node:module';
import type { Resource, Template } from './model.js';
import { isRecord, unresolved } from './values.js';

/** A Terraform file that HashiCorp's parser rejected. */
export class HclSyntaxError extends Error {
  readonly line: number | undefined;
  constructor(message: string, line: number | undefined) {
    super(message);
    this.name = 'HclSyntaxError';
    this.line = line;
  }
}

/**
 * HashiCorp's HCL parser compiled to WASM. Loaded through `require` with a local type: the
 * package's own typings pull the DOM library into the whole program.
 */
const hcl2json = createRequire(import.meta.url)('@cdktf/hcl2json') as { parse(filename: string, contents: string): Promise<Record<string, unknown>> };

const WHOLE_VARIABLE = /^\$\{var\.([A-Za-z_][A-Za-z0-9_-]*)\}$/;

/**
 * Terraform expressions: `${var.x}` takes the variable's default when it has one (as Checkov's
 * evaluation does); any other interpolation is unresolved, which value checks treat as passing.
 */
function resolveExpressions(value: unknown, variables: Readonly<Record<string, unknown>>, depth = 0): unknown {
  if (depth > 64) return unresolved('nesting too deep');
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    const name = WHOLE_VARIABLE.exec(value)?.[1];
    if (name !== undefined && Object.hasOwn(variables, name) && variables[name] !== undefined) return variables[name];
    return unresolved(value);
  }
  if (Array.isArray(value)) return value.map((v) => resolveExpressions(v, variables, depth + 1));
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveExpressions(v, variables, depth + 1);
    return out;
  }
  return value;
}

function lineOfBlock(text: string, keyword: string, type: string, name: string): number | undefined {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`^\\s*${keyword}\\s+"${esc(type)}"\\s+"${esc(name)}"`, 'm').exec(text);
  return match === null ? undefined : text.slice(0, match.index + match[0].length - match[0].trimStart().length).split('\n').length;
}

/**
 * Parses a `.tf` file with HashiCorp's HCL parser (`@cdktf/hcl2json`, the Go parser as WASM).
 * Throws {@link HclSyntaxError} on malformed input.
 *
 * @example
 * ```ts
 * const t = await parseTerraform('main.tf', 'resource "aws_sqs_queue" "q" {}');
 * t.resources[0]?.id; // 'aws_sqs_queue.q'
 * ```
 */
export async function parseTerraform(file: string, text: string): Promise<Template> {
  let json: Record<string, unknown>;
  try {
    json = await hcl2json.parse(file, text);
  } catch (error) {
    const message = String(error instanceof Error ? error.message : error).replace(/^Error:\s*/, '').replace(/^parse config:\s*/, '').replace(/^\[|\]$/g, '');
    const line = /:(\d+),\d+/.exec(message)?.[1];
    throw new HclSyntaxError(message.split('\n')[0] ?? 'invalid hcl', line === undefined ? undefined : Number(line));
  }
  const variables: Record<string, unknown> = {};
  if (isRecord(json.variable)) {
    for (const [name, blocks] of Object.entries(json.variable)) {
      const block = Array.isArray(blocks) ? blocks[0] : undefined;
      if (isRecord(block) && block.default !== undefined) variables[name] = block.default;
    }
  }
  const resources: Resource[] = [];
  for (const [keyword, prefix] of [['resource', ''], ['data', 'data.']] as const) {
    const section = json[keyword];
    if (!isRecord(section)) continue;
    for (const [type, byName] of Object.entries(section)) {
      if (!isRecord(byName)) continue;
      for (const [name, blocks] of Object.entries(byName)) {
        const block = Array.isArray(blocks) ? blocks[0] : undefined;
        if (!isRecord(block)) continue;
        const line = lineOfBlock(text, keyword, type, name);
        resources.push({ type: `${prefix}${type}`, id: `${prefix}${type}.${name}`, properties: resolveExpressions(block, variables) as Record<string, unknown>, ...(line === undefined ? {} : { line }) });
      }
    }
  }
  return { file, kind: 'terraform', text, resources, parameters: variables };
}

/** True when a parsed JSON document is `terraform show -json` output for a plan. */
export function isTerraformPlan(value: unknown): boolean {
  return isRecord(value) && typeof value.format_version === 'string' && (isRecord(value.planned_values) || Array.isArray(value.resource_changes));
}

interface PlanModule {
  resources?: unknown;
  child_modules?: unknown;
}

/** Marks attributes a plan reports as "known after apply", keeping the references they come from. */
function markUnknown(values: unknown, unknown: unknown, references: Readonly<Record<string, readonly string[]>>, attr?: string): unknown {
  if (unknown === true) return unresolved(attr !== undefined && references[attr] !== undefined ? references[attr].join(' ') : 'known after apply');
  if (Array.isArray(unknown)) {
    const list = Array.isArray(values) ? [...values] : [];
    unknown.forEach((u, i) => {
      list[i] = markUnknown(list[i], u, references);
    });
    return list;
  }
  if (isRecord(unknown)) {
    const out: Record<string, unknown> = isRecord(values) ? { ...values } : {};
    for (const [k, u] of Object.entries(unknown)) {
      const marked = markUnknown(out[k], u, references, attr ?? k);
      if (marked !== undefined) out[k] = marked;
    }
    return out;
  }
  return values;
}

/**
 * Reads `terraform show -json` plan output: planned values of every module, with attributes
 * known only after apply marked unresolved (and carrying the references they depend on).
 *
 * @example
 * ```ts
 * const t = parseTerraformPlan('plan.json', text, JSON.parse(text));
 * ```
 */
export function parseTerraformPlan(file: string, text: string, plan: Record<string, unknown>): Template {
  const unknownByAddress = new Map<string, unknown>();
  if (Array.isArray(plan.resource_changes)) {
    for (const rc of plan.resource_changes) {
      if (isRecord(rc) && typeof rc.address === 'string' && isRecord(rc.change)) unknownByAddress.set(rc.address, rc.change.after_unknown);
    }
  }
  const referencesByAddress = new Map<string, Record<string, string[]>>();
  const configRoot = isRecord(plan.configuration) && isRecord(plan.configuration.root_module) ? plan.configuration.root_module : {};
  if (Array.isArray(configRoot.resources)) {
    for (const r of configRoot.resources) {
      if (!isRecord(r) || typeof r.address !== 'string' || !isRecord(r.expressions)) continue;
      const refs: Record<string, string[]> = {};
      for (const [attr, expr] of Object.entries(r.expressions)) {
        if (isRecord(expr) && Array.isArray(expr.references)) refs[attr] = expr.references.filter((x): x is string => typeof x === 'string');
      }
      referencesByAddress.set(r.address, refs);
    }
  }
  const resources: Resource[] = [];
  const walk = (mod: PlanModule, depth: number) => {
    if (depth > 32) return;
    if (Array.isArray(mod.resources)) {
      for (const r of mod.resources) {
        if (!isRecord(r) || typeof r.type !== 'string' || typeof r.address !== 'string') continue;
        const values = markUnknown(isRecord(r.values) ? r.values : {}, unknownByAddress.get(r.address), referencesByAddress.get(r.address) ?? {});
        const type = r.mode === 'data' ? `data.${r.type}` : r.type;
        const at = text.indexOf(`"address": "${r.address}"`);
        const line = at === -1 ? undefined : text.slice(0, at).split('\n').length;
        // Resources inside modules keep their full address; root resources read `type.name`.
        const id = r.address.replace(/\[\d+\]$/, '');
        resources.push({ type, id, properties: values as Record<string, unknown>, ...(line === undefined ? {} : { line }) });
      }
    }
    if (Array.isArray(mod.child_modules)) for (const child of mod.child_modules) if (isRecord(child)) walk(child, depth + 1);
  };
  const planned = isRecord(plan.planned_values) && isRecord(plan.planned_values.root_module) ? plan.planned_values.root_module : {};
  walk(planned, 0);
  const variables: Record<string, unknown> = {};
  if (isRecord(plan.variables)) for (const [k, v] of Object.entries(plan.variables)) if (isRecord(v)) variables[k] = v.value;
  return { file, kind: 'terraform-plan', text, resources, parameters: variables };
}
