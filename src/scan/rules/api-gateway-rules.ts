import type { Resource, Rule, RuleHit, Template } from '../model.js';
import { asList, get, isPresent, isRecord, isTrueOrUnresolved, isUnresolved, refersTo, valueIn } from '../values.js';
import { defineResourceRule } from './define-rule.js';

/** PAL-APIGW-001: API Gateway method has no authorizer. */
export const apiGatewayAuthorizer: Rule = defineResourceRule(
  {
    id: 'PAL-APIGW-001',
    title: 'API Gateway method has no authorizer',
    severity: 'high',
    description: 'A REST API method with authorization `NONE` (other than `OPTIONS`, which serves CORS preflight) lets anyone invoke the back end.',
    remediation: 'Set `AuthorizationType` to `AWS_IAM`, `COGNITO_USER_POOLS` or `CUSTOM` with an authorizer (`authorizer:` on the `http` event in serverless.yml).',
    frameworks: { owaspServerless: ['SAS-2'], palisade: ['verify-explicitly'] },
    checkov: ['CKV_AWS_59'],
  },
  {
    'AWS::ApiGateway::Method': (p) => (get(p, ['HttpMethod']) !== 'OPTIONS' && get(p, ['AuthorizationType']) === 'NONE' ? `method \`${String(get(p, ['HttpMethod']))}\` has authorization \`NONE\`` : undefined),
    aws_api_gateway_method: (p) => (get(p, ['http_method']) !== 'OPTIONS' && get(p, ['authorization']) === 'NONE' ? `method \`${String(get(p, ['http_method']))}\` has authorization \`NONE\`` : undefined),
  },
);

/** PAL-APIGW-002: API Gateway stage has no access logging. */
export const apiGatewayAccessLogging: Rule = defineResourceRule(
  {
    id: 'PAL-APIGW-002',
    title: 'API Gateway stage has no access logging',
    severity: 'medium',
    description: 'Without access logs there is no record of who called the API, from where, and with what result.',
    remediation: 'Set `AccessLogSetting.DestinationArn` (`access_log_settings`, `provider.logs.restApi: true`) to a CloudWatch log group or Firehose stream.',
    frameworks: { owaspServerless: ['SAS-5'], palisade: ['assume-breach'] },
    checkov: ['CKV_AWS_76'],
  },
  {
    'AWS::ApiGateway::Stage': (p) => (isPresent(get(p, ['AccessLogSetting', 'DestinationArn'])) ? undefined : 'no access log destination is set'),
    'AWS::Serverless::Api': (p) => (isPresent(get(p, ['AccessLogSetting', 'DestinationArn'])) ? undefined : 'no access log destination is set'),
    aws_api_gateway_stage: (p) => (isPresent(get(p, ['access_log_settings', 'destination_arn'])) ? undefined : 'no access log destination is set'),
  },
);

const STAGE_TYPES: Readonly<Record<string, string>> = { 'AWS::ApiGateway::Stage': 'RestApiId', aws_api_gateway_stage: 'rest_api_id' };
const ASSOCIATION_TYPES: Readonly<Record<string, string>> = { 'AWS::WAFv2::WebACLAssociation': 'ResourceArn', aws_wafv2_web_acl_association: 'resource_arn' };

/** The REST API a stage belongs to, when it is a resource of the same template. */
function apiOf(stage: Resource, template: Template): Resource | undefined {
  const apiRef = get(stage.properties, [STAGE_TYPES[stage.type] ?? '']);
  return template.resources.find((r) => (r.type === 'AWS::ApiGateway::RestApi' || r.type === 'aws_api_gateway_rest_api') && refersTo(apiRef, r));
}

/** PAL-APIGW-003: API Gateway stage is not protected by a WAF. */
export const apiGatewayWaf: Rule = {
  id: 'PAL-APIGW-003',
  title: 'API Gateway stage is not protected by a WAF',
  severity: 'medium',
  description: 'A stage with no WAFv2 web ACL associated takes every request, including injection probes and floods, straight to the back end. A stage counts as protected when a web ACL association in the same template refers to it (or to its REST API).',
  remediation: 'Add an `AWS::WAFv2::WebACLAssociation` (`aws_wafv2_web_acl_association`) whose resource ARN is the stage ARN.',
  frameworks: { owaspServerless: ['SAS-1', 'SAS-8'], palisade: ['assume-breach'] },
  checkov: ['CKV2_AWS_29'],
  appliesTo: ['cloudformation', 'serverless', 'terraform', 'terraform-plan'],
  check(template) {
    const associations = template.resources.filter((r) => ASSOCIATION_TYPES[r.type] !== undefined).map((r) => get(r.properties, [ASSOCIATION_TYPES[r.type] ?? '']));
    const hits: RuleHit[] = [];
    for (const stage of template.resources) {
      if (STAGE_TYPES[stage.type] === undefined) continue;
      const api = apiOf(stage, template);
      const protectedStage = associations.some((arn) => refersTo(arn, stage) || (api !== undefined && refersTo(arn, api)));
      if (!protectedStage) hits.push({ resource: stage.id, message: 'no WAFv2 web ACL is associated with the stage', ...(stage.line === undefined ? {} : { line: stage.line }) });
    }
    return hits;
  },
};

/** Security policies that allow TLS 1.2 at least (API Gateway custom domain policies). */
const MODERN_TLS = ['TLS_1_2', 'SecurityPolicy_TLS13_1_3_2025_09', 'SecurityPolicy_TLS13_1_3_FIPS_2025_09', 'SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09', 'SecurityPolicy_TLS13_1_2_FIPS_PQ_2025_09', 'SecurityPolicy_TLS13_1_2_PQ_2025_09', 'SecurityPolicy_TLS13_1_2_2021_06', 'SecurityPolicy_TLS13_2025_EDGE'];

/** PAL-APIGW-004: API Gateway custom domain allows TLS below 1.2. */
export const apiGatewayTls: Rule = defineResourceRule(
  {
    id: 'PAL-APIGW-004',
    title: 'API Gateway custom domain allows TLS below 1.2',
    severity: 'high',
    description: 'A custom domain without a TLS 1.2 security policy accepts TLS 1.0 (the default for REST API domains), which has known weaknesses.',
    remediation: 'Set `SecurityPolicy: TLS_1_2` (`security_policy = "TLS_1_2"`) or a newer policy.',
    frameworks: { owaspServerless: ['SAS-3'], palisade: ['vetted-primitives'] },
    checkov: ['CKV_AWS_206'],
  },
  {
    'AWS::ApiGateway::DomainName': (p) => (valueIn(get(p, ['SecurityPolicy']), MODERN_TLS) ? undefined : `security policy \`${String(get(p, ['SecurityPolicy']) ?? 'TLS_1_0 (default)')}\` allows TLS below 1.2`),
    aws_api_gateway_domain_name: (p) => (valueIn(get(p, ['security_policy']), MODERN_TLS) ? undefined : `security policy \`${String(get(p, ['security_policy']) ?? 'TLS_1_0 (default)')}\` allows TLS below 1.2`),
  },
);

function cfnCacheUnencrypted(p: Readonly<Record<string, unknown>>): string | undefined {
  for (const setting of asList(get(p, ['MethodSettings']))) {
    if (!isRecord(setting) || isUnresolved(setting)) continue;
    if (setting.CachingEnabled === true || setting.CachingEnabled === 'true') {
      if (!isTrueOrUnresolved(setting.CacheDataEncrypted)) return `caching is enabled for \`${String(setting.HttpMethod ?? '*')} ${String(setting.ResourcePath ?? '/*')}\` without \`CacheDataEncrypted\``;
    }
  }
  return undefined;
}

/** PAL-APIGW-005: API Gateway cache is not encrypted. */
export const apiGatewayCacheEncryption: Rule = defineResourceRule(
  {
    id: 'PAL-APIGW-005',
    title: 'API Gateway cache is not encrypted',
    severity: 'medium',
    description: 'Cached responses (which may hold personal data or tokens) are stored unencrypted.',
    remediation: 'Set `CacheDataEncrypted: true` on every method setting that enables caching (`cache_data_encrypted = true`).',
    frameworks: { owaspServerless: ['SAS-3'], palisade: ['secrets-never-leak'] },
    checkov: ['CKV_AWS_308'],
  },
  {
    'AWS::ApiGateway::Stage': cfnCacheUnencrypted,
    'AWS::Serverless::Api': cfnCacheUnencrypted,
    aws_api_gateway_method_settings: (p) => {
      const settings = get(p, ['settings']);
      const enabled = get(settings, ['caching_enabled']);
      if (enabled !== true && enabled !== 'true') return undefined;
      return get(settings, ['cache_data_encrypted']) === true || isUnresolved(get(settings, ['cache_data_encrypted'])) ? undefined : 'caching is enabled without `cache_data_encrypted`';
    },
  },
);

/** Every API Gateway rule. */
export const apiGatewayRules: readonly Rule[] = [apiGatewayAuthorizer, apiGatewayAccessLogging, apiGatewayWaf, apiGatewayTls, apiGatewayCacheEncryption];
