// Runs the real `palisade scan` CLI as a user would, on the fixtures in test/fixtures/scan.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const project = join('test', 'fixtures', 'scan', 'project');
const clean = join('test', 'fixtures', 'scan', 'clean');

function scan(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, 'scan', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface JsonReport {
  ok: boolean;
  findings: { ruleId: string; file: string; fingerprint: string; suppression?: { kind: string; reason: string } }[];
  failures: { file: string; message: string; line?: number }[];
}

describe('palisade scan (CLI)', () => {
  test('exits 2 when findings are at or above --fail-on, and lists them in a table', () => {
    const r = scan(project);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout, /CRITICAL\s+PAL-IAM-004\s+test\/fixtures\/scan\/project\/infra\/main.tf:16/);
    assert.match(r.stdout, /PAL_SCAN_PARSE_FAILED: test\/fixtures\/scan\/project\/infra\/broken.yaml:\d+/);
    assert.match(r.stdout, /2 suppressed/);
  });

  test('exits 0 on a clean template', () => {
    const r = scan(clean);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^0 findings in 1 file/m);
  });

  test('with --fail-on none, a template that could not be parsed still makes the run exit 3', () => {
    assert.equal(scan(project, '--fail-on', 'none').code, 3);
  });

  test('malformed templates alone: a clear error for the file, exit 3, the scan goes on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-scan-cli-'));
    writeFileSync(join(dir, 'bad.tf'), 'resource "aws_sqs_queue" "q" {\n');
    writeFileSync(join(dir, 'ok.tf'), 'resource "aws_sqs_queue" "q" {\n  name = "q"\n}\n');
    const r = scan(dir, '--json');
    assert.equal(r.code, 2);
    const report = JSON.parse(r.stdout) as JsonReport;
    assert.deepEqual(report.failures.map((f) => f.file.endsWith('bad.tf')), [true]);
    assert.ok(report.findings.some((f) => f.ruleId === 'PAL-SQS-001' && f.file.endsWith('ok.tf')));
  });

  test('a path that does not exist, an unknown format or severity are invalid input (exit 3)', () => {
    const missing = scan('no/such/dir');
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /PAL_SCAN_PATH_NOT_FOUND/);
    assert.equal(scan(clean, '--format', 'xml').code, 3);
    assert.equal(scan(clean, '--fail-on', 'severe').code, 3);
  });

  test('--fail-on critical fails on critical findings only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-scan-cli-'));
    writeFileSync(join(dir, 'q.tf'), 'resource "aws_sqs_queue" "q" {\n  name = "q"\n}\n');
    assert.equal(scan(dir, '--fail-on', 'critical').code, 0);
    assert.equal(scan(dir, '--fail-on', 'medium').code, 2);
  });

  test('--format sarif prints SARIF 2.1.0 and --format junit prints JUnit XML', () => {
    const sarif = JSON.parse(scan(project, '--format', 'sarif').stdout) as { version: string; runs: { results: unknown[] }[] };
    assert.equal(sarif.version, '2.1.0');
    assert.ok((sarif.runs[0]?.results.length ?? 0) > 10);
    assert.match(scan(project, '--format', 'junit').stdout, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="palisade scan"/);
  });

  test('a baseline accepts findings by fingerprint; an entry without a reason is a finding', () => {
    const report = JSON.parse(scan(project, '--json').stdout) as JsonReport;
    const kms = report.findings.find((f) => f.ruleId === 'PAL-KMS-001');
    assert.ok(kms !== undefined);
    const dir = mkdtempSync(join(tmpdir(), 'palisade-scan-cli-'));
    const good = join(dir, 'baseline.json');
    writeFileSync(good, JSON.stringify({ version: 1, findings: [{ ruleId: 'PAL-KMS-001', fingerprint: kms.fingerprint, reason: 'key replaced next quarter' }] }));
    const withBaseline = JSON.parse(scan(project, '--json', '--baseline', good).stdout) as JsonReport;
    assert.deepEqual(withBaseline.findings.find((f) => f.ruleId === 'PAL-KMS-001')?.suppression, { kind: 'baseline', reason: 'key replaced next quarter' });
    const noReason = join(dir, 'no-reason.json');
    writeFileSync(noReason, JSON.stringify({ version: 1, findings: [{ ruleId: 'PAL-KMS-001', fingerprint: kms.fingerprint, reason: '' }] }));
    const r = JSON.parse(scan(project, '--json', '--baseline', noReason).stdout) as JsonReport;
    assert.equal(r.findings.find((f) => f.ruleId === 'PAL-KMS-001')?.suppression, undefined);
    assert.ok(r.findings.some((f) => f.ruleId === 'PAL-SCAN-001' && f.file === noReason));
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"version": 1}');
    const bad = scan(project, '--baseline', broken);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /PAL_SCAN_BASELINE_INVALID/);
  });

  test('no output format shows the secret in the fixture, only its mask', () => {
    for (const format of ['table', 'json', 'sarif', 'junit']) {
      const r = scan(project, '--format', format);
      assert.ok(!`${r.stdout}${r.stderr}`.includes('AKIAZ3MDQ7EXAMPLE2KQ'), format);
      assert.ok(r.stdout.includes('AKIA****'), format);
    }
  });

  test('--help describes the command and exits 0', () => {
    const r = scan('--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /usage: palisade scan \[PATH\.\.\.\]/);
    assert.match(r.stdout, /--fail-on/);
  });
});
