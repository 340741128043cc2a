import { detectSecrets } from '../detect-secrets.js';
import { templateKinds, type Rule, type RuleMeta } from '../model.js';

/** PAL-SECRET-001: Credential in a known format. */
export const knownSecretFormat: Rule = {
  id: 'PAL-SECRET-001',
  title: 'Credential in a known format',
  severity: 'critical',
  description: 'The file holds a value in a known credential format (AWS access key id, private key, GitHub, Slack, Stripe, Google, SendGrid or npm token, JSON Web Token). The value is masked in every report.',
  remediation: 'Revoke and rotate the credential, remove it from the file and its history, and load it from a secret store at run time.',
  frameworks: { owaspServerless: ['SAS-7'], palisade: ['secrets-never-leak'] },
  checkov: [],
  appliesTo: templateKinds,
  check(template) {
    return detectSecrets(template.text)
      .filter((h) => h.detector === 'known-format')
      .map((h) => ({ resource: h.name ?? `line ${h.line}`, message: `${h.kind} \`${h.masked}\``, line: h.line, key: `${h.kind}:${h.name ?? ''}:${h.masked}` }));
  },
};

/** PAL-SECRET-002: High-entropy literal under a secret-like name. */
export const highEntropySecret: Rule = {
  id: 'PAL-SECRET-002',
  title: 'High-entropy literal under a secret-like name',
  severity: 'high',
  description: 'A key named like a secret (`password`, `token`, `api_key`, `client_secret`, …) holds a literal, high-entropy value rather than a reference to a secret store.',
  remediation: 'Replace the literal with a reference (`{{resolve:secretsmanager:…}}`, `${ssm:…}`, a Terraform variable marked `sensitive` fed from a secret store) and rotate the value.',
  frameworks: { owaspServerless: ['SAS-7'], palisade: ['secrets-never-leak'] },
  checkov: [],
  appliesTo: templateKinds,
  check(template) {
    return detectSecrets(template.text)
      .filter((h) => h.detector === 'high-entropy')
      .map((h) => ({ resource: h.name ?? `line ${h.line}`, message: `\`${h.name ?? 'value'}\` holds a literal secret \`${h.masked}\``, line: h.line, key: `${h.name ?? ''}:${h.masked}` }));
  },
};

/** A suppression without a reason; reported by the scan itself, never by a template check. */
export const suppressionWithoutReason: RuleMeta = {
  id: 'PAL-SCAN-001',
  title: 'Suppression without a reason',
  severity: 'medium',
  description: 'An inline `palisade:ignore` comment or a baseline entry gives no reason. It does not suppress anything: a reviewer must be able to see why a finding is accepted.',
  remediation: 'Write the reason after the rule id (`# palisade:ignore PAL-LAMBDA-009 reached only from the VPC endpoint`), or in the baseline entry\'s `reason`.',
  frameworks: { palisade: ['fail-clear'] },
  checkov: [],
  appliesTo: templateKinds,
};
