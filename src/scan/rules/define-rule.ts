import type { Resource, Rule, RuleHit, RuleMeta, Template, TemplateKind } from '../model.js';

/** Returns a failure message for a resource, or undefined when it passes. */
export type ResourceCheck = (props: Readonly<Record<string, unknown>>, resource: Resource, template: Template) => string | undefined;

/**
 * Builds a rule that checks each resource of the listed types. CloudFormation types apply to
 * CloudFormation and Serverless templates (Serverless is compiled to CloudFormation first);
 * Terraform types apply to `.tf` files and plans.
 */
export function defineResourceRule(meta: Omit<RuleMeta, 'appliesTo'>, checks: Readonly<Record<string, ResourceCheck>>): Rule {
  const types = Object.keys(checks);
  const appliesTo = new Set<TemplateKind>();
  for (const t of types) {
    if (t.startsWith('AWS::')) {
      appliesTo.add('cloudformation');
      if (!t.startsWith('AWS::Serverless::')) appliesTo.add('serverless');
    } else {
      appliesTo.add('terraform');
      appliesTo.add('terraform-plan');
    }
  }
  return {
    ...meta,
    appliesTo: [...appliesTo],
    check(template) {
      const hits: RuleHit[] = [];
      for (const resource of template.resources) {
        const check = checks[resource.type];
        if (check === undefined) continue;
        const message = check(resource.properties, resource, template);
        if (message !== undefined) hits.push({ resource: resource.id, message, ...(resource.line === undefined ? {} : { line: resource.line }) });
      }
      return hits;
    },
  };
}

/** The same check for several resource types. */
export function forTypes(types: readonly string[], check: ResourceCheck): Record<string, ResourceCheck> {
  return Object.fromEntries(types.map((t) => [t, check]));
}
