import { findKnownFormats, isSuspiciousAssignment, maskSecret } from '../detect-secrets.js';
import type { Rule } from '../model.js';
import { get, isPresent, isRecord, isUnresolved, literalString, valueIn } from '../values.js';
import { defineResourceRule, type ResourceCheck } from './define-rule.js';

/** Where each Lambda setting lives, per resource type. */
interface LambdaPaths {
  readonly env: readonly string[];
  readonly kms: readonly string[];
  readonly dlq: readonly string[];
  readonly concurrency: readonly string[];
  readonly runtime: readonly string[];
  readonly tracing: readonly string[];
  readonly vpc: readonly string[];
  readonly codeSigning: readonly string[];
}

const CFN: LambdaPaths = {
  env: ['Environment', 'Variables'],
  kms: ['KmsKeyArn'],
  dlq: ['DeadLetterConfig', 'TargetArn'],
  concurrency: ['ReservedConcurrentExecutions'],
  runtime: ['Runtime'],
  tracing: ['TracingConfig', 'Mode'],
  vpc: ['VpcConfig'],
  codeSigning: ['CodeSigningConfigArn'],
};
const SAM: LambdaPaths = { ...CFN, dlq: ['DeadLetterQueue', 'TargetArn'], tracing: ['Tracing'] };
const TF: LambdaPaths = {
  env: ['environment', 'variables'],
  kms: ['kms_key_arn'],
  dlq: ['dead_letter_config', 'target_arn'],
  concurrency: ['reserved_concurrent_executions'],
  runtime: ['runtime'],
  tracing: ['tracing_config', 'mode'],
  vpc: ['vpc_config'],
  codeSigning: ['code_signing_config_arn'],
};

/** One check over the three function resource types. */
function lambdaChecks(check: (props: Readonly<Record<string, unknown>>, paths: LambdaPaths) => string | undefined): Record<string, ResourceCheck> {
  return {
    'AWS::Lambda::Function': (p) => check(p, CFN),
    'AWS::Serverless::Function': (p) => check(p, SAM),
    aws_lambda_function: (p) => check(p, TF),
  };
}

/**
 * Runtimes past their deprecation date (AWS Lambda runtimes page). Checkov's list, with the runtimes
 * it schedules by date (`nodejs18.x`, `python3.9`, `provided.al2`) and `ruby3.2` already past theirs.
 */
export const DEPRECATED_RUNTIMES = [
  'dotnetcore1.0', 'dotnetcore2.0', 'dotnetcore2.1', 'dotnetcore3.1', 'dotnet5.0', 'dotnet6', 'dotnet7',
  'nodejs', 'nodejs4.3', 'nodejs4.3-edge', 'nodejs6.10', 'nodejs8.10', 'nodejs10.x', 'nodejs12.x', 'nodejs14.x', 'nodejs16.x', 'nodejs18.x',
  'python2.7', 'python3.6', 'python3.7', 'python3.8', 'python3.9',
  'ruby2.5', 'ruby2.7', 'ruby3.2', 'java8', 'go1.x', 'provided', 'provided.al2',
] as const;

/** PAL-LAMBDA-001: Lambda environment variables hold credentials. */
export const lambdaEnvironmentCredentials: Rule = defineResourceRule(
  {
    id: 'PAL-LAMBDA-001',
    title: 'Lambda environment variables hold credentials',
    severity: 'critical',
    description: 'An environment variable holds a literal credential (a known key format, or a high-entropy value under a secret-like name). Environment variables are readable by anyone who can read the function configuration and end up in logs and crash dumps. Checkov CKV_AWS_45 looks for known formats only; this rule also reports high-entropy values under secret-like names.',
    remediation: 'Store the value in AWS Secrets Manager or SSM Parameter Store (SecureString) and read it at run time, or pass a dynamic reference (`{{resolve:secretsmanager:…}}`); rotate the exposed credential.',
    frameworks: { cis: ['CIS AWS Compute 12.3'], owaspServerless: ['SAS-7'], palisade: ['secrets-never-leak'] },
    checkov: ['CKV_AWS_45'],
  },
  lambdaChecks((props, paths) => {
    const vars = get(props, paths.env);
    if (!isRecord(vars) || isUnresolved(vars)) return undefined;
    for (const [name, raw] of Object.entries(vars)) {
      const value = literalString(raw);
      if (value === undefined) continue;
      const known = findKnownFormats(value)[0];
      if (known !== undefined) return `environment variable \`${name}\` holds a ${known.kind} (\`${maskSecret(known.match)}\`)`;
      if (isSuspiciousAssignment(name, value)) return `environment variable \`${name}\` holds a literal secret (\`${maskSecret(value)}\`)`;
    }
    return undefined;
  }),
);

/** PAL-LAMBDA-002: Lambda environment variables not encrypted with a customer managed key. */
export const lambdaEnvironmentEncryption: Rule = defineResourceRule(
  {
    id: 'PAL-LAMBDA-002',
    title: 'Lambda environment variables not encrypted with a customer managed key',
    severity: 'low',
    description: 'The function has environment variables but no KMS key of its own, so anyone with `lambda:GetFunctionConfiguration` reads them in clear and key use is not auditable per function.',
    remediation: 'Set `KmsKeyArn` (`kms_key_arn`, `kmsKeyArn` in serverless.yml) to a customer managed KMS key.',
    frameworks: { cis: ['CIS AWS Compute 12.11'], owaspServerless: ['SAS-7'], palisade: ['secrets-never-leak'] },
    checkov: ['CKV_AWS_173'],
  },
  lambdaChecks((props, paths) => {
    const vars = get(props, paths.env);
    const hasVars = isUnresolved(vars) || (isRecord(vars) && Object.keys(vars).length > 0);
    return hasVars && !isPresent(get(props, paths.kms)) ? 'environment variables are set but no `KmsKeyArn` encrypts them' : undefined;
  }),
);

/** PAL-LAMBDA-003: Lambda function has no dead-letter queue. */
export const lambdaDeadLetterQueue: Rule = defineResourceRule(
  {
    id: 'PAL-LAMBDA-003',
    title: 'Lambda function has no dead-letter queue',
    severity: 'low',
    description: 'Failed asynchronous invocations are dropped after the retries, so failures (and attacks that cause them) leave no trace to investigate.',
    remediation: 'Set `DeadLetterConfig.TargetArn` (`dead_letter_config`, `onError` in serverless.yml) to an SQS queue or SNS topic.',
    frameworks: { owaspServerless: ['SAS-5', 'SAS-10'], palisade: ['assume-breach'] },
    checkov: ['CKV_AWS_116'],
  },
  lambdaChecks((props, paths) => (isPresent(get(props, paths.dlq)) ? undefined : 'no dead-letter queue is configured')),
);

/** PAL-LAMBDA-004: Lambda function has no reserved concurrency. */
export const lambdaReservedConcurrency: Rule = defineResourceRule(
  {
    id: 'PAL-LAMBDA-004',
    title: 'Lambda function has no reserved concurrency',
    severity: 'low',
    description: 'Without a function-level concurrency limit, a flood of requests scales the function until the account limit: a denial of wallet, and starvation of every other function.',
    remediation: 'Set `ReservedConcurrentExecutions` (`reserved_concurrent_executions`, `reservedConcurrency`) to the concurrency the function needs.',
    frameworks: { owaspServerless: ['SAS-8'], palisade: ['least-privilege'] },
    checkov: ['CKV_AWS_115'],
  },
  lambdaChecks((props, paths) => (isPresent(get(props, paths.concurrency)) ? undefined : 'no reserved concurrency limits the function')),
);

/** PAL-LAMBDA-005: Lambda function uses a deprecated runtime. */
export const lambdaDeprecatedRuntime: Rule = defineResourceRule(
  {
    id: 'PAL-LAMBDA-005',
    title: 'Lambda function uses a deprecated runtime',
    severity: 'high',
    description: 'The runtime no longer receives security patches from AWS.',
    remediation: 'Move to a supported runtime (for example `nodejs22.x`, `python3.13`, `java21`, `provided.al2023`).',
    frameworks: { cis: ['CIS AWS Compute 12.10'], owaspServerless: ['SAS-6'], palisade: ['vetted-primitives'] },
    checkov: ['CKV_AWS_363'],
  },
  lambdaChecks((props, paths) => {
    const runtime = get(props, paths.runtime);
    return typeof runtime === 'string' && (DEPRECATED_RUNTIMES as readonly string[]).includes(runtime) ? `runtime \`${runtime}\` is deprecated` : undefined;
  }),
);

/** PAL-LAMBDA-006: Lambda function URL allows unauthenticated access. */
export const lambdaUrlWithoutAuth: Rule = defineResourceRule(
  {
    id: 'PAL-LAMBDA-006',
    title: 'Lambda function URL allows unauthenticated access',
    severity: 'high',
    description: 'A function URL with `AuthType: NONE` lets anyone on the internet invoke the function, bypassing any gateway, authorizer or WAF.',
    remediation: 'Use `AuthType: AWS_IAM` (`authorization_type = "AWS_IAM"`, `url: { authorizer: aws_iam }`) or put the function behind an API with an authorizer.',
    frameworks: { cis: ['CIS AWS Compute 12.6'], owaspServerless: ['SAS-2'], palisade: ['verify-explicitly'] },
    checkov: ['CKV_AWS_258'],
  },
  {
    'AWS::Lambda::Url': (p) => (get(p, ['AuthType']) === 'NONE' ? 'the function URL has `AuthType: NONE`' : undefined),
    'AWS::Serverless::Function': (p) => (get(p, ['FunctionUrlConfig', 'AuthType']) === 'NONE' ? 'the function URL has `AuthType: NONE`' : undefined),
    aws_lambda_function_url: (p) => (get(p, ['authorization_type']) === 'NONE' ? 'the function URL has `authorization_type = "NONE"`' : undefined),
  },
);

/** PAL-LAMBDA-007: Lambda function does not validate code signatures. */
export const lambdaCodeSigning: Rule = defineResourceRule(
  {
    id: 'PAL-LAMBDA-007',
    title: 'Lambda function does not validate code signatures',
    severity: 'low',
    description: 'Without a code-signing configuration, anyone able to update the function code can deploy unsigned, tampered code.',
    remediation: 'Create an `AWS::Lambda::CodeSigningConfig` (`aws_lambda_code_signing_config`) with an enforce policy and set `CodeSigningConfigArn` on the function.',
    frameworks: { owaspServerless: ['SAS-3', 'SAS-6'], palisade: ['vetted-primitives'] },
    checkov: ['CKV_AWS_272'],
  },
  lambdaChecks((props, paths) => (isPresent(get(props, paths.codeSigning)) ? undefined : 'no `CodeSigningConfigArn` is set')),
);

/** PAL-LAMBDA-008: Lambda function has no X-Ray tracing. */
export const lambdaTracing: Rule = defineResourceRule(
  {
    id: 'PAL-LAMBDA-008',
    title: 'Lambda function has no X-Ray tracing',
    severity: 'low',
    description: 'Without tracing, the path of a request through functions and services cannot be reconstructed after an incident.',
    remediation: 'Set `TracingConfig.Mode: Active` (`tracing_config { mode = "Active" }`, `Tracing: Active` in SAM, `provider.tracing.lambda: true`).',
    frameworks: { owaspServerless: ['SAS-5'], palisade: ['assume-breach'] },
    checkov: ['CKV_AWS_50'],
  },
  lambdaChecks((props, paths) => (valueIn(get(props, paths.tracing), ['Active', 'PassThrough']) ? undefined : 'X-Ray tracing is not enabled')),
);

/** PAL-LAMBDA-009: Lambda function is not in a VPC. */
export const lambdaInVpc: Rule = defineResourceRule(
  {
    id: 'PAL-LAMBDA-009',
    title: 'Lambda function is not in a VPC',
    severity: 'low',
    description: 'A function outside a VPC has unrestricted outbound internet access and cannot be limited by security groups or VPC endpoints; required where a function reaches private data stores or egress must be controlled.',
    remediation: 'Set `VpcConfig` (`vpc_config`, `vpc` in serverless.yml) with private subnets and a security group; suppress with a reason where no VPC is required.',
    frameworks: { owaspServerless: ['SAS-3'], palisade: ['least-privilege'] },
    checkov: ['CKV_AWS_117'],
  },
  lambdaChecks((props, paths) => (isPresent(get(props, paths.vpc)) ? undefined : 'the function is not attached to a VPC')),
);

/** Every Lambda rule. */
export const lambdaRules: readonly Rule[] = [
  lambdaEnvironmentCredentials,
  lambdaEnvironmentEncryption,
  lambdaDeadLetterQueue,
  lambdaReservedConcurrency,
  lambdaDeprecatedRuntime,
  lambdaUrlWithoutAuth,
  lambdaCodeSigning,
  lambdaTracing,
  lambdaInVpc,
];
