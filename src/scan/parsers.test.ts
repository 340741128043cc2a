import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { loadTemplates, parseTemplateText } from './load-templates.js';
import { parseCloudFormationYaml, parseJsonWithLines } from './parse-yaml.js';
import { terraformPlanJson } from './test-fixtures.js';

/** The parsers build null-prototype objects; compare their data with plain literals. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe('CloudFormation short-form tags', () => {
  test('every short form becomes its long form', () => {
    const text = [
      'A: !Ref Param',
      'B: !Sub "arn:aws:s3:::${Bucket}/*"',
      'C: !GetAtt Role.Arn',
      'D: !Join [",", [a, b]]',
      'E: !If [IsProd, 1, 2]',
      'F: !Select [0, !GetAZs ""]',
      'G: !Split [",", "a,b"]',
      'H: !FindInMap [Map, Key, Value]',
      'I: !ImportValue shared-vpc',
      'J: !Base64 "hello"',
      'K: !Cidr [10.0.0.0/16, 4, 8]',
      'L: !Equals [a, b]',
      'M: !And [!Condition A, !Not [!Condition B]]',
      'N: !Or [!Condition A, !Condition B]',
      'O: !Transform { Name: AWS::Include, Parameters: { Location: s3://bucket/file.yaml } }',
      'P: !Sub ["${X}", { X: !Ref Y }]',
    ].join('\n');
    assert.deepEqual(plain(parseCloudFormationYaml(text).value), {
      A: { Ref: 'Param' },
      B: { 'Fn::Sub': 'arn:aws:s3:::${Bucket}/*' },
      C: { 'Fn::GetAtt': ['Role', 'Arn'] },
      D: { 'Fn::Join': [',', ['a', 'b']] },
      E: { 'Fn::If': ['IsProd', 1, 2] },
      F: { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] },
      G: { 'Fn::Split': [',', 'a,b'] },
      H: { 'Fn::FindInMap': ['Map', 'Key', 'Value'] },
      I: { 'Fn::ImportValue': 'shared-vpc' },
      J: { 'Fn::Base64': 'hello' },
      K: { 'Fn::Cidr': ['10.0.0.0/16', 4, 8] },
      L: { 'Fn::Equals': ['a', 'b'] },
      M: { 'Fn::And': [{ Condition: 'A' }, { 'Fn::Not': [{ Condition: 'B' }] }] },
      N: { 'Fn::Or': [{ Condition: 'A' }, { Condition: 'B' }] },
      O: { 'Fn::Transform': { Name: 'AWS::Include', Parameters: { Location: 's3://bucket/file.yaml' } } },
      P: { 'Fn::Sub': ['${X}', { X: { Ref: 'Y' } }] },
    });
  });

  test('GetAtt keeps dots after the first in the attribute name', () => {
    assert.deepEqual(plain(parseCloudFormationYaml('A: !GetAtt Db.Endpoint.Address').value), { A: { 'Fn::GetAtt': ['Db', 'Endpoint.Address'] } });
  });

  test('prototype keys are kept as own data, never as prototypes', () => {
    const value = parseCloudFormationYaml('__proto__: { polluted: true }\nconstructor: 2\nok: 1').value as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(value), null);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(value), ['__proto__', 'constructor', 'ok']);
    assert.deepEqual({ ...(value.__proto__ as object) }, { polluted: true });
    const json = parseJsonWithLines('{"__proto__": {"polluted": true}, "prototype": 3}').value as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(json), ['__proto__', 'prototype']);
  });

  test('alias bombs are refused, not expanded', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`);
    assert.throws(() => parseCloudFormationYaml(lines.join('\n')), /alias/);
  });

  test('resources get the line of their logical id', async () => {
    const t = await parseTemplateText('t.yaml', 'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n');
    assert.equal(t?.resources[0]?.line, 3);
  });

  test('any text either parses or throws a syntax error, never anything else (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          parseCloudFormationYaml(text);
        } catch (error) {
          assert.ok(error instanceof Error && error.name === 'YamlSyntaxError', String(error));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('detection of template kinds', () => {
  test('a YAML file that is not a template is skipped', async () => {
    assert.equal(await parseTemplateText('.github/workflows/ci.yml', 'on: push\njobs: {}\n'), undefined);
    assert.equal(await parseTemplateText('package.json', '{"name":"x"}'), undefined);
  });

  test('JSON CloudFormation, plans and Serverless are recognised', async () => {
    assert.equal((await parseTemplateText('t.json', '{"Resources":{"Q":{"Type":"AWS::SQS::Queue"}}}'))?.kind, 'cloudformation');
    assert.equal((await parseTemplateText('plan.json', await terraformPlanJson('resource "aws_sqs_queue" "q" {\n  name = "q"\n}\n')))?.kind, 'terraform-plan');
    assert.equal((await parseTemplateText('serverless.yml', 'service: s\nprovider: { name: aws }\n'))?.kind, 'serverless');
  });

  test('plan resources inside child modules are found', async () => {
    const plan = JSON.stringify({
      format_version: '1.2',
      planned_values: { root_module: { resources: [], child_modules: [{ address: 'module.queues', resources: [{ address: 'module.queues.aws_sqs_queue.jobs', mode: 'managed', type: 'aws_sqs_queue', name: 'jobs', values: { name: 'jobs' } }] }] } },
    });
    const t = await parseTemplateText('plan.json', plan);
    assert.deepEqual(t?.resources.map((r) => r.id), ['module.queues.aws_sqs_queue.jobs']);
  });
});

describe('parser robustness: a malformed template is reported and the scan goes on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-scan-'));
  writeFileSync(join(dir, 'broken.yaml'), 'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n   Properties: [unclosed\n');
  writeFileSync(join(dir, 'broken.json'), '{"Resources": {"Q": {"Type": "AWS::SQS::Queue",}}');
  writeFileSync(join(dir, 'broken.tf'), 'resource "aws_sqs_queue" "q" {\n  name = "q"\n');
  writeFileSync(join(dir, 'serverless.yml'), 'service: shop\nfunctions:\n  - [\n');
  writeFileSync(join(dir, 'good.yaml'), 'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n');
  writeFileSync(join(dir, 'good.tf'), 'resource "aws_sns_topic" "t" {\n  name = "t"\n}\n');
  mkdirSync(join(dir, 'node_modules'));
  writeFileSync(join(dir, 'node_modules', 'ignored.yaml'), 'Resources: [broken');
  writeFileSync(join(dir, 'tsconfig.json'), '{ // comments are not JSON\n "compilerOptions": {} }');

  test('each malformed file gets a clear error with its line, the others are scanned', async () => {
    const { templates, failures } = await loadTemplates([dir], dir);
    assert.deepEqual(templates.map((t) => t.file).sort(), ['good.tf', 'good.yaml']);
    assert.deepEqual(failures.map((f) => f.file).sort(), ['broken.json', 'broken.tf', 'broken.yaml', 'serverless.yml']);
    const tf = failures.find((f) => f.file === 'broken.tf');
    assert.match(tf?.message ?? '', /unclosed configuration block/);
    assert.equal(tf?.line, 1);
    assert.equal(typeof failures.find((f) => f.file === 'broken.yaml')?.line, 'number');
  });

  test('a binary file named like a template is one short failure, not one diagnostic per byte', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'palisade-scan-bin-'));
    // 100 KiB of bytes that are not UTF-8 text: HCL would report (and the report would carry) one
    // "invalid character" per byte, megabytes of output for one file.
    writeFileSync(join(bin, 'main.tf'), Buffer.alloc(100 * 1024, Buffer.from([0x00, 0xff])));
    writeFileSync(join(bin, 'serverless.yml'), Buffer.alloc(100 * 1024, Buffer.from([0xc3, 0x28])));
    const { templates, failures } = await loadTemplates([bin], bin);
    assert.deepEqual(templates, []);
    assert.deepEqual(failures.map((f) => f.file).sort(), ['main.tf', 'serverless.yml']);
    for (const f of failures) assert.ok(f.message.length <= 300, `${f.file}: a ${f.message.length}-character message`);
  });

  test('a path that does not exist is an error of its own', async () => {
    await assert.rejects(loadTemplates([join(dir, 'missing')]), { code: 'PAL_SCAN_PATH_NOT_FOUND' });
  });
});

describe('palisade manifests', () => {
  test('egress grants in the manifest form are read for the rules', async () => {
    const t = await parseTemplateText('palisade.yaml', 'functions:\n  billing:\n    source: f.ts\n    egress: [{ host: "*.stripe.com", ports: [443] }, { host: api.example.com }, "legacy.example:443"]\nroutes:\n  - { path: /p, function: billing }\n');
    assert.deepEqual(t?.palisade?.functions[0]?.egress, ['*.stripe.com:443', 'api.example.com', 'legacy.example:443']);
  });

  test('a segment\'s egress grants are read with the segment and the line they are written on, not copied to its functions', async () => {
    const t = await parseTemplateText('palisade.yaml', 'segments:\n  pay: { egress: [{ host: "*.bank.example" }] }\nfunctions:\n  billing: { source: f.ts, segment: pay, egress: [{ host: api.example.com }] }\n  web: { source: w.ts }\nroutes:\n  - { path: /p, function: billing }\n');
    assert.deepEqual(t?.palisade?.functions.map((f) => [f.name, f.egress]), [['billing', ['api.example.com']], ['web', []]]);
    assert.deepEqual(t?.palisade?.segments, [{ name: 'pay', egress: ['*.bank.example'], line: 2 }]);
  });

  test('route and role MFA are read as the manifest writes them', async () => {
    const t = await parseTemplateText('palisade.yaml', 'roles:\n  root: { mfa: required }\n  ops: { mfa: optional }\nfunctions:\n  u: { source: u.ts }\nroutes:\n  - { path: /a, function: u, allow: { roles: [admin] }, mfa: required }\n  - { path: /b, function: u, allow: { roles: [root] } }\n');
    assert.deepEqual(t?.palisade?.routes.map((r) => r.mfa), [true, false]);
    assert.deepEqual(t?.palisade?.mfaRoles, ['root']);
  });
});
