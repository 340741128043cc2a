import type { Rule, RuleHit } from '../model.js';
import { asList, get, isPresent, isTrueOrUnresolved, isUnresolved, refersTo, valueIn } from '../values.js';
import { defineResourceRule } from './define-rule.js';

const SECRET_TYPES: Readonly<Record<string, true>> = { 'AWS::SecretsManager::Secret': true, aws_secretsmanager_secret: true };

/** PAL-SECRETSMANAGER-001: Secrets Manager secret has no automatic rotation. */
export const secretRotation: Rule = {
  id: 'PAL-SECRETSMANAGER-001',
  title: 'Secrets Manager secret has no automatic rotation',
  severity: 'medium',
  description: 'A secret that never rotates stays valid forever once leaked. A secret counts as rotated when a rotation schedule in the same template refers to it.',
  remediation: 'Add an `AWS::SecretsManager::RotationSchedule` (`aws_secretsmanager_secret_rotation`) for the secret, with a rotation Lambda or a managed rotation.',
  frameworks: { cis: ['CIS AWS Compute 12.3'], owaspServerless: ['SAS-7'], palisade: ['secrets-never-leak'] },
  checkov: ['CKV2_AWS_57'],
  appliesTo: ['cloudformation', 'serverless', 'terraform', 'terraform-plan'],
  check(template) {
    const rotations = template.resources.filter((r) => r.type === 'AWS::SecretsManager::RotationSchedule' || r.type === 'aws_secretsmanager_secret_rotation');
    const hits: RuleHit[] = [];
    for (const secret of template.resources) {
      if (SECRET_TYPES[secret.type] !== true) continue;
      const rotated = rotations.some((r) => refersTo(r.type === 'aws_secretsmanager_secret_rotation' ? r.properties.secret_id : r.properties.SecretId, secret));
      if (!rotated) hits.push({ resource: secret.id, message: 'no rotation schedule refers to the secret', ...(secret.line === undefined ? {} : { line: secret.line }) });
    }
    return hits;
  },
};

/** Key specs that support automatic rotation (symmetric encryption keys only). */
const rotatableKeySpec = (spec: unknown) => spec === undefined || spec === 'SYMMETRIC_DEFAULT' || isUnresolved(spec);

/** PAL-KMS-001: KMS key has no automatic rotation. */
export const kmsRotation: Rule = defineResourceRule(
  {
    id: 'PAL-KMS-001',
    title: 'KMS key has no automatic rotation',
    severity: 'medium',
    description: 'A symmetric customer managed key without rotation keeps the same key material for its whole life. Asymmetric and HMAC keys, which AWS cannot rotate, are not reported.',
    remediation: 'Set `EnableKeyRotation: true` (`enable_key_rotation = true`).',
    frameworks: { cis: ['CIS AWS Foundations 3.6'], owaspServerless: ['SAS-7'], palisade: ['vetted-primitives'] },
    checkov: ['CKV_AWS_7'],
  },
  {
    'AWS::KMS::Key': (p) => (!rotatableKeySpec(get(p, ['KeySpec'])) || valueIn(get(p, ['EnableKeyRotation']), [true]) ? undefined : 'key rotation is not enabled'),
    aws_kms_key: (p) => (!rotatableKeySpec(get(p, ['customer_master_key_spec'])) || valueIn(get(p, ['enable_key_rotation']), [true]) ? undefined : 'key rotation is not enabled'),
  },
);

/** PAL-SQS-001: SQS queue is not encrypted. */
export const sqsEncryption: Rule = defineResourceRule(
  {
    id: 'PAL-SQS-001',
    title: 'SQS queue is not encrypted',
    severity: 'medium',
    description: 'Messages are stored without server-side encryption.',
    remediation: 'Set `KmsMasterKeyId` (`kms_master_key_id`) to a KMS key, or `SqsManagedSseEnabled: true` (`sqs_managed_sse_enabled = true`).',
    frameworks: { owaspServerless: ['SAS-3'], palisade: ['secrets-never-leak'] },
    checkov: ['CKV_AWS_27'],
  },
  {
    'AWS::SQS::Queue': (p) => (isPresent(get(p, ['KmsMasterKeyId'])) || isTrueOrUnresolved(get(p, ['SqsManagedSseEnabled'])) ? undefined : 'the queue has no server-side encryption'),
    aws_sqs_queue: (p) => (isPresent(get(p, ['kms_master_key_id'])) || isTrueOrUnresolved(get(p, ['sqs_managed_sse_enabled'])) ? undefined : 'the queue has no server-side encryption'),
  },
);

/** PAL-SNS-001: SNS topic is not encrypted. */
export const snsEncryption: Rule = defineResourceRule(
  {
    id: 'PAL-SNS-001',
    title: 'SNS topic is not encrypted',
    severity: 'medium',
    description: 'Messages are stored without server-side encryption.',
    remediation: 'Set `KmsMasterKeyId` (`kms_master_key_id`) to a KMS key.',
    frameworks: { owaspServerless: ['SAS-3'], palisade: ['secrets-never-leak'] },
    checkov: ['CKV_AWS_26'],
  },
  {
    'AWS::SNS::Topic': (p) => (isPresent(get(p, ['KmsMasterKeyId'])) ? undefined : 'the topic has no server-side encryption'),
    aws_sns_topic: (p) => (isPresent(get(p, ['kms_master_key_id'])) ? undefined : 'the topic has no server-side encryption'),
  },
);

/** PAL-DYNAMODB-001: DynamoDB table is not encrypted with a customer managed key. */
export const dynamoDbEncryption: Rule = defineResourceRule(
  {
    id: 'PAL-DYNAMODB-001',
    title: 'DynamoDB table is not encrypted with a customer managed key',
    severity: 'medium',
    description: 'The table uses the AWS owned key: access to the data cannot be restricted or audited through a key policy.',
    remediation: 'Set `SSESpecification: { SSEEnabled: true, SSEType: KMS, KMSMasterKeyId: … }` (`server_side_encryption { enabled = true, kms_key_arn = … }`).',
    frameworks: { owaspServerless: ['SAS-3'], palisade: ['secrets-never-leak'] },
    checkov: ['CKV_AWS_119'],
  },
  {
    'AWS::DynamoDB::Table': (p) => (isTrueOrUnresolved(get(p, ['SSESpecification', 'SSEEnabled'])) && get(p, ['SSESpecification', 'KMSMasterKeyId']) !== undefined ? undefined : 'server-side encryption with a customer managed key is not enabled'),
    aws_dynamodb_table: (p) => (valueIn(get(p, ['server_side_encryption', 'enabled']), [true]) ? undefined : 'server-side encryption with a customer managed key is not enabled'),
  },
);

/** PAL-LOGS-001: CloudWatch log group has no retention. */
export const logRetention: Rule = defineResourceRule(
  {
    id: 'PAL-LOGS-001',
    title: 'CloudWatch log group has no retention',
    severity: 'low',
    description: 'Logs are kept forever by default: personal data and secrets that slip into logs accumulate without limit.',
    remediation: 'Set `RetentionInDays` (`retention_in_days`) to the period your policy requires.',
    frameworks: { owaspServerless: ['SAS-5'], palisade: ['assume-breach'] },
    checkov: ['CKV_AWS_66'],
  },
  {
    'AWS::Logs::LogGroup': (p) => (isPresent(get(p, ['RetentionInDays'])) ? undefined : 'no retention period is set'),
    aws_cloudwatch_log_group: (p) => (isPresent(get(p, ['retention_in_days'])) ? undefined : 'no retention period is set'),
  },
);

/** PAL-LOGS-002: CloudWatch log group is not encrypted with a KMS key. */
export const logEncryption: Rule = defineResourceRule(
  {
    id: 'PAL-LOGS-002',
    title: 'CloudWatch log group is not encrypted with a KMS key',
    severity: 'low',
    description: 'Log data is encrypted only with the service key; access cannot be limited through a key policy.',
    remediation: 'Set `KmsKeyId` (`kms_key_id`) to a KMS key whose policy allows the CloudWatch Logs service.',
    frameworks: { owaspServerless: ['SAS-5'], palisade: ['secrets-never-leak'] },
    checkov: ['CKV_AWS_158'],
  },
  {
    'AWS::Logs::LogGroup': (p) => (isPresent(get(p, ['KmsKeyId'])) ? undefined : 'no KMS key encrypts the log group'),
    aws_cloudwatch_log_group: (p) => (isPresent(get(p, ['kms_key_id'])) ? undefined : 'no KMS key encrypts the log group'),
  },
);

function sfnLogging(level: unknown, destinations: unknown): string | undefined {
  if (!isPresent(level) && !isPresent(destinations)) return 'no logging configuration';
  if (level === 'OFF' || !isPresent(level)) return 'logging level is `OFF`';
  if (!isPresent(destinations)) return 'no log destination is set';
  return undefined;
}

/** PAL-SFN-001: Step Functions state machine has no logging. */
export const stepFunctionsLogging: Rule = defineResourceRule(
  {
    id: 'PAL-SFN-001',
    title: 'Step Functions state machine has no logging',
    severity: 'medium',
    description: 'Without execution logging, failed and manipulated workflow executions leave no record. (Checkov CKV_AWS_285 checks a different setting, `include_execution_data`, and is not an equivalent.)',
    remediation: 'Set `LoggingConfiguration` with `Level: ALL` or `ERROR` and a CloudWatch Logs destination (`logging_configuration { level = "ALL", log_destination = … }`).',
    frameworks: { owaspServerless: ['SAS-5'], palisade: ['assume-breach'] },
    checkov: [],
  },
  {
    'AWS::StepFunctions::StateMachine': (p) => sfnLogging(get(p, ['LoggingConfiguration', 'Level']), asList(get(p, ['LoggingConfiguration', 'Destinations']))),
    'AWS::Serverless::StateMachine': (p) => sfnLogging(get(p, ['Logging', 'Level']), asList(get(p, ['Logging', 'Destinations']))),
    aws_sfn_state_machine: (p) => {
      const config = get(p, ['logging_configuration']);
      if (isUnresolved(config)) return undefined;
      return sfnLogging(get(config, ['level']), get(config, ['log_destination']));
    },
  },
);

/** Every data-store, key and logging rule. */
export const dataRules: readonly Rule[] = [secretRotation, kmsRotation, sqsEncryption, snsEncryption, dynamoDbEncryption, logRetention, logEncryption, stepFunctionsLogging];

