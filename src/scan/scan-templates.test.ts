import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { detectSecrets, maskSecret } from './detect-secrets.js';
import { formatReport, reportFormats } from './format-report.js';
import { parseTemplateText } from './load-templates.js';
import type { Template } from './model.js';
import { builtinRules } from './rules/index.js';
import { scanTemplates } from './scan-templates.js';
import { parseBaseline } from './suppressions.js';
import { terraformPlanJson } from './test-fixtures.js';

const require = createRequire(import.meta.url);

async function load(file: string, text: string): Promise<Template> {
  const t = await parseTemplateText(file, text);
  assert.ok(t !== undefined);
  return t;
}

const QUEUE = (comment = '') => `AWSTemplateFormatVersion: "2010-09-09"\nResources:\n${comment}  Jobs:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: jobs\n`;
const sqsRule = builtinRules.filter((r) => r.id === 'PAL-SQS-001');

describe('resource names', () => {
  test('a resource named like a prototype key is scanned like any other (YAML and JSON)', async () => {
    for (const name of ['constructor', 'prototype', '__proto__']) {
      const yaml = scanTemplates([await load('t.yaml', QUEUE().replace('Jobs:', `${name}:`))], sqsRule);
      assert.deepEqual(yaml.findings.map((f) => f.resource), [name], `yaml: ${name}`);
      const json = scanTemplates([await load('t.json', JSON.stringify({ AWSTemplateFormatVersion: '2010-09-09', Resources: { [name]: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'jobs' } } } }))], sqsRule);
      assert.deepEqual(json.findings.map((f) => f.resource), [name], `json: ${name}`);
    }
  });
});

describe('inline suppressions', () => {
  test('a comment with a reason above the resource suppresses the finding and keeps the reason', async () => {
    const report = scanTemplates([await load('t.yaml', QUEUE('  # palisade:ignore PAL-SQS-001 messages are public catalog events\n'))], sqsRule);
    assert.equal(report.findings.length, 1);
    assert.deepEqual(report.findings[0]?.suppression, { kind: 'inline', reason: 'messages are public catalog events' });
  });

  test('a comment for another rule suppresses nothing', async () => {
    const report = scanTemplates([await load('t.yaml', QUEUE('  # palisade:ignore PAL-SNS-001 not this one\n'))], sqsRule);
    assert.equal(report.findings[0]?.suppression, undefined);
  });

  test('a comment without a reason suppresses nothing and is itself a finding', async () => {
    const report = scanTemplates([await load('t.yaml', QUEUE('  # palisade:ignore PAL-SQS-001\n'))], sqsRule);
    const ids = report.findings.map((f) => [f.ruleId, f.suppression?.kind ?? 'active']);
    assert.deepEqual(ids.sort(), [['PAL-SCAN-001', 'active'], ['PAL-SQS-001', 'active']]);
    assert.equal(report.findings.find((f) => f.ruleId === 'PAL-SCAN-001')?.line, 3);
  });

  test('Terraform comments suppress too (# and //)', async () => {
    for (const c of ['#', '//']) {
      const t = await load('main.tf', `${c} palisade:ignore PAL-SQS-001 encrypted by the consumer\nresource "aws_sqs_queue" "jobs" {\n  name = "jobs"\n}\n`);
      assert.equal(scanTemplates([t], sqsRule).findings[0]?.suppression?.kind, 'inline');
    }
  });
});

describe('baseline', () => {
  test('an entry with a reason suppresses the finding with that fingerprint only', async () => {
    const t = await load('t.yaml', QUEUE());
    const [finding] = scanTemplates([t], sqsRule).findings;
    assert.ok(finding !== undefined);
    const baseline = parseBaseline(JSON.stringify({ version: 1, findings: [{ ruleId: 'PAL-SQS-001', fingerprint: finding.fingerprint, reason: 'accepted until the queue is retired' }] }), 'b.json');
    assert.equal(scanTemplates([t], sqsRule, { baseline }).findings[0]?.suppression?.kind, 'baseline');
    const other = await load('other.yaml', QUEUE());
    assert.equal(scanTemplates([other], sqsRule, { baseline }).findings[0]?.suppression, undefined, 'fingerprints include the file');
  });

  test('fingerprints survive lines moving', async () => {
    const a = scanTemplates([await load('t.yaml', QUEUE())], sqsRule).findings[0];
    const b = scanTemplates([await load('t.yaml', QUEUE('  # a comment that moves every line\n'))], sqsRule).findings[0];
    assert.notEqual(a?.line, b?.line);
    assert.equal(a?.fingerprint, b?.fingerprint);
  });

  test('an entry without a reason suppresses nothing and is a finding', async () => {
    const t = await load('t.yaml', QUEUE());
    const fp = scanTemplates([t], sqsRule).findings[0]?.fingerprint ?? '';
    const baseline = parseBaseline(JSON.stringify({ version: 1, findings: [{ ruleId: 'PAL-SQS-001', fingerprint: fp, reason: '  ' }] }), 'b.json');
    const report = scanTemplates([t], sqsRule, { baseline, baselineFile: 'b.json' });
    assert.deepEqual(report.findings.map((f) => [f.ruleId, f.file, f.suppression]).sort(), [['PAL-SCAN-001', 'b.json', undefined], ['PAL-SQS-001', 't.yaml', undefined]]);
  });

  test('a malformed baseline is rejected with PAL_SCAN_BASELINE_INVALID', () => {
    for (const text of ['not json', '{"version":2,"findings":[]}', '{"version":1,"findings":[{"ruleId":"PAL-SQS-001","fingerprint":"abc"}]}', '{"version":1,"findings":[],"__proto__":{"x":1}}']) {
      assert.throws(() => parseBaseline(text, 'b.json'), { code: 'PAL_SCAN_BASELINE_INVALID' }, text);
    }
  });
});

describe('secret detection', () => {
  const SECRETS = ['AKIAZ3MDQ7EXAMPLE2KQ', 'ghp_R4nd0mT0k3nV4lu3F0rT3st1ngOnly123456', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'Zq8#vL2!mT9@pW4x'];
  const text = `AWSTemplateFormatVersion: "2010-09-09"\nParameters:\n  AdminPassword:\n    Type: String\n    Default: "${SECRETS[3] ?? ''}"\nResources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Environment:\n        Variables:\n          AWS_ACCESS_KEY_ID: ${SECRETS[0] ?? ''}\n          GITHUB_TOKEN: ${SECRETS[1] ?? ''}\n          STRIPE: ${SECRETS[2] ?? ''}\n`;

  test('finds known formats and high-entropy values under secret-like names, with lines', () => {
    const hits = detectSecrets(text);
    assert.deepEqual(hits.map((h) => [h.line, h.detector]), [[5, 'high-entropy'], [12, 'known-format'], [13, 'known-format'], [14, 'known-format']]);
    assert.equal(hits[0]?.name, 'AdminPassword');
  });

  test('does not flag references, placeholders or ordinary values', () => {
    const clean = 'password: ${ssm:/app/password}\ntoken: "{{resolve:secretsmanager:app:SecretString:token}}"\napi_key: !Ref ApiKey\npassword_length: 32\nsecret_name: prod-db-credentials\ndescription: the token is rotated daily\nkey: value\n';
    assert.deepEqual(detectSecrets(clean), []);
  });

  test('the full value appears in no output format; only the mask does', async () => {
    const report = scanTemplates([await load('template.yaml', text), await load('plan.json', await terraformPlanJson(`variable "db_password" {\n  default = "${SECRETS[3] ?? ''}"\n}\n`))], builtinRules);
    assert.ok(report.findings.filter((f) => f.ruleId.startsWith('PAL-SECRET') || f.ruleId === 'PAL-LAMBDA-001').length >= 5);
    for (const format of reportFormats) {
      const out = formatReport(report, format, { failOn: 'low', toolVersion: '0.1.0' });
      for (const secret of SECRETS) {
        assert.ok(!out.includes(secret), `${format} output leaks ${maskSecret(secret)}`);
        assert.ok(!out.includes(secret.slice(4)), `${format} output leaks the tail of ${maskSecret(secret)}`);
      }
      assert.ok(out.includes('AKIA****'), `${format} shows the mask`);
    }
  });

  test('masks keep at most four characters', () => {
    assert.equal(maskSecret('AKIAZ3MDQ7EXAMPLE2KQ'), 'AKIA****************');
    assert.equal(maskSecret('short'), '********');
  });
});

describe('SARIF 2.1.0 and JUnit output', () => {
  async function sampleReport() {
    const t = await load('infra/template.yaml', `${QUEUE('  # palisade:ignore PAL-SQS-001 public catalog events only\n')}  Topic:\n    Type: AWS::SNS::Topic\n`);
    return scanTemplates([t], builtinRules, { failures: [{ file: 'infra/broken.yaml', message: 'unexpected end of the stream', line: 4 }] });
  }

  // The published schema's `language` pattern is not valid under the u flag, hence unicodeRegExp: false.
  test('the SARIF output validates against the SARIF 2.1.0 JSON Schema', async () => {
    const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8')) as Record<string, unknown>;
    const AjvDraft04 = (require('ajv-draft-04') as { default: new (o: object) => { compile(s: object): ((d: unknown) => boolean) & { errors?: unknown } } }).default;
    const addFormats = (require('ajv-formats') as { default: (a: unknown) => void }).default;
    const ajv = new AjvDraft04({ allErrors: true, strict: false, unicodeRegExp: false });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    const sarif = JSON.parse(formatReport(await sampleReport(), 'sarif', { failOn: 'low', toolVersion: '0.1.0' })) as { runs: { results: { ruleId: string; suppressions?: unknown[]; properties?: unknown }[]; tool: { driver: { rules: { id: string; properties: Record<string, string> }[] } }; invocations: { toolExecutionNotifications: unknown[] }[] }[] };
    assert.ok(validate(sarif), JSON.stringify(validate.errors, null, 2));
    const run = sarif.runs[0];
    assert.ok(run !== undefined);
    assert.deepEqual(run.results.map((r) => [r.ruleId, r.suppressions === undefined ? 'active' : 'suppressed']).filter(([id]) => id === 'PAL-SQS-001' || id === 'PAL-SNS-001').sort(), [['PAL-SNS-001', 'active'], ['PAL-SQS-001', 'suppressed']]);
    assert.equal(run.tool.driver.rules.find((r) => r.id === 'PAL-IAM-004')?.properties['security-severity'], '9.5');
    assert.equal(run.invocations[0]?.toolExecutionNotifications.length, 1);
  });

  test('a SARIF document that breaks the schema is rejected by the same validator', () => {
    const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8')) as Record<string, unknown>;
    const AjvDraft04 = (require('ajv-draft-04') as { default: new (o: object) => { compile(s: object): (d: unknown) => boolean } }).default;
    const validate = new AjvDraft04({ strict: false, unicodeRegExp: false }).compile(schema);
    assert.equal(validate({ version: '2.1.0', runs: [{ tool: { driver: {} }, results: [] }] }), false);
  });

  test('JUnit output is well-formed and counts failures, skips and parse errors', async () => {
    const xml = formatReport(await sampleReport(), 'junit', { failOn: 'low', toolVersion: '0.1.0' });
    assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="palisade scan" tests="\d+" failures="(\d+)" errors="1" skipped="1">/);
    const open = (xml.match(/<(testsuites|testsuite|testcase)[\s>]/g) ?? []).length;
    const selfClosed = (xml.match(/<testcase [^>]*\/>/g) ?? []).length;
    const closed = (xml.match(/<\/(testsuites|testsuite|testcase)>/g) ?? []).length;
    assert.equal(open, closed + selfClosed);
    assert.match(xml, /<testcase classname="PAL-SNS-001" name="infra\/template.yaml:\d+ Topic"><failure message="the topic has no server-side encryption" type="medium">/);
    assert.match(xml, /<testcase classname="PAL_SCAN_PARSE_FAILED" name="infra\/broken.yaml:4"><error/);
  });

  test('XML special characters in messages are escaped', async () => {
    const t = await load('a&b<c>.yaml', QUEUE());
    const xml = formatReport(scanTemplates([t], sqsRule), 'junit', { failOn: 'low', toolVersion: '0' });
    assert.ok(xml.includes('a&amp;b&lt;c&gt;.yaml') && !xml.includes('a&b<c>'));
  });
});
