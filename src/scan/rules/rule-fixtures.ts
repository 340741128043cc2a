// Fixtures for every rule: a failing and a passing example per framework, written from the AWS
// resource documentation (CloudFormation resource reference, Terraform AWS provider, Serverless
// Framework `serverless.yml` reference). Imported by rules.test.ts only.

/** A failing and a passing text. */
export interface Pair {
  readonly fail: string;
  readonly pass: string;
}

/** Fixtures of one rule: CloudFormation YAML (its JSON form is derived), Serverless, Terraform (its plan is derived). */
export interface RuleFixtures {
  readonly cfn?: Pair;
  readonly sls?: Pair;
  readonly tf?: Pair;
  readonly palisade?: Pair & { readonly sources?: Readonly<Record<string, string>> };
}

const cfn = (resources: string, parameters = '') => `AWSTemplateFormatVersion: "2010-09-09"\n${parameters}Resources:\n${resources}`;

// ---------- Lambda ----------

const CFN_FN: Readonly<Record<string, string>> = {
  Runtime: 'nodejs22.x',
  Handler: 'index.handler',
  Role: '!GetAtt FnRole.Arn',
  Code: '{ ZipFile: "exports.handler = async () => ({ statusCode: 200 })" }',
  KmsKeyArn: '!GetAtt EnvKey.Arn',
  Environment: '{ Variables: { TABLE_NAME: orders } }',
  DeadLetterConfig: '{ TargetArn: !GetAtt FailedEvents.Arn }',
  ReservedConcurrentExecutions: '10',
  TracingConfig: '{ Mode: Active }',
  VpcConfig: '{ SubnetIds: [subnet-0a1b2c3d], SecurityGroupIds: [sg-0a1b2c3d] }',
  CodeSigningConfigArn: '!Ref SigningConfig',
};

function cfnFunction(overrides: Readonly<Record<string, string | null>> = {}): string {
  const props = { ...CFN_FN, ...overrides };
  const lines = Object.entries(props)
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([k, v]) => `      ${k}: ${v}`);
  return cfn(`  Orders:\n    Type: AWS::Lambda::Function\n    Properties:\n${lines.join('\n')}\n`);
}

const TF_FN: Readonly<Record<string, string>> = {
  function_name: '"orders"',
  role: 'aws_iam_role.orders.arn',
  handler: '"index.handler"',
  runtime: '"nodejs22.x"',
  filename: '"orders.zip"',
  kms_key_arn: 'aws_kms_key.env.arn',
  reserved_concurrent_executions: '10',
  code_signing_config_arn: 'aws_lambda_code_signing_config.signing.arn',
  environment: '{\n    variables = {\n      TABLE_NAME = "orders"\n    }\n  }',
  dead_letter_config: '{\n    target_arn = aws_sqs_queue.failed.arn\n  }',
  tracing_config: '{\n    mode = "Active"\n  }',
  vpc_config: '{\n    subnet_ids         = ["subnet-0a1b2c3d"]\n    security_group_ids = ["sg-0a1b2c3d"]\n  }',
};
const TF_BLOCKS = new Set(['environment', 'dead_letter_config', 'tracing_config', 'vpc_config']);

function tfFunction(overrides: Readonly<Record<string, string | null>> = {}): string {
  const props = { ...TF_FN, ...overrides };
  const lines = Object.entries(props)
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([k, v]) => (TF_BLOCKS.has(k) ? `  ${k} ${v}` : `  ${k} = ${v}`));
  return `resource "aws_lambda_function" "orders" {\n${lines.join('\n')}\n}\n`;
}

const SLS_FN: Readonly<Record<string, string>> = {
  handler: 'index.handler',
  runtime: 'nodejs22.x',
  kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  environment: '{ TABLE_NAME: orders }',
  onError: 'arn:aws:sns:eu-west-1:123456789012:orders-failed',
  reservedConcurrency: '10',
  tracing: 'Active',
  vpc: '{ securityGroupIds: [sg-0a1b2c3d], subnetIds: [subnet-0a1b2c3d] }',
};

function slsFunction(overrides: Readonly<Record<string, string | null>> = {}, codeSigning = true, extra = ''): string {
  const props = { ...SLS_FN, ...overrides };
  const lines = Object.entries(props)
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([k, v]) => `    ${k}: ${v}`);
  const ext = codeSigning ? 'resources:\n  extensions:\n    OrdersLambdaFunction:\n      Properties:\n        CodeSigningConfigArn: arn:aws:lambda:eu-west-1:123456789012:code-signing-config:csc-0a1b2c3d4e5f\n' : '';
  return `service: shop\nframeworkVersion: "3"\nprovider:\n  name: aws\n  region: eu-west-1\nfunctions:\n  orders:\n${lines.join('\n')}\n${extra}${ext}`;
}

const lambda = (cfnOverride: Record<string, string | null>, tfOverride: Record<string, string | null>, slsOverride: Record<string, string | null>, slsCodeSigning = true): RuleFixtures => ({
  cfn: { fail: cfnFunction(cfnOverride), pass: cfnFunction() },
  tf: { fail: tfFunction(tfOverride), pass: tfFunction() },
  sls: { fail: slsFunction(slsOverride, slsCodeSigning), pass: slsFunction() },
});

// ---------- API Gateway ----------

const cfnMethod = (auth: string, method = 'GET') => cfn(`  Api:\n    Type: AWS::ApiGateway::RestApi\n    Properties: { Name: shop }\n  GetOrders:\n    Type: AWS::ApiGateway::Method\n    Properties:\n      RestApiId: !Ref Api\n      ResourceId: !GetAtt Api.RootResourceId\n      HttpMethod: ${method}\n      AuthorizationType: ${auth}\n      Integration: { Type: MOCK }\n`);
const tfMethod = (auth: string) => `resource "aws_api_gateway_method" "get_orders" {\n  rest_api_id   = aws_api_gateway_rest_api.shop.id\n  resource_id   = aws_api_gateway_rest_api.shop.root_resource_id\n  http_method   = "GET"\n  authorization = "${auth}"\n}\n`;
const slsHttp = (event: string, providerExtra = '') => `service: shop\nprovider:\n  name: aws\n  runtime: nodejs22.x\n${providerExtra}functions:\n  orders:\n    handler: index.handler\n    events:\n      - http:\n${event}`;

const cfnStage = (extra: string) => cfn(`  Api:\n    Type: AWS::ApiGateway::RestApi\n    Properties: { Name: shop }\n  Prod:\n    Type: AWS::ApiGateway::Stage\n    Properties:\n      RestApiId: !Ref Api\n      DeploymentId: !Ref Deployment\n      StageName: prod\n${extra}`);
const tfStage = (extra: string) => `resource "aws_api_gateway_rest_api" "shop" {\n  name = "shop"\n}\n\nresource "aws_api_gateway_stage" "prod" {\n  rest_api_id   = aws_api_gateway_rest_api.shop.id\n  deployment_id = aws_api_gateway_deployment.shop.id\n  stage_name    = "prod"\n${extra}}\n`;

// ---------- IAM ----------

const cfnRolePolicy = (statement: string) => cfn(`  FnRole:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n        Version: "2012-10-17"\n        Statement:\n          - Effect: Allow\n            Principal: { Service: [lambda.amazonaws.com] }\n            Action: ["sts:AssumeRole"]\n      Policies:\n        - PolicyName: orders\n          PolicyDocument:\n            Version: "2012-10-17"\n            Statement:\n${statement}`);
const tfPolicy = (statementJson: string) => `resource "aws_iam_policy" "orders" {\n  name   = "orders"\n  policy = <<EOF\n{\n  "Version": "2012-10-17",\n  "Statement": [${statementJson}]\n}\nEOF\n}\n`;
const tfPolicyDocument = (statementHcl: string) => `data "aws_iam_policy_document" "orders" {\n  statement {\n${statementHcl}  }\n}\n`;
const slsStatements = (statement: string) => `service: shop\nprovider:\n  name: aws\n  runtime: nodejs22.x\n  iam:\n    role:\n      statements:\n${statement}functions:\n  orders:\n    handler: index.handler\n`;

const iam = (fail: { cfn: string; tf: string; sls: string }, pass: { cfn: string; tf: string; sls: string }): RuleFixtures => ({
  cfn: { fail: cfnRolePolicy(fail.cfn), pass: cfnRolePolicy(pass.cfn) },
  tf: { fail: fail.tf, pass: pass.tf },
  sls: { fail: slsStatements(fail.sls), pass: slsStatements(pass.sls) },
});

const cfnStatement = (action: string, resource: string) => `              - Effect: Allow\n                Action: ${action}\n                Resource: ${resource}\n`;
const slsStatement = (action: string, resource: string) => `        - Effect: Allow\n          Action: ${action}\n          Resource: ${resource}\n`;
const jsonStatement = (action: string, resource: string) => `{ "Effect": "Allow", "Action": ${action}, "Resource": ${resource} }`;

const ORDERS_TABLE = 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders';

// ---------- Palisade ----------

const manifest = (body: string) => `name: shop\nsegments:\n  storefront: {}\n  payments: {}\n${body}`;

/** Fixtures per rule id. */
export const ruleFixtures: Readonly<Record<string, RuleFixtures>> = {
  'PAL-LAMBDA-001': lambda(
    { Environment: '{ Variables: { TABLE_NAME: orders, AWS_ACCESS_KEY_ID: AKIAZ3MDQ7EXAMPLE2KQ } }' },
    { environment: '{\n    variables = {\n      DB_PASSWORD = "x9Vq#2LmT7pR!kW4"\n    }\n  }' },
    { environment: '{ TABLE_NAME: orders, STRIPE_KEY: sk_live_4eC39HqLyjWDarjtT1zdp7dc }' },
  ),
  'PAL-LAMBDA-002': lambda({ KmsKeyArn: null }, { kms_key_arn: null }, { kmsKeyArn: null }),
  'PAL-LAMBDA-003': lambda({ DeadLetterConfig: null }, { dead_letter_config: null }, { onError: null }),
  'PAL-LAMBDA-004': lambda({ ReservedConcurrentExecutions: null }, { reserved_concurrent_executions: null }, { reservedConcurrency: null }),
  'PAL-LAMBDA-005': lambda({ Runtime: 'python3.8' }, { runtime: '"nodejs16.x"' }, { runtime: 'go1.x' }),
  'PAL-LAMBDA-006': {
    cfn: {
      fail: cfn('  OrdersUrl:\n    Type: AWS::Lambda::Url\n    Properties:\n      TargetFunctionArn: !GetAtt Orders.Arn\n      AuthType: NONE\n'),
      pass: cfn('  OrdersUrl:\n    Type: AWS::Lambda::Url\n    Properties:\n      TargetFunctionArn: !GetAtt Orders.Arn\n      AuthType: AWS_IAM\n'),
    },
    tf: {
      fail: 'resource "aws_lambda_function_url" "orders" {\n  function_name      = aws_lambda_function.orders.function_name\n  authorization_type = "NONE"\n}\n',
      pass: 'resource "aws_lambda_function_url" "orders" {\n  function_name      = aws_lambda_function.orders.function_name\n  authorization_type = "AWS_IAM"\n}\n',
    },
    sls: { fail: slsFunction({ url: 'true' }), pass: slsFunction({ url: '{ authorizer: aws_iam }' }) },
  },
  'PAL-LAMBDA-007': lambda({ CodeSigningConfigArn: null }, { code_signing_config_arn: null }, {}, false),
  'PAL-LAMBDA-008': lambda({ TracingConfig: null }, { tracing_config: null }, { tracing: null }),
  'PAL-LAMBDA-009': lambda({ VpcConfig: null }, { vpc_config: null }, { vpc: null }),

  'PAL-APIGW-001': {
    cfn: { fail: cfnMethod('NONE'), pass: cfnMethod('AWS_IAM') },
    tf: { fail: tfMethod('NONE'), pass: tfMethod('AWS_IAM') },
    sls: { fail: slsHttp('          path: orders\n          method: get\n'), pass: slsHttp('          path: orders\n          method: get\n          authorizer: aws_iam\n') },
  },
  'PAL-APIGW-002': {
    cfn: { fail: cfnStage(''), pass: cfnStage('      AccessLogSetting:\n        DestinationArn: !GetAtt AccessLogs.Arn\n        Format: $context.requestId\n') },
    tf: { fail: tfStage(''), pass: tfStage('  access_log_settings {\n    destination_arn = aws_cloudwatch_log_group.access.arn\n    format          = "$context.requestId"\n  }\n') },
    sls: { fail: slsHttp('          path: orders\n          method: get\n'), pass: slsHttp('          path: orders\n          method: get\n', '  logs:\n    restApi: true\n') },
  },
  'PAL-APIGW-003': {
    cfn: {
      fail: cfnStage(''),
      pass: cfnStage('  ProdWaf:\n    Type: AWS::WAFv2::WebACLAssociation\n    Properties:\n      WebACLArn: !GetAtt Acl.Arn\n      ResourceArn: !Sub "arn:aws:apigateway:${AWS::Region}::/restapis/${Api}/stages/${Prod}"\n'),
    },
    tf: {
      fail: tfStage(''),
      pass: `${tfStage('')}\nresource "aws_wafv2_web_acl_association" "prod" {\n  resource_arn = aws_api_gateway_stage.prod.arn\n  web_acl_arn  = aws_wafv2_web_acl.shop.arn\n}\n`,
    },
    sls: {
      fail: slsHttp('          path: orders\n          method: get\n'),
      pass: `${slsHttp('          path: orders\n          method: get\n')}resources:\n  Resources:\n    ApiWaf:\n      Type: AWS::WAFv2::WebACLAssociation\n      Properties:\n        WebACLArn: arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shop/a1b2\n        ResourceArn: !Sub "arn:aws:apigateway:\${AWS::Region}::/restapis/\${ApiGatewayRestApi}/stages/dev"\n`,
    },
  },
  'PAL-APIGW-004': {
    cfn: {
      fail: cfn('  Domain:\n    Type: AWS::ApiGateway::DomainName\n    Properties:\n      DomainName: api.example.com\n      RegionalCertificateArn: !Ref Certificate\n      EndpointConfiguration: { Types: [REGIONAL] }\n      SecurityPolicy: TLS_1_0\n'),
      pass: cfn('  Domain:\n    Type: AWS::ApiGateway::DomainName\n    Properties:\n      DomainName: api.example.com\n      RegionalCertificateArn: !Ref Certificate\n      EndpointConfiguration: { Types: [REGIONAL] }\n      SecurityPolicy: TLS_1_2\n'),
    },
    tf: {
      fail: 'resource "aws_api_gateway_domain_name" "api" {\n  domain_name              = "api.example.com"\n  regional_certificate_arn = aws_acm_certificate.api.arn\n}\n',
      pass: 'resource "aws_api_gateway_domain_name" "api" {\n  domain_name              = "api.example.com"\n  regional_certificate_arn = aws_acm_certificate.api.arn\n  security_policy          = "TLS_1_2"\n}\n',
    },
  },
  'PAL-APIGW-005': {
    cfn: {
      fail: cfnStage('      CacheClusterEnabled: true\n      CacheClusterSize: "0.5"\n      MethodSettings:\n        - HttpMethod: "*"\n          ResourcePath: "/*"\n          CachingEnabled: true\n'),
      pass: cfnStage('      CacheClusterEnabled: true\n      CacheClusterSize: "0.5"\n      MethodSettings:\n        - HttpMethod: "*"\n          ResourcePath: "/*"\n          CachingEnabled: true\n          CacheDataEncrypted: true\n'),
    },
    tf: {
      fail: 'resource "aws_api_gateway_method_settings" "all" {\n  rest_api_id = aws_api_gateway_rest_api.shop.id\n  stage_name  = aws_api_gateway_stage.prod.stage_name\n  method_path = "*/*"\n  settings {\n    caching_enabled = true\n  }\n}\n',
      pass: 'resource "aws_api_gateway_method_settings" "all" {\n  rest_api_id = aws_api_gateway_rest_api.shop.id\n  stage_name  = aws_api_gateway_stage.prod.stage_name\n  method_path = "*/*"\n  settings {\n    caching_enabled      = true\n    cache_data_encrypted = true\n  }\n}\n',
    },
  },

  'PAL-IAM-001': iam(
    { cfn: cfnStatement('"*"', ORDERS_TABLE), tf: tfPolicy(jsonStatement('"*"', `"${ORDERS_TABLE}"`)), sls: slsStatement('"*"', ORDERS_TABLE) },
    { cfn: cfnStatement('[dynamodb:GetItem, dynamodb:PutItem]', ORDERS_TABLE), tf: tfPolicyDocument(`    actions   = ["dynamodb:GetItem"]\n    resources = ["${ORDERS_TABLE}"]\n`), sls: slsStatement('[dynamodb:GetItem]', ORDERS_TABLE) },
  ),
  'PAL-IAM-002': iam(
    { cfn: cfnStatement('[dynamodb:GetItem]', '"*"'), tf: tfPolicyDocument('    actions   = ["dynamodb:GetItem"]\n    resources = ["*"]\n'), sls: slsStatement('[dynamodb:GetItem]', '"*"') },
    { cfn: cfnStatement('[xray:PutTraceSegments, xray:PutTelemetryRecords]', '"*"'), tf: tfPolicy(jsonStatement('["dynamodb:GetItem"]', `"${ORDERS_TABLE}"`)), sls: slsStatement('[dynamodb:GetItem]', ORDERS_TABLE) },
  ),
  'PAL-IAM-003': iam(
    { cfn: cfnStatement('iam:PassRole', '"*"'), tf: tfPolicy(jsonStatement('"iam:PassRole"', '"*"')), sls: slsStatement('[iam:PassRole]', '"*"') },
    { cfn: cfnStatement('iam:PassRole', 'arn:aws:iam::123456789012:role/orders-worker'), tf: tfPolicyDocument('    actions   = ["iam:PassRole"]\n    resources = ["arn:aws:iam::123456789012:role/orders-worker"]\n'), sls: slsStatement('[iam:PassRole]', 'arn:aws:iam::123456789012:role/orders-worker') },
  ),
  'PAL-IAM-004': iam(
    { cfn: cfnStatement('[iam:PassRole, lambda:CreateFunction, lambda:InvokeFunction]', 'arn:aws:iam::123456789012:role/orders-worker'), tf: tfPolicyDocument('    actions   = ["iam:CreatePolicyVersion"]\n    resources = ["arn:aws:iam::123456789012:policy/orders"]\n'), sls: slsStatement('["iam:*"]', '"*"') },
    { cfn: cfnStatement('[lambda:InvokeFunction]', 'arn:aws:lambda:eu-west-1:123456789012:function:billing'), tf: tfPolicy(jsonStatement('["lambda:InvokeFunction", "lambda:GetFunction"]', '"arn:aws:lambda:eu-west-1:123456789012:function:billing"')), sls: slsStatement('[lambda:InvokeFunction]', 'arn:aws:lambda:eu-west-1:123456789012:function:billing') },
  ),
  'PAL-IAM-005': {
    cfn: {
      fail: cfn('  FnRole:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n        Statement:\n          - Effect: Allow\n            Principal: { Service: lambda.amazonaws.com }\n            Action: sts:AssumeRole\n      ManagedPolicyArns:\n        - !Sub "arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess"\n'),
      pass: cfn('  FnRole:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n        Statement:\n          - Effect: Allow\n            Principal: { Service: lambda.amazonaws.com }\n            Action: sts:AssumeRole\n      ManagedPolicyArns:\n        - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\n'),
    },
    tf: {
      fail: 'resource "aws_iam_role" "orders" {\n  name               = "orders"\n  assume_role_policy = <<EOF\n{\n  "Version": "2012-10-17",\n  "Statement": [{ "Effect": "Allow", "Principal": { "Service": "lambda.amazonaws.com" }, "Action": "sts:AssumeRole" }]\n}\nEOF\n}\n\nresource "aws_iam_role_policy_attachment" "admin" {\n  role       = aws_iam_role.orders.name\n  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"\n}\n',
      pass: 'resource "aws_iam_role" "orders" {\n  name               = "orders"\n  assume_role_policy = jsonencode({ Statement = [{ Effect = "Allow", Principal = { Service = "lambda.amazonaws.com" }, Action = "sts:AssumeRole" }] })\n}\n\nresource "aws_iam_role_policy_attachment" "logs" {\n  role       = aws_iam_role.orders.name\n  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"\n}\n',
    },
    sls: {
      fail: 'service: shop\nprovider:\n  name: aws\n  runtime: nodejs22.x\n  iam:\n    role:\n      managedPolicies:\n        - arn:aws:iam::aws:policy/AdministratorAccess\nfunctions:\n  orders:\n    handler: index.handler\n',
      pass: 'service: shop\nprovider:\n  name: aws\n  runtime: nodejs22.x\n  iam:\n    role:\n      managedPolicies:\n        - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\nfunctions:\n  orders:\n    handler: index.handler\n',
    },
  },

  'PAL-SECRETSMANAGER-001': {
    cfn: {
      fail: cfn('  DbSecret:\n    Type: AWS::SecretsManager::Secret\n    Properties:\n      GenerateSecretString: { SecretStringTemplate: \'{"username":"app"}\', GenerateStringKey: password }\n'),
      pass: cfn('  DbSecret:\n    Type: AWS::SecretsManager::Secret\n    Properties:\n      GenerateSecretString: { SecretStringTemplate: \'{"username":"app"}\', GenerateStringKey: password }\n  DbSecretRotation:\n    Type: AWS::SecretsManager::RotationSchedule\n    Properties:\n      SecretId: !Ref DbSecret\n      RotationLambdaARN: !GetAtt Rotator.Arn\n      RotationRules: { AutomaticallyAfterDays: 30 }\n'),
    },
    tf: {
      fail: 'resource "aws_secretsmanager_secret" "db" {\n  name = "db"\n}\n',
      pass: 'resource "aws_secretsmanager_secret" "db" {\n  name = "db"\n}\n\nresource "aws_secretsmanager_secret_rotation" "db" {\n  secret_id           = aws_secretsmanager_secret.db.id\n  rotation_lambda_arn = aws_lambda_function.rotator.arn\n  rotation_rules {\n    automatically_after_days = 30\n  }\n}\n',
    },
  },
  'PAL-KMS-001': {
    cfn: {
      fail: cfn('  EnvKey:\n    Type: AWS::KMS::Key\n    Properties:\n      KeyPolicy: { Version: "2012-10-17", Statement: [] }\n'),
      pass: cfn('  EnvKey:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: !Ref Rotate\n      KeyPolicy: { Version: "2012-10-17", Statement: [] }\n', 'Parameters:\n  Rotate:\n    Type: String\n    Default: "true"\n'),
    },
    tf: {
      fail: 'resource "aws_kms_key" "env" {\n  description         = "function environment"\n  enable_key_rotation = false\n}\n',
      pass: 'variable "rotate" {\n  default = true\n}\n\nresource "aws_kms_key" "env" {\n  description         = "function environment"\n  enable_key_rotation = var.rotate\n}\n',
    },
  },
  'PAL-SQS-001': {
    cfn: { fail: cfn('  Jobs:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: jobs\n'), pass: cfn('  Jobs:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: jobs\n      KmsMasterKeyId: alias/jobs\n') },
    tf: { fail: 'resource "aws_sqs_queue" "jobs" {\n  name = "jobs"\n}\n', pass: 'resource "aws_sqs_queue" "jobs" {\n  name                    = "jobs"\n  sqs_managed_sse_enabled = true\n}\n' },
  },
  'PAL-SNS-001': {
    cfn: { fail: cfn('  Alerts:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: alerts\n'), pass: cfn('  Alerts:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: alerts\n      KmsMasterKeyId: !Ref AlertsKey\n') },
    tf: { fail: 'resource "aws_sns_topic" "alerts" {\n  name = "alerts"\n}\n', pass: 'resource "aws_sns_topic" "alerts" {\n  name              = "alerts"\n  kms_master_key_id = aws_kms_key.alerts.id\n}\n' },
  },
  'PAL-DYNAMODB-001': {
    cfn: {
      fail: cfn('  Orders:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      BillingMode: PAY_PER_REQUEST\n      AttributeDefinitions: [{ AttributeName: id, AttributeType: S }]\n      KeySchema: [{ AttributeName: id, KeyType: HASH }]\n'),
      pass: cfn('  Orders:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      BillingMode: PAY_PER_REQUEST\n      AttributeDefinitions: [{ AttributeName: id, AttributeType: S }]\n      KeySchema: [{ AttributeName: id, KeyType: HASH }]\n      SSESpecification: { SSEEnabled: true, SSEType: KMS, KMSMasterKeyId: !Ref TableKey }\n'),
    },
    tf: {
      fail: 'resource "aws_dynamodb_table" "orders" {\n  name         = "orders"\n  billing_mode = "PAY_PER_REQUEST"\n  hash_key     = "id"\n  attribute {\n    name = "id"\n    type = "S"\n  }\n}\n',
      pass: 'resource "aws_dynamodb_table" "orders" {\n  name         = "orders"\n  billing_mode = "PAY_PER_REQUEST"\n  hash_key     = "id"\n  attribute {\n    name = "id"\n    type = "S"\n  }\n  server_side_encryption {\n    enabled     = true\n    kms_key_arn = aws_kms_key.table.arn\n  }\n}\n',
    },
  },
  'PAL-LOGS-001': {
    cfn: { fail: cfn('  Logs:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      LogGroupName: /aws/lambda/orders\n'), pass: cfn('  Logs:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      LogGroupName: /aws/lambda/orders\n      RetentionInDays: 90\n') },
    tf: { fail: 'resource "aws_cloudwatch_log_group" "orders" {\n  name = "/aws/lambda/orders"\n}\n', pass: 'resource "aws_cloudwatch_log_group" "orders" {\n  name              = "/aws/lambda/orders"\n  retention_in_days = 90\n}\n' },
  },
  'PAL-LOGS-002': {
    cfn: { fail: cfn('  Logs:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      LogGroupName: /aws/lambda/orders\n'), pass: cfn('  Logs:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      LogGroupName: /aws/lambda/orders\n      KmsKeyId: !GetAtt LogKey.Arn\n') },
    tf: { fail: 'resource "aws_cloudwatch_log_group" "orders" {\n  name = "/aws/lambda/orders"\n}\n', pass: 'resource "aws_cloudwatch_log_group" "orders" {\n  name       = "/aws/lambda/orders"\n  kms_key_id = aws_kms_key.logs.arn\n}\n' },
  },
  'PAL-SFN-001': {
    cfn: {
      fail: cfn('  Checkout:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n      RoleArn: !GetAtt SfnRole.Arn\n      DefinitionString: \'{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}\'\n      LoggingConfiguration: { Level: "OFF" }\n'),
      pass: cfn('  Checkout:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n      RoleArn: !GetAtt SfnRole.Arn\n      DefinitionString: \'{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}\'\n      LoggingConfiguration:\n        Level: ERROR\n        Destinations:\n          - CloudWatchLogsLogGroup: { LogGroupArn: !GetAtt SfnLogs.Arn }\n'),
    },
    tf: {
      fail: 'resource "aws_sfn_state_machine" "checkout" {\n  name       = "checkout"\n  role_arn   = aws_iam_role.sfn.arn\n  definition = "{}"\n}\n',
      pass: 'resource "aws_sfn_state_machine" "checkout" {\n  name       = "checkout"\n  role_arn   = aws_iam_role.sfn.arn\n  definition = "{}"\n  logging_configuration {\n    log_destination        = "${aws_cloudwatch_log_group.sfn.arn}:*"\n    include_execution_data = false\n    level                  = "ALL"\n  }\n}\n',
    },
  },

  'PAL-SECRET-001': {
    cfn: { fail: cfn('  Hook:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Type: String\n      Value: ghp_R4nd0mT0k3nV4lu3F0rT3st1ngOnly123456\n'), pass: cfn('  Hook:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Type: String\n      Value: https://hooks.example.com/orders\n') },
    tf: { fail: 'resource "aws_ssm_parameter" "hook" {\n  name  = "hook"\n  type  = "String"\n  value = "xoxb-2048-4096-R4nd0mSl4ckV4lu3"\n}\n', pass: 'resource "aws_ssm_parameter" "hook" {\n  name  = "hook"\n  type  = "String"\n  value = "https://hooks.example.com/orders"\n}\n' },
    sls: { fail: 'service: shop\nprovider:\n  name: aws\ncustom:\n  deployKey: AKIAZ3MDQ7EXAMPLE2KQ\n', pass: 'service: shop\nprovider:\n  name: aws\ncustom:\n  deployKey: ${ssm:/shop/deploy-key}\n' },
    palisade: {
      fail: manifest('functions:\n  orders:\n    source: functions/orders.ts\n    bindings:\n      STRIPE: { type: text, value: sk_live_4eC39HqLyjWDarjtT1zdp7dc }\nroutes:\n  - { path: /api/orders, function: orders }\n'),
      pass: manifest('functions:\n  orders:\n    source: functions/orders.ts\n    secrets: [stripe-key]\nroutes:\n  - { path: /api/orders, function: orders }\n'),
    },
  },
  'PAL-SECRET-002': {
    cfn: { fail: cfn('  Db:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Type: String\n      Value: !Ref DbPassword\n', 'Parameters:\n  DbPassword:\n    Type: String\n    NoEcho: true\n    Default: "Zq8#vL2!mT9@pW4x"\n'), pass: cfn('  Db:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Type: String\n      Value: !Ref DbPassword\n', 'Parameters:\n  DbPassword:\n    Type: String\n    NoEcho: true\n') },
    tf: { fail: 'variable "db_password" {\n  type    = string\n  default = "Zq8#vL2!mT9@pW4x"\n}\n', pass: 'variable "db_password" {\n  type      = string\n  sensitive = true\n}\n' },
    sls: { fail: 'service: shop\nprovider:\n  name: aws\n  environment:\n    API_TOKEN: "Zq8vL2mT9pW4xR7k"\n', pass: 'service: shop\nprovider:\n  name: aws\n  environment:\n    API_TOKEN: ${ssm:/shop/api-token}\n' },
    palisade: {
      fail: manifest('functions:\n  orders:\n    source: functions/orders.ts\n    bindings:\n      client_secret: { type: text, value: "Zq8vL2mT9pW4xR7k" }\nroutes:\n  - { path: /api/orders, function: orders }\n'),
      pass: manifest('functions:\n  orders:\n    source: functions/orders.ts\n    bindings:\n      GREETING: { type: text, value: "Welcome to the shop" }\nroutes:\n  - { path: /api/orders, function: orders }\n'),
    },
  },

  'PAL-PALISADE-001': {
    palisade: {
      fail: manifest('functions:\n  catalog: { source: functions/catalog.ts }\nroutes:\n  - { path: /api/products, function: catalog, public: true }\n'),
      pass: manifest('functions:\n  catalog: { source: functions/catalog.ts }\nroutes:\n  - { path: /api/products, function: catalog }\n'),
    },
  },
  'PAL-PALISADE-002': {
    palisade: {
      fail: manifest('functions:\n  users: { source: functions/users.ts }\nroutes:\n  - { path: /admin/users, function: users, allow: { roles: [admin] } }\n'),
      pass: manifest('functions:\n  users: { source: functions/users.ts }\nroles:\n  root: { mfa: required }\nroutes:\n  - { path: /admin/users, function: users, allow: { roles: [admin] }, mfa: required }\n  - { path: /admin/keys, function: users, allow: { roles: [root] } }\n  - { path: /api/me, function: users, allow: { roles: [customer] } }\n'),
    },
  },
  'PAL-PALISADE-003': {
    palisade: {
      fail: manifest('functions:\n  orders: { source: functions/orders.ts }\nroutes:\n  - { path: /api/orders, function: orders }\naudit: { mode: async }\n'),
      pass: manifest('functions:\n  orders: { source: functions/orders.ts }\nroutes:\n  - { path: /api/orders, function: orders }\naudit: { mode: sync }\n'),
    },
  },
  'PAL-PALISADE-004': {
    palisade: {
      fail: manifest('functions:\n  billing:\n    source: functions/billing.ts\n    egress: ["*.stripe.com:443"]\nroutes:\n  - { path: /api/pay, function: billing }\n'),
      pass: manifest('functions:\n  billing:\n    source: functions/billing.ts\n    egress: [api.stripe.com:443]\nroutes:\n  - { path: /api/pay, function: billing }\n'),
    },
  },
  'PAL-PALISADE-005': {
    palisade: {
      fail: manifest('functions:\n  orders:\n    source: functions/orders.ts\n    segment: storefront\n    invoke: [billing]\n  billing:\n    source: functions/billing.ts\n    segment: payments\nroutes:\n  - { path: /api/orders, function: orders }\n'),
      pass: manifest('functions:\n  orders:\n    source: functions/orders.ts\n    segment: payments\n    invoke: [billing]\n  billing:\n    source: functions/billing.ts\n    segment: payments\nroutes:\n  - { path: /api/orders, function: orders }\n'),
    },
  },
  'PAL-PALISADE-006': {
    palisade: {
      fail: manifest('functions:\n  orders:\n    source: functions/orders.ts\n    secrets: [db-url, stripe-key]\nroutes:\n  - { path: /api/orders, function: orders }\n'),
      pass: manifest('functions:\n  orders:\n    source: functions/orders.ts\n    secrets: [db-url]\nroutes:\n  - { path: /api/orders, function: orders }\n'),
      sources: { 'functions/orders.ts': "export default {\n  async fetch(request, env) {\n    const url = await env.secrets.get('db-url');\n    return new Response(url === undefined ? 'no' : 'ok');\n  },\n};\n" },
    },
  },
};
