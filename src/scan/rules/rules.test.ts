import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseTemplateText } from '../load-templates.js';
import type { Rule, Template, TemplateKind } from '../model.js';
import { scanTemplates } from '../scan-templates.js';
import { cloudFormationJson, serverlessWithResources, terraformPlanJson } from '../test-fixtures.js';
import { builtinRules } from './index.js';
import { ruleFixtures, type RuleFixtures } from './rule-fixtures.js';

async function load(file: string, text: string, sources: Readonly<Record<string, string>> = {}): Promise<Template> {
  const t = await parseTemplateText(file, text, (p) => sources[p]);
  assert.ok(t !== undefined, `${file} was not recognised as a template`);
  return t;
}

function hitsOf(rule: Rule, template: Template): string[] {
  return scanTemplates([template], [rule]).findings.filter((f) => f.ruleId === rule.id).map((f) => `${f.resource}: ${f.message}`);
}

/** The files each fixture becomes, by template kind. */
async function variants(f: RuleFixtures, which: 'fail' | 'pass'): Promise<[TemplateKind | 'cloudformation-json', Template][]> {
  const out: [TemplateKind | 'cloudformation-json', Template][] = [];
  if (f.cfn !== undefined) {
    out.push(['cloudformation', await load('template.yaml', f.cfn[which])]);
    out.push(['cloudformation-json', await load('template.json', cloudFormationJson(f.cfn[which]))]);
  }
  if (f.sls !== undefined) out.push(['serverless', await load('serverless.yml', f.sls[which])]);
  else if (f.cfn !== undefined) out.push(['serverless', await load('serverless.yml', serverlessWithResources(f.cfn[which]))]);
  if (f.tf !== undefined) {
    out.push(['terraform', await load('main.tf', f.tf[which])]);
    out.push(['terraform-plan', await load('plan.json', await terraformPlanJson(f.tf[which]))]);
  }
  if (f.palisade !== undefined) out.push(['palisade', await load('palisade.yaml', f.palisade[which], f.palisade.sources ?? {})]);
  return out;
}

test('every built-in rule has fixtures, a PAL- id, a remediation and mappings', () => {
  const ids = new Set<string>();
  for (const rule of builtinRules) {
    assert.match(rule.id, /^PAL-[A-Z0-9]+-\d{3}$/);
    assert.ok(!ids.has(rule.id), `duplicate id ${rule.id}`);
    ids.add(rule.id);
    assert.ok(rule.remediation.length > 20 && rule.description.length > 20, rule.id);
    assert.ok((rule.frameworks.owaspServerless?.length ?? 0) + (rule.frameworks.palisade?.length ?? 0) > 0, `${rule.id} maps to no framework`);
    for (const c of rule.checkov) assert.match(c, /^CKV2?_AWS_\d+$/);
    assert.ok(ruleFixtures[rule.id] !== undefined, `no fixtures for ${rule.id}`);
  }
  assert.deepEqual(Object.keys(ruleFixtures).sort(), [...ids].sort());
});

describe('each rule fails its failing fixture and passes its passing fixture, in every framework it reads', () => {
  for (const rule of builtinRules) {
    test(`${rule.id} ${rule.title}`, async () => {
      const fixtures = ruleFixtures[rule.id];
      assert.ok(fixtures !== undefined);
      const failing = await variants(fixtures, 'fail');
      const passing = await variants(fixtures, 'pass');
      const kinds = new Set(failing.map(([k]) => (k === 'cloudformation-json' ? 'cloudformation' : k)));
      for (const kind of rule.appliesTo) {
        if (kind === 'palisade' && rule.appliesTo.length > 1 && fixtures.palisade === undefined) continue;
        assert.ok(kinds.has(kind), `${rule.id} reads ${kind} but has no ${kind} fixture`);
      }
      for (const [kind, template] of failing) assert.ok(hitsOf(rule, template).length > 0, `${rule.id}: the failing ${kind} fixture passed`);
      for (const [kind, template] of passing) assert.deepEqual(hitsOf(rule, template), [], `${rule.id}: the passing ${kind} fixture failed`);
    });
  }
});

describe('values the template does not fix (Checkov semantics)', () => {
  const kmsRule = builtinRules.find((r) => r.id === 'PAL-KMS-001');
  const dlqRule = builtinRules.find((r) => r.id === 'PAL-LAMBDA-003');
  assert.ok(kmsRule !== undefined && dlqRule !== undefined);

  test('a Ref to a parameter takes its default, and a false default fails', async () => {
    const t = await load('t.yaml', 'Parameters:\n  Rotate: { Type: String, Default: "false" }\nResources:\n  K:\n    Type: AWS::KMS::Key\n    Properties: { EnableKeyRotation: !Ref Rotate }\n');
    assert.equal(hitsOf(kmsRule, t).length, 1);
  });

  test('a Ref to a parameter without default is unresolved and passes a comparison', async () => {
    const t = await load('t.yaml', 'Parameters:\n  Rotate: { Type: String }\nResources:\n  K:\n    Type: AWS::KMS::Key\n    Properties: { EnableKeyRotation: !Ref Rotate }\n');
    assert.deepEqual(hitsOf(kmsRule, t), []);
  });

  test('Fn::If is present but never equal to a literal', async () => {
    const t = await load('t.yaml', 'Resources:\n  K:\n    Type: AWS::KMS::Key\n    Properties: { EnableKeyRotation: !If [Prod, true, false] }\n');
    assert.equal(hitsOf(kmsRule, t).length, 1);
  });

  test('a Terraform reference to another resource counts as set', async () => {
    const t = await load('main.tf', 'resource "aws_lambda_function" "f" {\n  dead_letter_config {\n    target_arn = aws_sqs_queue.dlq.arn\n  }\n}\n');
    assert.deepEqual(hitsOf(dlqRule, t), []);
  });

  test('a Terraform variable without default is unresolved and passes; with a false default it fails', async () => {
    assert.deepEqual(hitsOf(kmsRule, await load('main.tf', 'variable "r" {}\nresource "aws_kms_key" "k" {\n  enable_key_rotation = var.r\n}\n')), []);
    assert.equal(hitsOf(kmsRule, await load('main.tf', 'variable "r" {\n  default = false\n}\nresource "aws_kms_key" "k" {\n  enable_key_rotation = var.r\n}\n')).length, 1);
  });

  test('asymmetric KMS keys are not reported (AWS cannot rotate them)', async () => {
    const t = await load('t.yaml', 'Resources:\n  K:\n    Type: AWS::KMS::Key\n    Properties: { KeySpec: ECC_NIST_P256, KeyUsage: SIGN_VERIFY }\n');
    assert.deepEqual(hitsOf(kmsRule, t), []);
  });

  test('OPTIONS methods may have no authorizer (CORS preflight)', async () => {
    const rule = builtinRules.find((r) => r.id === 'PAL-APIGW-001');
    assert.ok(rule !== undefined);
    const t = await load('t.yaml', 'Resources:\n  M:\n    Type: AWS::ApiGateway::Method\n    Properties: { HttpMethod: OPTIONS, AuthorizationType: NONE, RestApiId: !Ref Api, ResourceId: r }\n');
    assert.deepEqual(hitsOf(rule, t), []);
  });
});

describe('SAM', () => {
  test('Globals.Function applies to every function, and SAM property names are read', async () => {
    const tracing = builtinRules.find((r) => r.id === 'PAL-LAMBDA-008');
    const runtime = builtinRules.find((r) => r.id === 'PAL-LAMBDA-005');
    assert.ok(tracing !== undefined && runtime !== undefined);
    const sam = (globals: string) => `Transform: AWS::Serverless-2016-10-31\nGlobals:\n  Function:\n${globals}Resources:\n  Orders:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: index.handler\n      CodeUri: src/\n`;
    assert.deepEqual(hitsOf(tracing, await load('template.yaml', sam('    Tracing: Active\n    Runtime: nodejs22.x\n'))), []);
    assert.equal(hitsOf(tracing, await load('template.yaml', sam('    Runtime: nodejs22.x\n'))).length, 1);
    assert.equal(hitsOf(runtime, await load('template.yaml', sam('    Runtime: python3.7\n'))).length, 1);
  });
});
