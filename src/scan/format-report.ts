import { isAtLeast, severities, type Finding, type RuleMeta, type ScanReport, type Severity } from './model.js';

/** Output formats of `palisade scan`. */
export const reportFormats = ['table', 'json', 'sarif', 'junit'] as const;
/** One of {@link reportFormats}. */
export type ReportFormat = (typeof reportFormats)[number];

/** What formatters need besides the report. */
export interface FormatOptions {
  /** Findings at or above this severity fail the scan; `none` never fails. */
  readonly failOn: Severity | 'none';
  readonly toolVersion: string;
}

/** Findings that count: not suppressed. */
export function activeFindings(report: ScanReport): Finding[] {
  return report.findings.filter((f) => f.suppression === undefined);
}

/** True when an active finding is at or above the threshold. */
export function failsThreshold(report: ScanReport, failOn: Severity | 'none'): boolean {
  return failOn !== 'none' && activeFindings(report).some((f) => isAtLeast(f.severity, failOn));
}

const location = (f: { file: string; line?: number }) => (f.line === undefined ? f.file : `${f.file}:${f.line}`);

function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => severities.indexOf(a.severity) - severities.indexOf(b.severity) || a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || a.ruleId.localeCompare(b.ruleId));
}

/** The human table: one line per active finding, then parse failures and a summary. */
export function formatTable(report: ScanReport, options: FormatOptions): string {
  const active = sortFindings(activeFindings(report));
  const rows = active.map((f) => [f.severity.toUpperCase(), f.ruleId, location(f), f.resource, f.message]);
  const header = ['SEVERITY', 'RULE', 'LOCATION', 'RESOURCE', 'MESSAGE'];
  const widths = header.slice(0, 4).map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length))));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i < 4 ? c.padEnd(widths[i] ?? 0) : c)).join('  ').trimEnd();
  const out: string[] = [];
  if (rows.length > 0) out.push(line(header), ...rows.map(line));
  for (const failure of report.failures) out.push(`error PAL_SCAN_PARSE_FAILED: ${location(failure)}: ${failure.message}`);
  const suppressed = report.findings.length - active.length;
  const counts = severities.map((s) => [s, active.filter((f) => f.severity === s).length] as const).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`);
  out.push(
    `${active.length} finding${active.length === 1 ? '' : 's'}${counts.length > 0 ? ` (${counts.join(', ')})` : ''}${suppressed > 0 ? `, ${suppressed} suppressed` : ''} in ${report.files.length} file${report.files.length === 1 ? '' : 's'}` +
      `${report.failures.length > 0 ? `; ${report.failures.length} file${report.failures.length === 1 ? '' : 's'} could not be parsed` : ''}` +
      `${options.failOn === 'none' ? '' : `; failing on ${options.failOn} and above: ${failsThreshold(report, options.failOn) ? 'failed' : 'passed'}`}`,
  );
  return out.join('\n');
}

/** The JSON report (`--format json` or `--json`). */
export function formatJson(report: ScanReport, options: FormatOptions): string {
  const active = activeFindings(report);
  return JSON.stringify(
    {
      ok: !failsThreshold(report, options.failOn) && report.failures.length === 0,
      failOn: options.failOn,
      summary: Object.fromEntries(severities.map((s) => [s, active.filter((f) => f.severity === s).length])),
      findings: sortFindings(report.findings),
      failures: report.failures,
      files: report.files,
    },
    null,
    2,
  );
}

const SARIF_LEVEL: Readonly<Record<Severity, 'error' | 'warning' | 'note'>> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' };
/** GitHub code scanning reads `security-severity` (0–10) to rank alerts. */
const SECURITY_SEVERITY: Readonly<Record<Severity, string>> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '1.0' };

const toUri = (file: string) => encodeURI(file.split('\\').join('/'));

function sarifRule(rule: RuleMeta) {
  const refs = [...(rule.frameworks.cis ?? []), ...(rule.frameworks.owaspServerless ?? []).map((x) => `OWASP Serverless ${x}`), ...rule.checkov.map((x) => `Checkov ${x}`)];
  return {
    id: rule.id,
    name: rule.title.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c === undefined ? '' : c.toUpperCase())).replace(/^./, (c) => c.toUpperCase()),
    shortDescription: { text: rule.title },
    fullDescription: { text: rule.description },
    help: { text: `${rule.remediation}${refs.length > 0 ? `\nReferences: ${refs.join(', ')}` : ''}`, markdown: `**Remediation:** ${rule.remediation}${refs.length > 0 ? `\n\n**References:** ${refs.join(', ')}` : ''}` },
    defaultConfiguration: { level: SARIF_LEVEL[rule.severity] },
    properties: { tags: ['security', ...(rule.frameworks.owaspServerless ?? []), ...rule.checkov], precision: 'high', 'security-severity': SECURITY_SEVERITY[rule.severity], 'problem.severity': SARIF_LEVEL[rule.severity] === 'note' ? 'recommendation' : SARIF_LEVEL[rule.severity] },
  };
}

/** SARIF 2.1.0 (one run), as GitHub code scanning reads it. */
export function formatSarif(report: ScanReport, options: FormatOptions): string {
  const ruleIndex = new Map(report.rules.map((r, i) => [r.id, i]));
  const results = sortFindings(report.findings).map((f) => ({
    ruleId: f.ruleId,
    ruleIndex: ruleIndex.get(f.ruleId) ?? 0,
    level: SARIF_LEVEL[f.severity],
    message: { text: `${f.resource}: ${f.message}` },
    locations: [{ physicalLocation: { artifactLocation: { uri: toUri(f.file), uriBaseId: '%SRCROOT%' }, region: { startLine: f.line ?? 1 } } }],
    partialFingerprints: { 'palisadeFingerprint/v1': f.fingerprint },
    ...(f.suppression === undefined ? {} : { suppressions: [{ kind: f.suppression.kind === 'inline' ? 'inSource' : 'external', justification: f.suppression.reason }] }),
  }));
  const notifications = report.failures.map((failure) => ({
    level: 'error',
    message: { text: `PAL_SCAN_PARSE_FAILED: ${failure.message}` },
    locations: [{ physicalLocation: { artifactLocation: { uri: toUri(failure.file), uriBaseId: '%SRCROOT%' }, ...(failure.line === undefined ? {} : { region: { startLine: failure.line } }) } }],
  }));
  return JSON.stringify(
    {
      $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
      version: '2.1.0',
      runs: [
        {
          tool: { driver: { name: 'palisade', semanticVersion: options.toolVersion, version: options.toolVersion, rules: report.rules.map(sarifRule) } },
          invocations: [{ executionSuccessful: true, toolExecutionNotifications: notifications }],
          results,
        },
      ],
    },
    null,
    2,
  );
}

function xml(text: string): string {
  // Characters XML 1.0 forbids are dropped; the five specials are escaped.
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** JUnit XML: a suite per rule, a failing case per finding, a passing case for a clean rule. */
export function formatJunit(report: ScanReport, _options: FormatOptions): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  for (const rule of report.rules) {
    const mine = sortFindings(report.findings.filter((f) => f.ruleId === rule.id));
    const cases: string[] = [];
    let suiteFailures = 0;
    let suiteSkipped = 0;
    for (const f of mine) {
      const name = xml(`${location(f)} ${f.resource}`);
      if (f.suppression !== undefined) {
        suiteSkipped++;
        cases.push(`    <testcase classname="${xml(rule.id)}" name="${name}"><skipped message="${xml(`suppressed (${f.suppression.kind}): ${f.suppression.reason}`)}"/></testcase>`);
      } else {
        suiteFailures++;
        cases.push(`    <testcase classname="${xml(rule.id)}" name="${name}"><failure message="${xml(f.message)}" type="${f.severity}">${xml(`${f.severity.toUpperCase()} ${rule.id} ${rule.title}\n${location(f)} ${f.resource}: ${f.message}\nRemediation: ${rule.remediation}`)}</failure></testcase>`);
      }
    }
    if (mine.length === 0) cases.push(`    <testcase classname="${xml(rule.id)}" name="no findings"/>`);
    const suiteTests = Math.max(1, mine.length);
    tests += suiteTests;
    failures += suiteFailures;
    skipped += suiteSkipped;
    suites.push(`  <testsuite name="${xml(`${rule.id} ${rule.title}`)}" tests="${suiteTests}" failures="${suiteFailures}" errors="0" skipped="${suiteSkipped}">\n${cases.join('\n')}\n  </testsuite>`);
  }
  if (report.failures.length > 0) {
    errors = report.failures.length;
    tests += errors;
    const cases = report.failures.map((f) => `    <testcase classname="PAL_SCAN_PARSE_FAILED" name="${xml(location(f))}"><error message="${xml(f.message)}" type="PAL_SCAN_PARSE_FAILED"/></testcase>`);
    suites.push(`  <testsuite name="parse" tests="${errors}" failures="0" errors="${errors}" skipped="0">\n${cases.join('\n')}\n  </testsuite>`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="palisade scan" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}">\n${suites.join('\n')}\n</testsuites>`;
}

/** Formats a report. */
export function formatReport(report: ScanReport, format: ReportFormat, options: FormatOptions): string {
  switch (format) {
    case 'json':
      return formatJson(report, options);
    case 'sarif':
      return formatSarif(report, options);
    case 'junit':
      return formatJunit(report, options);
    default:
      return formatTable(report, options);
  }
}
