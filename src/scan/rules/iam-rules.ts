import { safeJsonParse } from '../../kernel/index.js';
import type { Resource, Rule, RuleHit, Template } from '../model.js';
import { asList, collectText, get, isRecord, isUnresolved, refersTo } from '../values.js';
import { defineResourceRule, type ResourceCheck } from './define-rule.js';

/** One policy statement, normalised; `undefined` lists are not fixed by the template. */
export interface Statement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[] | undefined;
  readonly resources: readonly string[] | undefined;
  readonly notAction: boolean;
}

function stringsOrUnresolved(value: unknown): readonly string[] | undefined {
  if (value === undefined) return [];
  if (isUnresolved(value)) return undefined;
  const list = asList(value);
  if (list.some((v) => typeof v !== 'string')) return undefined;
  return list as string[];
}

/** Statements of an IAM policy document (a mapping or a JSON string). Unreadable documents give none. */
export function statementsOf(document: unknown): Statement[] {
  let doc = document;
  if (typeof doc === 'string') {
    const parsed = safeJsonParse(doc);
    if (!parsed.ok) return [];
    doc = parsed.value;
  }
  if (!isRecord(doc) || isUnresolved(doc)) return [];
  return asList(doc.Statement)
    .filter(isRecord)
    .map((s) => ({
      effect: s.Effect === 'Deny' ? ('Deny' as const) : ('Allow' as const),
      actions: stringsOrUnresolved(s.Action ?? s.NotAction),
      resources: stringsOrUnresolved(s.Resource ?? s.NotResource ?? '*'),
      notAction: s.Action === undefined && s.NotAction !== undefined,
    }));
}

/** Statements of a Terraform `aws_iam_policy_document` data source. */
function statementsOfTfDocument(props: Readonly<Record<string, unknown>>): Statement[] {
  return asList(props.statement)
    .filter(isRecord)
    .map((s) => ({
      effect: s.effect === 'Deny' ? ('Deny' as const) : ('Allow' as const),
      actions: stringsOrUnresolved(s.actions ?? s.not_actions),
      resources: stringsOrUnresolved(s.resources ?? s.not_resources ?? '*'),
      notAction: s.actions === undefined && s.not_actions !== undefined,
    }));
}

/** Every policy document a resource carries, as statements. */
export function policyStatements(resource: Resource): Statement[] {
  const p = resource.properties;
  switch (resource.type) {
    case 'AWS::IAM::Policy':
    case 'AWS::IAM::ManagedPolicy':
      return statementsOf(p.PolicyDocument);
    case 'AWS::IAM::Role':
    case 'AWS::IAM::User':
    case 'AWS::IAM::Group':
      return asList(p.Policies).flatMap((policy) => (isRecord(policy) ? statementsOf(policy.PolicyDocument) : []));
    case 'AWS::Serverless::Function':
      return asList(p.Policies).flatMap((policy) => (isRecord(policy) && policy.Statement !== undefined ? statementsOf(policy) : []));
    case 'aws_iam_policy':
    case 'aws_iam_role_policy':
    case 'aws_iam_user_policy':
    case 'aws_iam_group_policy':
      return statementsOf(p.policy);
    case 'aws_iam_role':
      return asList(p.inline_policy).flatMap((policy) => (isRecord(policy) ? statementsOf(policy.policy) : []));
    case 'data.aws_iam_policy_document':
      return statementsOfTfDocument(p);
    default:
      return [];
  }
}

const POLICY_TYPES = ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::Role', 'AWS::IAM::User', 'AWS::IAM::Group', 'AWS::Serverless::Function', 'aws_iam_policy', 'aws_iam_role_policy', 'aws_iam_user_policy', 'aws_iam_group_policy', 'aws_iam_role', 'data.aws_iam_policy_document'] as const;

function policyRule(check: (statements: Statement[]) => string | undefined): Record<string, ResourceCheck> {
  return Object.fromEntries(POLICY_TYPES.map((t) => [t, (_p: unknown, r: Resource) => check(policyStatements(r))]));
}

/** True when an IAM action pattern (with `*` and `?`) covers `action` (case-insensitive, as IAM does). */
export function actionMatches(pattern: string, action: string): boolean {
  let re = patternCache.get(pattern);
  if (re === undefined) {
    re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
    if (patternCache.size > 10_000) patternCache.clear();
    patternCache.set(pattern, re);
  }
  return re.test(action);
}

const patternCache = new Map<string, RegExp>();

function allows(statement: Statement, action: string): boolean {
  if (statement.effect !== 'Allow' || statement.actions === undefined) return false;
  if (statement.notAction) return !statement.actions.some((p) => actionMatches(p, action));
  return statement.actions.some((p) => actionMatches(p, action));
}

const allResources = (s: Statement) => s.resources !== undefined && s.resources.includes('*');

/** PAL-IAM-001: IAM policy allows every action (`*`). */
export const iamStarAction: Rule = defineResourceRule(
  {
    id: 'PAL-IAM-001',
    title: 'IAM policy allows every action (`*`)',
    severity: 'high',
    description: 'An `Allow` statement with `Action: "*"` grants every present and future AWS action. Every statement is checked (Checkov stops at the first statement of a document).',
    remediation: 'List the actions the principal needs; use IAM Access Analyzer policy generation from CloudTrail activity.',
    frameworks: { cis: ['CIS AWS Foundations 1.16', 'CIS AWS Compute 12.4'], owaspServerless: ['SAS-4'], palisade: ['least-privilege'] },
    checkov: ['CKV_AWS_63', 'CKV_AWS_49'],
  },
  policyRule((statements) => (statements.some((s) => s.effect === 'Allow' && !s.notAction && s.actions?.includes('*') === true) ? 'a statement allows `Action: "*"`' : undefined)),
);

/** Actions that support only `Resource: "*"` (AWS service authorization reference), commonly granted to functions. */
const STAR_ONLY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets', 'xray:GetSamplingStatisticSummaries', 'ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses', 'cloudwatch:PutMetricData', 'sts:GetCallerIdentity', 's3:ListAllMyBuckets', 'kms:ListKeys', 'kms:ListAliases'];

/** PAL-IAM-002: IAM policy allows actions on every resource (`*`). */
export const iamStarResource: Rule = defineResourceRule(
  {
    id: 'PAL-IAM-002',
    title: 'IAM policy allows actions on every resource (`*`)',
    severity: 'medium',
    description: 'An `Allow` statement with `Resource: "*"` applies its actions to every resource in the account. Actions that only support `*` (X-Ray, VPC network interfaces, `cloudwatch:PutMetricData`, …) are exempt.',
    remediation: 'Name the ARNs of the resources the principal needs (with `${AWS::Region}`/`${AWS::AccountId}` or Terraform references).',
    frameworks: { cis: ['CIS AWS Compute 12.4'], owaspServerless: ['SAS-4'], palisade: ['least-privilege'] },
    checkov: [],
  },
  policyRule((statements) => {
    const bad = statements.find((s) => s.effect === 'Allow' && allResources(s) && (s.notAction || s.actions === undefined ? s.notAction : s.actions.some((a) => !STAR_ONLY_ACTIONS.some((x) => x.toLowerCase() === a.toLowerCase()))));
    return bad === undefined ? undefined : `a statement allows \`${bad.notAction ? 'NotAction' : (bad.actions ?? []).join(', ')}\` on \`Resource: "*"\``;
  }),
);

/** PAL-IAM-003: IAM policy allows `iam:PassRole` on every role. */
export const iamPassRoleStar: Rule = defineResourceRule(
  {
    id: 'PAL-IAM-003',
    title: 'IAM policy allows `iam:PassRole` on every role',
    severity: 'high',
    description: '`iam:PassRole` on `*` lets the principal hand any role in the account, including administrator roles, to a service it controls (a new function, stack or instance): privilege escalation.',
    remediation: 'Restrict `iam:PassRole` to the ARNs of the roles it must pass, and add an `iam:PassedToService` condition.',
    frameworks: { owaspServerless: ['SAS-4'], palisade: ['least-privilege'] },
    checkov: [],
  },
  policyRule((statements) => (statements.some((s) => allows(s, 'iam:PassRole') && allResources(s)) ? '`iam:PassRole` is allowed on `Resource: "*"`' : undefined)),
);

/** Privilege-escalation methods (Rhino Security Labs' research, as Cloudsplaining lists them). */
export const ESCALATION_METHODS: Readonly<Record<string, readonly string[]>> = {
  CreateNewPolicyVersion: ['iam:CreatePolicyVersion'],
  SetExistingDefaultPolicyVersion: ['iam:SetDefaultPolicyVersion'],
  CreateAccessKey: ['iam:CreateAccessKey'],
  CreateLoginProfile: ['iam:CreateLoginProfile'],
  UpdateLoginProfile: ['iam:UpdateLoginProfile'],
  AttachUserPolicy: ['iam:AttachUserPolicy'],
  AttachGroupPolicy: ['iam:AttachGroupPolicy'],
  AttachRolePolicy: ['iam:AttachRolePolicy', 'sts:AssumeRole'],
  PutUserPolicy: ['iam:PutUserPolicy'],
  PutGroupPolicy: ['iam:PutGroupPolicy'],
  PutRolePolicy: ['iam:PutRolePolicy', 'sts:AssumeRole'],
  AddUserToGroup: ['iam:AddUserToGroup'],
  UpdateRolePolicyToAssumeIt: ['iam:UpdateAssumeRolePolicy', 'sts:AssumeRole'],
  PassExistingRoleToNewLambdaThenInvoke: ['iam:PassRole', 'lambda:CreateFunction', 'lambda:InvokeFunction'],
  PassExistingRoleToNewLambdaThenTriggerWithExistingDynamo: ['iam:PassRole', 'lambda:CreateFunction', 'lambda:CreateEventSourceMapping'],
  PassExistingRoleToNewGlueDevEndpoint: ['iam:PassRole', 'glue:CreateDevEndpoint'],
  UpdateExistingGlueDevEndpoint: ['glue:UpdateDevEndpoint'],
  PassExistingRoleToCloudFormation: ['iam:PassRole', 'cloudformation:CreateStack'],
  PassExistingRoleToNewDataPipeline: ['iam:PassRole', 'datapipeline:CreatePipeline'],
  EditExistingLambdaFunctionWithRole: ['lambda:UpdateFunctionCode'],
  PassExistingRoleToNewCodeStarProject: ['iam:PassRole', 'codestar:CreateProject'],
  PassExistingRoleToNewEc2Instance: ['iam:PassRole', 'ec2:RunInstances'],
};

/** The first escalation method a set of statements allows, if any. */
export function escalationMethod(statements: readonly Statement[]): string | undefined {
  for (const [name, actions] of Object.entries(ESCALATION_METHODS)) {
    if (actions.every((action) => statements.some((s) => allows(s, action)))) return name;
  }
  return undefined;
}

/** PAL-IAM-004: IAM policy allows privilege escalation. */
export const iamPrivilegeEscalation: Rule = defineResourceRule(
  {
    id: 'PAL-IAM-004',
    title: 'IAM policy allows privilege escalation',
    severity: 'critical',
    description: 'The policy allows a combination of actions known to let a principal raise its own privileges (for example `iam:PassRole` with `lambda:CreateFunction` and `lambda:InvokeFunction`, or `iam:CreatePolicyVersion`).',
    remediation: 'Remove the escalation actions, or scope them to resources the principal cannot use to gain privileges; use a permissions boundary.',
    frameworks: { owaspServerless: ['SAS-4'], palisade: ['least-privilege'] },
    checkov: ['CKV_AWS_110', 'CKV_AWS_286'],
  },
  policyRule((statements) => {
    const method = escalationMethod(statements);
    return method === undefined ? undefined : `the policy allows privilege escalation by \`${method}\` (${(ESCALATION_METHODS[method] ?? []).join(' + ')})`;
  }),
);

const ADMIN_POLICY = /:policy\/AdministratorAccess$|^AdministratorAccess$/;
const isAdminStatement = (s: Statement) => s.effect === 'Allow' && !s.notAction && s.actions?.includes('*') === true && allResources(s);

function isFunctionRole(role: Resource): boolean {
  const trust = role.type === 'AWS::IAM::Role' ? role.properties.AssumeRolePolicyDocument : role.properties.assume_role_policy;
  return collectText(trust).some((t) => t.includes('lambda.amazonaws.com'));
}

/** Where a role gets an administrator grant, or undefined. */
function adminGrant(role: Resource, template: Template): string | undefined {
  const managed = role.type === 'AWS::IAM::Role' ? role.properties.ManagedPolicyArns : role.properties.managed_policy_arns;
  if (collectText(managed).some((t) => ADMIN_POLICY.test(t) || t.includes(':policy/AdministratorAccess'))) return 'the `AdministratorAccess` managed policy';
  if (policyStatements(role).some(isAdminStatement)) return 'an inline policy allowing `*` on `*`';
  for (const other of template.resources) {
    if (other === role) continue;
    if (other.type === 'aws_iam_role_policy_attachment' && refersTo(other.properties.role, role) && collectText(other.properties.policy_arn).some((t) => t.includes('policy/AdministratorAccess'))) return `\`${other.id}\` attaching \`AdministratorAccess\``;
    if (other.type === 'aws_iam_role_policy' && refersTo(other.properties.role, role) && policyStatements(other).some(isAdminStatement)) return `\`${other.id}\` allowing \`*\` on \`*\``;
    if ((other.type === 'AWS::IAM::Policy' || other.type === 'AWS::IAM::ManagedPolicy') && asList(other.properties.Roles).some((r) => refersTo(r, role)) && policyStatements(other).some(isAdminStatement)) return `\`${other.id}\` allowing \`*\` on \`*\``;
  }
  return undefined;
}

/** PAL-IAM-005: Function runs with an administrator policy. */
export const iamAdminFunction: Rule = {
  id: 'PAL-IAM-005',
  title: 'Function runs with an administrator policy',
  severity: 'critical',
  description: 'A role that Lambda can assume (or a SAM function) has `AdministratorAccess` or an `Allow *` on `*`: code injection in the function becomes control of the account.',
  remediation: 'Give each function its own role with only the actions and resources it uses.',
  frameworks: { cis: ['CIS AWS Foundations 1.16', 'CIS AWS Compute 12.8'], owaspServerless: ['SAS-4'], palisade: ['least-privilege'] },
  checkov: [],
  appliesTo: ['cloudformation', 'serverless', 'terraform', 'terraform-plan'],
  check(template) {
    const hits: RuleHit[] = [];
    for (const r of template.resources) {
      let grant: string | undefined;
      if ((r.type === 'AWS::IAM::Role' || r.type === 'aws_iam_role') && isFunctionRole(r)) grant = adminGrant(r, template);
      if (r.type === 'AWS::Serverless::Function') {
        const policies = asList(get(r.properties, ['Policies']));
        if (policies.some((p) => typeof p === 'string' && ADMIN_POLICY.test(p))) grant = 'the `AdministratorAccess` managed policy';
        else if (policyStatements(r).some(isAdminStatement)) grant = 'an inline policy allowing `*` on `*`';
      }
      if (grant !== undefined) hits.push({ resource: r.id, message: `a function role has ${grant}`, ...(r.line === undefined ? {} : { line: r.line }) });
    }
    return hits;
  },
};

/** Every IAM rule. */
export const iamRules: readonly Rule[] = [iamStarAction, iamStarResource, iamPassRoleStar, iamPrivilegeEscalation, iamAdminFunction];
