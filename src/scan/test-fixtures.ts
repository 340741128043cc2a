// Test support (imported by tests only): turns a fixture written once per framework into the
// files the scanner reads. CloudFormation JSON is the same template in its JSON form (short-form
// tags in their long form, as `aws cloudformation` would print it); a Terraform plan is what
// `terraform show -json` prints for the same configuration: planned values, with attributes that
// depend on other resources "known after apply" and their references recorded.
import { createRequire } from 'node:module';
import { parseCloudFormationYaml } from './parse-yaml.js';
import { isRecord } from './values.js';

const hcl2json = createRequire(import.meta.url)('@cdktf/hcl2json') as { parse(filename: string, contents: string): Promise<Record<string, unknown>> };

/** The JSON form of a CloudFormation YAML template. */
export function cloudFormationJson(yamlText: string): string {
  return JSON.stringify(parseCloudFormationYaml(yamlText).value, null, 2);
}

const VAR = /^\$\{var\.([A-Za-z_][A-Za-z0-9_-]*)\}$/;
const REFERENCE = /\b((?:data\.)?aws_[a-z0-9_]+\.[A-Za-z0-9_-]+)(\.[A-Za-z0-9_]+)?/g;

function planValue(value: unknown, vars: Record<string, unknown>, refs: string[]): { value?: unknown; unknown?: unknown } {
  if (typeof value === 'string' && value.includes('${')) {
    const v = VAR.exec(value)?.[1];
    if (v !== undefined && vars[v] !== undefined) return { value: vars[v] };
    for (const m of value.matchAll(REFERENCE)) refs.push(`${m[1] ?? ''}${m[2] ?? ''}`, m[1] ?? '');
    return { unknown: true };
  }
  if (Array.isArray(value)) {
    const values: unknown[] = [];
    const unknowns: unknown[] = [];
    for (const item of value) {
      const r = planValue(item, vars, refs);
      values.push(r.value ?? null);
      unknowns.push(r.unknown ?? false);
    }
    return { value: values, unknown: unknowns };
  }
  if (isRecord(value)) {
    const values: Record<string, unknown> = {};
    const unknowns: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = planValue(v, vars, refs);
      if (r.value !== undefined) values[k] = r.value;
      if (r.unknown !== undefined && r.unknown !== false) unknowns[k] = r.unknown;
    }
    return { value: values, unknown: unknowns };
  }
  return { value };
}

/** `terraform show -json` output for a Terraform configuration (root module only). */
export async function terraformPlanJson(hcl: string): Promise<string> {
  const json = await hcl2json.parse('main.tf', hcl);
  const vars: Record<string, unknown> = {};
  for (const [name, blocks] of Object.entries(isRecord(json.variable) ? json.variable : {})) {
    const block = Array.isArray(blocks) && isRecord(blocks[0]) ? blocks[0] : {};
    if (block.default !== undefined) vars[name] = block.default;
  }
  const resources: unknown[] = [];
  const changes: unknown[] = [];
  const config: unknown[] = [];
  for (const [keyword, mode] of [['resource', 'managed'], ['data', 'data']] as const) {
    const section = isRecord(json[keyword]) ? json[keyword] : {};
    for (const [type, byName] of Object.entries(section)) {
      for (const [name, blocks] of Object.entries(isRecord(byName) ? byName : {})) {
        const block = Array.isArray(blocks) && isRecord(blocks[0]) ? blocks[0] : {};
        const address = `${mode === 'data' ? 'data.' : ''}${type}.${name}`;
        const expressions: Record<string, unknown> = {};
        const values: Record<string, unknown> = {};
        const unknown: Record<string, unknown> = {};
        for (const [attr, v] of Object.entries(block)) {
          const refs: string[] = [];
          const r = planValue(v, vars, refs);
          if (r.value !== undefined) values[attr] = r.value;
          if (r.unknown === true) unknown[attr] = true;
          else if (r.unknown !== undefined) unknown[attr] = r.unknown;
          if (refs.length > 0) expressions[attr] = { references: [...new Set(refs)] };
        }
        resources.push({ address, mode, type, name, provider_name: 'registry.terraform.io/hashicorp/aws', schema_version: 0, values, sensitive_values: {} });
        changes.push({ address, mode, type, name, change: { actions: ['create'], before: null, after: values, after_unknown: unknown } });
        config.push({ address, mode, type, name, expressions });
      }
    }
  }
  return JSON.stringify(
    {
      format_version: '1.2',
      terraform_version: '1.9.8',
      variables: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, { value: v }])),
      planned_values: { root_module: { resources } },
      resource_changes: changes,
      configuration: { root_module: { resources: config } },
    },
    null,
    2,
  );
}

/** `resources.Resources` of a serverless.yml holding a CloudFormation template's resources. */
export function serverlessWithResources(cfnYaml: string, head = 'service: shop\nprovider:\n  name: aws\n  runtime: nodejs22.x\n'): string {
  const body = cfnYaml.replace(/^AWSTemplateFormatVersion.*\n/m, '');
  return `${head}resources:\n${body
    .split('\n')
    .map((l) => (l === '' ? l : `  ${l}`))
    .join('\n')}`;
}
