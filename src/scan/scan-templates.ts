import { createHash } from 'node:crypto';
import type { Finding, ParseFailure, Rule, RuleMeta, ScanReport, Template } from './model.js';
import { suppressionWithoutReason } from './rules/secret-rules.js';
import { coveredLines, parseInlineSuppressions, type Baseline } from './suppressions.js';

/** Options of {@link scanTemplates}. */
export interface ScanOptions {
  readonly baseline?: Baseline;
  /** Name of the baseline file, for findings about its entries. */
  readonly baselineFile?: string;
  /** Files that failed to parse; carried into the report. */
  readonly failures?: readonly ParseFailure[];
}

/** A stable fingerprint: rule, file, resource and detail, not the line (lines move). */
export function fingerprintOf(ruleId: string, file: string, resource: string, key: string): string {
  return createHash('sha256').update(`${ruleId}\u0000${file}\u0000${resource}\u0000${key}`).digest('hex').slice(0, 32);
}

/**
 * Runs rules over parsed templates and applies inline and baseline suppressions. Pure: no I/O.
 * A suppression without a reason suppresses nothing and is itself a finding (`PAL-SCAN-001`).
 *
 * @example
 * ```ts
 * const report = scanTemplates([template], builtinRules);
 * report.findings.filter((f) => f.suppression === undefined);
 * ```
 */
export function scanTemplates(templates: readonly Template[], rules: readonly Rule[], options: ScanOptions = {}): ScanReport {
  const findings: Finding[] = [];
  const baseline = new Map<string, string>();
  for (const entry of options.baseline?.findings ?? []) {
    if (entry.reason.trim() === '') {
      const file = options.baselineFile ?? 'baseline';
      findings.push(meta(suppressionWithoutReason, file, undefined, `baseline entry ${entry.ruleId} ${entry.fingerprint}`, `baseline entry for \`${entry.ruleId}\` (\`${entry.fingerprint}\`) has no reason`, entry.fingerprint));
      continue;
    }
    baseline.set(`${entry.ruleId}:${entry.fingerprint}`, entry.reason.trim());
  }

  for (const template of templates) {
    const inline = parseInlineSuppressions(template.text);
    const accepted = new Map<string, string>(); // `${ruleId}:${line}` -> reason
    for (const s of inline) {
      if (s.reason === '') {
        findings.push(meta(suppressionWithoutReason, template.file, s.line, `line ${s.line}`, `\`palisade:ignore ${s.ruleId}\` has no reason`, `${s.ruleId}:${s.line}`));
        continue;
      }
      for (const line of coveredLines(template.text, s.line)) accepted.set(`${s.ruleId}:${line}`, s.reason);
    }
    for (const rule of rules) {
      if (!rule.appliesTo.includes(template.kind)) continue;
      for (const hit of rule.check(template)) {
        const fingerprint = fingerprintOf(rule.id, template.file, hit.resource, hit.key ?? hit.message);
        const inlineReason = hit.line === undefined ? undefined : accepted.get(`${rule.id}:${hit.line}`);
        const baselineReason = baseline.get(`${rule.id}:${fingerprint}`);
        const suppression = inlineReason !== undefined ? { kind: 'inline' as const, reason: inlineReason } : baselineReason !== undefined ? { kind: 'baseline' as const, reason: baselineReason } : undefined;
        findings.push({
          ruleId: rule.id,
          severity: rule.severity,
          title: rule.title,
          file: template.file,
          ...(hit.line === undefined ? {} : { line: hit.line }),
          resource: hit.resource,
          message: hit.message,
          fingerprint,
          ...(suppression === undefined ? {} : { suppression }),
        });
      }
    }
  }
  const ruleMetas: RuleMeta[] = [...rules.map(stripCheck), suppressionWithoutReason];
  return {
    findings,
    failures: options.failures ?? [],
    files: templates.map((t) => ({ file: t.file, kind: t.kind })),
    rules: ruleMetas,
  };
}

function stripCheck(rule: Rule): RuleMeta {
  const { check: _check, ...rest } = rule;
  return rest;
}

function meta(rule: RuleMeta, file: string, line: number | undefined, resource: string, message: string, key: string): Finding {
  return { ruleId: rule.id, severity: rule.severity, title: rule.title, file, ...(line === undefined ? {} : { line }), resource, message, fingerprint: fingerprintOf(rule.id, file, resource, key) };
}
