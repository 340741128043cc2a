export {
  severities,
  templateKinds,
  isAtLeast,
  type Severity,
  type TemplateKind,
  type Template,
  type Resource,
  type Rule,
  type RuleMeta,
  type RuleHit,
  type RuleFrameworks,
  type Finding,
  type ParseFailure,
  type ScanReport,
  type Suppression,
  type Unresolved,
  type PalisadeProjectView,
} from './model.js';
export { builtinRules } from './rules/index.js';
export { suppressionWithoutReason } from './rules/secret-rules.js';
export { scanTemplates, fingerprintOf, type ScanOptions } from './scan-templates.js';
export { loadTemplates, discoverFiles, parseTemplateText, MAX_TEMPLATE_BYTES, type LoadResult } from './load-templates.js';
export { parseBaseline, parseInlineSuppressions, type Baseline, type BaselineEntry, type InlineSuppression } from './suppressions.js';
export { detectSecrets, maskSecret, shannonEntropy, type SecretHit } from './detect-secrets.js';
export { formatReport, formatSarif, formatJunit, formatJson, formatTable, failsThreshold, activeFindings, reportFormats, type ReportFormat, type FormatOptions } from './format-report.js';
export { renderScanReference } from './render-scan-reference.js';
export { parseCloudFormationYaml } from './parse-yaml.js';
