import type { FunctionSpec, RouteSpec } from '../manifest/index.js';

/** Severities, most severe first. */
export const severities = ['critical', 'high', 'medium', 'low', 'info'] as const;
/** How bad a finding is. */
export type Severity = (typeof severities)[number];

/** The formats the scanner reads. */
export const templateKinds = ['cloudformation', 'serverless', 'terraform', 'terraform-plan', 'palisade'] as const;
/** One of {@link templateKinds}. */
export type TemplateKind = (typeof templateKinds)[number];

/**
 * A value the template does not fix: an unresolved `Ref`, a Terraform expression, or an attribute
 * a plan marks "known after apply". Rules treat it like Checkov does: present, but not comparable.
 */
export interface Unresolved {
  readonly unresolved: string;
}

/**
 * One cloud resource, normalised: CloudFormation resources (and Serverless Framework functions,
 * which are compiled to CloudFormation first) keep their `Properties`; Terraform resources keep
 * their attributes, blocks as arrays.
 */
export interface Resource {
  /** `AWS::Lambda::Function` or `aws_lambda_function` (`data.aws_iam_policy_document` for data sources). */
  readonly type: string;
  /** Logical id (CloudFormation) or `type.name` address (Terraform). */
  readonly id: string;
  readonly properties: Readonly<Record<string, unknown>>;
  /** 1-based line where the resource starts, when known. */
  readonly line?: number;
}

/** Palisade manifest data a rule reads (the typed manifest fields, plus the sections later versions own). */
export interface PalisadeProjectView {
  readonly routes: readonly (Pick<RouteSpec, 'path' | 'function' | 'public'> & {
    readonly index: number;
    readonly methods: readonly string[];
    readonly allow?: { readonly roles: readonly string[] };
    /** The route demands a second factor (`mfa: required`). */
    readonly mfa: boolean;
    readonly line?: number;
  })[];
  /** Segments with the hosts all their functions may reach (`segments.<name>.egress`). */
  readonly segments: readonly { readonly name: string; readonly egress: readonly string[]; readonly line?: number }[];
  /** Roles declared with `mfa: required` (`roles.<name>.mfa`): refused everything without a second factor. */
  readonly mfaRoles: readonly string[];
  readonly functions: readonly (Pick<FunctionSpec, 'name' | 'segment'> & {
    /** Source text of the function, when it could be read. */
    readonly sourceText?: string;
    readonly secrets: readonly string[];
    readonly egress: readonly string[];
    readonly invoke: readonly string[];
    readonly line?: number;
  })[];
  readonly audit?: { readonly mode?: string; readonly line?: number };
}

/** One parsed file. */
export interface Template {
  readonly file: string;
  readonly kind: TemplateKind;
  /** Raw text: secret detection and inline suppressions read it. */
  readonly text: string;
  readonly resources: readonly Resource[];
  /** CloudFormation parameters with their defaults, or Terraform variables with theirs. */
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly palisade?: PalisadeProjectView;
}

/** A file that could not be parsed; the scan goes on with the others. */
export interface ParseFailure {
  readonly file: string;
  readonly message: string;
  readonly line?: number;
}

/** What a rule reports about one resource. */
export interface RuleHit {
  readonly resource: string;
  readonly message: string;
  readonly line?: number;
  /** Stable detail that distinguishes two hits on one resource (for fingerprints). */
  readonly key?: string;
}

/** Frameworks a rule maps to. */
export interface RuleFrameworks {
  /** CIS AWS Foundations / AWS Compute Services Benchmark controls. */
  readonly cis?: readonly string[];
  /** OWASP Serverless Top 10 (2017) items, `SAS-1` … `SAS-10`. */
  readonly owaspServerless?: readonly string[];
  /** Palisade design principles (docs/security), by name. */
  readonly palisade?: readonly string[];
}

/** Everything docs/scan.md and SARIF say about a rule. */
export interface RuleMeta {
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
  readonly description: string;
  readonly remediation: string;
  readonly frameworks: RuleFrameworks;
  /** Checkov checks with the same semantics (empty when none matches). */
  readonly checkov: readonly string[];
  /** Which template kinds the rule reads. */
  readonly appliesTo: readonly TemplateKind[];
}

/** A rule: metadata plus a pure check of one template. */
export interface Rule extends RuleMeta {
  check(template: Template): readonly RuleHit[];
}

/** How a finding was suppressed. */
export interface Suppression {
  readonly kind: 'inline' | 'baseline';
  readonly reason: string;
}

/** One finding, after suppressions. */
export interface Finding {
  readonly ruleId: string;
  readonly severity: Severity;
  readonly title: string;
  readonly file: string;
  readonly line?: number;
  readonly resource: string;
  readonly message: string;
  /** Stable across line moves: rule, file, resource and detail. */
  readonly fingerprint: string;
  readonly suppression?: Suppression;
}

/** The result of a scan. */
export interface ScanReport {
  readonly findings: readonly Finding[];
  readonly failures: readonly ParseFailure[];
  readonly files: readonly { readonly file: string; readonly kind: TemplateKind }[];
  readonly rules: readonly RuleMeta[];
}

/** True when `a` is at least as severe as `b`. */
export function isAtLeast(a: Severity, b: Severity): boolean {
  return severities.indexOf(a) <= severities.indexOf(b);
}
