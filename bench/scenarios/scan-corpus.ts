// A generated corpus of mixed infrastructure templates for the `palisade scan` benchmark:
// CloudFormation YAML and JSON, SAM, Serverless, Terraform HCL, Terraform plan JSON and Palisade
// manifests, 4 to 12 resources each, about half of them with findings. Deterministic (seeded).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Mulberry32: a small seeded generator; the corpus only needs to be varied and repeatable. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const flag = (r: Rand) => r() < 0.5;

function cfnResource(r: Rand, i: number): string {
  switch (Math.floor(r() * 6)) {
    case 0:
      return `  Fn${i}:\n    Type: AWS::Lambda::Function\n    Properties:\n      Runtime: ${pick(r, ['nodejs22.x', 'python3.12', 'python3.8', 'java21'])}\n      Handler: index.handler\n      Role: !GetAtt Role${i}.Arn\n      Code: { ZipFile: "exports.handler = async () => 1" }\n${flag(r) ? '      TracingConfig: { Mode: Active }\n' : ''}${flag(r) ? `      Environment: { Variables: { TABLE: !Ref Table${i}, STAGE: prod } }\n` : ''}${flag(r) ? '      ReservedConcurrentExecutions: 5\n' : ''}`;
    case 1:
      return `  Role${i}:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n        Statement: [{ Effect: Allow, Principal: { Service: lambda.amazonaws.com }, Action: sts:AssumeRole }]\n      Policies:\n        - PolicyName: p${i}\n          PolicyDocument:\n            Statement:\n              - Effect: Allow\n                Action: ${pick(r, ['"*"', '[dynamodb:GetItem, dynamodb:PutItem]', '[iam:PassRole, lambda:CreateFunction, lambda:InvokeFunction]', '[s3:GetObject]'])}\n                Resource: ${pick(r, ['"*"', '!Sub "arn:aws:s3:::bucket-${AWS::AccountId}/*"'])}\n`;
    case 2:
      return `  Queue${i}:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Sub "q${i}-\${AWS::StackName}"\n${flag(r) ? '      KmsMasterKeyId: alias/aws/sqs\n' : ''}`;
    case 3:
      return `  Table${i}:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      BillingMode: PAY_PER_REQUEST\n      AttributeDefinitions: [{ AttributeName: id, AttributeType: S }]\n      KeySchema: [{ AttributeName: id, KeyType: HASH }]\n${flag(r) ? `      SSESpecification: { SSEEnabled: true, KMSMasterKeyId: !Ref Key${i} }\n` : ''}`;
    case 4:
      return `  Logs${i}:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      LogGroupName: /aws/lambda/f${i}\n${flag(r) ? '      RetentionInDays: 30\n' : ''}`;
    default:
      return `  Method${i}:\n    Type: AWS::ApiGateway::Method\n    Properties:\n      RestApiId: !Ref Api\n      ResourceId: !GetAtt Api.RootResourceId\n      HttpMethod: ${pick(r, ['GET', 'POST', 'OPTIONS'])}\n      AuthorizationType: ${pick(r, ['NONE', 'AWS_IAM', 'COGNITO_USER_POOLS'])}\n`;
  }
}

function cfnTemplate(r: Rand): string {
  const n = 4 + Math.floor(r() * 9);
  return `AWSTemplateFormatVersion: "2010-09-09"\nParameters:\n  Stage: { Type: String, Default: prod }\nResources:\n${Array.from({ length: n }, (_, i) => cfnResource(r, i)).join('')}`;
}

function tfResource(r: Rand, i: number): string {
  switch (Math.floor(r() * 5)) {
    case 0:
      return `resource "aws_lambda_function" "f${i}" {\n  function_name = "f${i}"\n  role          = aws_iam_role.r${i}.arn\n  runtime       = "${pick(r, ['nodejs22.x', 'nodejs16.x', 'python3.12'])}"\n  handler       = "index.handler"\n${flag(r) ? '  kms_key_arn   = aws_kms_key.k.arn\n' : ''}  environment {\n    variables = {\n      STAGE = var.stage\n    }\n  }\n${flag(r) ? '  tracing_config {\n    mode = "Active"\n  }\n' : ''}}\n`;
    case 1:
      return `resource "aws_kms_key" "k${i}" {\n  description         = "k${i}"\n  enable_key_rotation = ${flag(r) ? 'true' : 'var.rotate'}\n}\n`;
    case 2:
      return `resource "aws_iam_policy" "p${i}" {\n  name   = "p${i}"\n  policy = <<EOF\n{\n  "Version": "2012-10-17",\n  "Statement": [{ "Effect": "Allow", "Action": ${pick(r, ['"*"', '["s3:GetObject"]', '["iam:PassRole"]'])}, "Resource": "*" }]\n}\nEOF\n}\n`;
    case 3:
      return `resource "aws_sns_topic" "t${i}" {\n  name = "t${i}"\n${flag(r) ? '  kms_master_key_id = aws_kms_key.k.id\n' : ''}}\n`;
    default:
      return `resource "aws_cloudwatch_log_group" "l${i}" {\n  name              = "/app/l${i}"\n  retention_in_days = ${pick(r, ['30', 'var.retention'])}\n}\n`;
  }
}

function tfTemplate(r: Rand): string {
  const n = 4 + Math.floor(r() * 9);
  return `variable "stage" {\n  default = "prod"\n}\n\nvariable "rotate" {\n  default = false\n}\n\n${Array.from({ length: n }, (_, i) => tfResource(r, i)).join('\n')}`;
}

function planTemplate(r: Rand): string {
  const n = 4 + Math.floor(r() * 9);
  const resources = Array.from({ length: n }, (_, i) => {
    const kind = pick(r, ['aws_sqs_queue', 'aws_kms_key', 'aws_lambda_function', 'aws_dynamodb_table'] as const);
    const values: Record<string, unknown> =
      kind === 'aws_sqs_queue' ? { name: `q${i}`, sqs_managed_sse_enabled: flag(r) } : kind === 'aws_kms_key' ? { enable_key_rotation: flag(r) } : kind === 'aws_lambda_function' ? { function_name: `f${i}`, runtime: pick(r, ['nodejs22.x', 'go1.x']), tracing_config: [{ mode: 'PassThrough' }] } : { name: `t${i}`, server_side_encryption: flag(r) ? [{ enabled: true }] : [] };
    return { address: `${kind}.r${i}`, mode: 'managed', type: kind, name: `r${i}`, values };
  });
  return JSON.stringify({ format_version: '1.2', terraform_version: '1.9.8', planned_values: { root_module: { resources } }, resource_changes: resources.map((x) => ({ address: x.address, change: { actions: ['create'], after: x.values, after_unknown: { arn: true } } })) }, null, 2);
}

function serverlessTemplate(r: Rand): string {
  const n = 2 + Math.floor(r() * 5);
  const fns = Array.from({ length: n }, (_, i) => `  f${i}:\n    handler: src/f${i}.handler\n${flag(r) ? '    reservedConcurrency: 5\n' : ''}${flag(r) ? `    url: true\n` : ''}    events:\n      - http:\n          path: f${i}\n          method: ${pick(r, ['get', 'post'])}\n${flag(r) ? '          authorizer: aws_iam\n' : ''}`).join('');
  return `service: svc\nprovider:\n  name: aws\n  runtime: ${pick(r, ['nodejs22.x', 'nodejs14.x'])}\n  iam:\n    role:\n      statements:\n        - Effect: Allow\n          Action: ${pick(r, ['"dynamodb:*"', '[dynamodb:GetItem]'])}\n          Resource: "*"\nfunctions:\n${fns}resources:\n  Resources:\n    Jobs:\n      Type: AWS::SQS::Queue\n`;
}

function palisadeManifest(r: Rand): string {
  return `name: shop\nsegments:\n  a: {}\n  b: {}\nfunctions:\n  orders:\n    source: functions/orders.ts\n    segment: a\n    secrets: [db-url]\n    invoke: [billing]\n  billing:\n    source: functions/billing.ts\n    segment: ${pick(r, ['a', 'b'])}\n    egress: [${pick(r, ['api.stripe.com:443', '"*.stripe.com:443"'])}]\nroutes:\n  - { path: /, function: orders, public: true }\n  - { path: /admin, function: billing, allow: { roles: [admin], mfa: ${flag(r)} } }\naudit: { mode: ${pick(r, ['sync', 'async'])} }\n`;
}

/** Writes `count` templates under `dir` and returns their paths. */
export function writeScanCorpus(dir: string, count = 1000, seed = 20261202): string[] {
  const r = seeded(seed);
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const slot = i % 20;
    const sub = join(dir, `t${String(i).padStart(4, '0')}`);
    mkdirSync(sub, { recursive: true });
    let file: string;
    let text: string;
    if (slot < 6) [file, text] = ['template.yaml', cfnTemplate(r)];
    else if (slot < 9) [file, text] = ['template.json', JSON.stringify({ AWSTemplateFormatVersion: '2010-09-09', Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: `q${i}` } }, Key: { Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: flag(r) } }, Topic: { Type: 'AWS::SNS::Topic', Properties: {} }, Fn: { Type: 'AWS::Lambda::Function', Properties: { Runtime: 'nodejs22.x', Handler: 'i.h', Role: { 'Fn::GetAtt': ['R', 'Arn'] }, Code: { ZipFile: 'x' } } } } }, null, 2)];
    else if (slot < 12) [file, text] = ['serverless.yml', serverlessTemplate(r)];
    else if (slot < 17) [file, text] = ['main.tf', tfTemplate(r)];
    else if (slot < 19) [file, text] = ['plan.json', planTemplate(r)];
    else {
      [file, text] = ['palisade.yaml', palisadeManifest(r)];
      mkdirSync(join(sub, 'functions'));
      writeFileSync(join(sub, 'functions', 'orders.ts'), "export default { async fetch(r, env) { return new Response(await env.secrets.get('db-url')); } };\n");
      writeFileSync(join(sub, 'functions', 'billing.ts'), 'export default { async fetch() { return new Response("ok"); } };\n');
    }
    writeFileSync(join(sub, file), text);
    files.push(join(sub, file));
  }
  return files;
}
