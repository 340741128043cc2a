import type { Resource, Template } from './model.js';
import { cloudFormationResources } from './parse-cloudformation.js';
import type { ParsedYaml } from './parse-yaml.js';
import { isRecord, unresolved } from './values.js';

/** File names the Serverless Framework reads. */
export const SERVERLESS_FILES = ['serverless.yml', 'serverless.yaml', 'serverless.json'] as const;

/** Serverless variables (`${ssm:…}`, `${self:…}`, `${env:…}`) are resolved at deploy time. */
function resolveVariables(value: unknown, depth = 0): unknown {
  if (depth > 64) return unresolved('nesting too deep');
  if (typeof value === 'string') return value.includes('${') ? unresolved(value) : value;
  if (Array.isArray(value)) return value.map((v) => resolveVariables(v, depth + 1));
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveVariables(v, depth + 1);
    return out;
  }
  return value;
}

/** The logical id the framework gives a function (`hello-world` → `HelloDashworldLambdaFunction`). */
export function serverlessLogicalId(name: string): string {
  const normalised = name.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
  return `${normalised.charAt(0).toUpperCase()}${normalised.slice(1)}LambdaFunction`;
}

function definedOnly(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

const IAM_ROLE_ID = 'IamRoleLambdaExecution';

/**
 * Compiles a `serverless.yml` into the CloudFormation resources the framework would deploy
 * (functions, their URLs, REST API methods and stage, the shared execution role), plus
 * `resources.Resources` as written and `resources.extensions` merged in, so the CloudFormation
 * rules apply unchanged.
 *
 * @example
 * ```ts
 * const t = parseServerless('serverless.yml', text, parseCloudFormationYaml(text));
 * ```
 */
export function parseServerless(file: string, text: string, parsed: ParsedYaml): Template {
  const doc = isRecord(parsed.value) ? (resolveVariables(parsed.value) as Record<string, unknown>) : {};
  const provider = isRecord(doc.provider) ? doc.provider : {};
  const functions = isRecord(doc.functions) ? doc.functions : {};
  const resources: Resource[] = [];
  const at = (path: readonly (string | number)[]) => {
    const line = parsed.lineOf(path);
    return line === undefined ? {} : { line };
  };
  const providerTracing = isRecord(provider.tracing) ? provider.tracing : {};
  const providerEnv = isRecord(provider.environment) ? provider.environment : {};
  let hasHttp = false;

  for (const [name, rawFn] of Object.entries(functions)) {
    const fn = isRecord(rawFn) ? rawFn : {};
    const id = serverlessLogicalId(name);
    const env = { ...providerEnv, ...(isRecord(fn.environment) ? fn.environment : {}) };
    const tracing = fn.tracing ?? providerTracing.lambda;
    const vpc = fn.vpc ?? provider.vpc;
    const properties = definedOnly({
      FunctionName: name,
      Runtime: fn.runtime ?? provider.runtime,
      Environment: Object.keys(env).length > 0 ? { Variables: env } : undefined,
      KmsKeyArn: fn.kmsKeyArn ?? provider.kmsKeyArn,
      DeadLetterConfig: fn.onError === undefined ? undefined : { TargetArn: fn.onError },
      ReservedConcurrentExecutions: fn.reservedConcurrency,
      TracingConfig: tracing === undefined || tracing === false ? undefined : { Mode: tracing === true ? 'Active' : tracing },
      VpcConfig: isRecord(vpc) ? { SecurityGroupIds: vpc.securityGroupIds, SubnetIds: vpc.subnetIds } : undefined,
      Role: fn.role ?? (typeof (isRecord(provider.iam) ? provider.iam.role : undefined) === 'string' ? (provider.iam as Record<string, unknown>).role : { 'Fn::GetAtt': [IAM_ROLE_ID, 'Arn'] }),
    });
    resources.push({ type: 'AWS::Lambda::Function', id, properties, ...at(['functions', name]) });

    if (fn.url !== undefined && fn.url !== false) {
      // `url: true` deploys a URL with AuthType NONE; `url: { authorizer: aws_iam }` uses IAM.
      const authorizer = isRecord(fn.url) ? fn.url.authorizer : undefined;
      resources.push({ type: 'AWS::Lambda::Url', id: `${id}Url`, properties: { TargetFunctionArn: { 'Fn::GetAtt': [id, 'Arn'] }, AuthType: authorizer === 'aws_iam' ? 'AWS_IAM' : 'NONE' }, ...at(['functions', name, 'url']) });
    }

    const events = Array.isArray(fn.events) ? fn.events : [];
    events.forEach((event, index) => {
      if (!isRecord(event) || event.http === undefined) return;
      hasHttp = true;
      const http = event.http;
      let method = 'GET';
      let path = '/';
      let authorizer: unknown;
      if (typeof http === 'string') [method = 'GET', path = '/'] = http.split(/\s+/);
      else if (isRecord(http)) {
        method = typeof http.method === 'string' ? http.method : 'GET';
        path = typeof http.path === 'string' ? http.path : '/';
        authorizer = http.authorizer;
      }
      const authorizationType = authorizer === undefined ? 'NONE' : authorizer === 'aws_iam' ? 'AWS_IAM' : isRecord(authorizer) && authorizer.type === 'COGNITO_USER_POOLS' ? 'COGNITO_USER_POOLS' : 'CUSTOM';
      const methodId = `ApiGatewayMethod${path.replace(/[^A-Za-z0-9]/g, '')}${method.toUpperCase() === 'ANY' ? 'Any' : method.charAt(0).toUpperCase() + method.slice(1).toLowerCase()}`;
      resources.push({ type: 'AWS::ApiGateway::Method', id: methodId, properties: { HttpMethod: method.toUpperCase(), AuthorizationType: authorizationType, RestApiId: { Ref: 'ApiGatewayRestApi' } }, ...at(['functions', name, 'events', index]) });
    });
  }

  if (hasHttp) {
    resources.push({ type: 'AWS::ApiGateway::RestApi', id: 'ApiGatewayRestApi', properties: { Name: typeof doc.service === 'string' ? doc.service : 'api' }, ...at(['provider']) });
    const logs = isRecord(provider.logs) ? provider.logs : {};
    const accessLogs = logs.restApi !== undefined && logs.restApi !== false;
    resources.push({
      type: 'AWS::ApiGateway::Stage',
      id: 'ApiGatewayStage',
      properties: definedOnly({
        RestApiId: { Ref: 'ApiGatewayRestApi' },
        StageName: provider.stage ?? 'dev',
        AccessLogSetting: accessLogs ? { DestinationArn: { 'Fn::GetAtt': ['ApiGatewayLogGroup', 'Arn'] } } : undefined,
        TracingEnabled: providerTracing.apiGateway === true ? true : undefined,
      }),
      ...at(['provider']),
    });
  }

  if (Object.keys(functions).length > 0 && !(isRecord(provider.iam) && typeof provider.iam.role === 'string')) {
    const role = isRecord(provider.iam) && isRecord(provider.iam.role) ? provider.iam.role : {};
    const statements = role.statements ?? provider.iamRoleStatements ?? [];
    const managed = role.managedPolicies ?? provider.iamManagedPolicies;
    resources.push({
      type: 'AWS::IAM::Role',
      id: IAM_ROLE_ID,
      properties: definedOnly({
        AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }] },
        Policies: [{ PolicyName: 'serverless-execution', PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
        ManagedPolicyArns: managed,
      }),
      ...at(['provider', 'iam']),
    });
  }

  const custom = isRecord(doc.resources) ? doc.resources : {};
  if (isRecord(custom.Resources)) resources.push(...cloudFormationResources({ Resources: custom.Resources }, parsed, ['resources']));
  // `resources.extensions` patches the generated resources' properties (framework v3).
  if (isRecord(custom.extensions)) {
    for (const [id, ext] of Object.entries(custom.extensions)) {
      const index = resources.findIndex((r) => r.id === id);
      const target = resources[index];
      if (target === undefined || !isRecord(ext) || !isRecord(ext.Properties)) continue;
      resources[index] = { ...target, properties: { ...target.properties, ...ext.Properties } };
    }
  }
  return { file, kind: 'serverless', text, resources, parameters: {} };
}
