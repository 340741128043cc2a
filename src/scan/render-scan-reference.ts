import type { RuleMeta, TemplateKind } from './model.js';
import { builtinRules } from './rules/index.js';
import { suppressionWithoutReason } from './rules/secret-rules.js';

const KIND_LABEL: Readonly<Record<TemplateKind, string>> = {
  cloudformation: 'CloudFormation/SAM',
  serverless: 'Serverless',
  terraform: 'Terraform',
  'terraform-plan': 'Terraform plan',
  palisade: 'palisade.yaml',
};

const cell = (s: string) => s.replace(/\|/g, '\\|');

function ruleSection(rule: RuleMeta): string {
  const f = rule.frameworks;
  const maps = [
    ...(f.cis ?? []),
    ...(f.owaspServerless ?? []).map((x) => `OWASP Serverless Top 10 ${x}`),
    ...(f.palisade ?? []).map((x) => `Palisade principle \`${x}\``),
  ];
  return [
    `### ${rule.id}: ${rule.title}`,
    '',
    `- **Severity**: ${rule.severity}`,
    `- **Reads**: ${rule.appliesTo.map((k) => KIND_LABEL[k]).join(', ')}`,
    `- **Checkov equivalent**: ${rule.checkov.length > 0 ? rule.checkov.map((c) => `\`${c}\``).join(', ') : 'none'}`,
    `- **Maps to**: ${maps.length > 0 ? maps.join('; ') : '—'}`,
    '',
    rule.description,
    '',
    `**Fix**: ${rule.remediation}`,
    '',
  ].join('\n');
}

/**
 * Renders docs/scan.md from the rule metadata. A test fails when the committed file differs;
 * `npm run generate` rewrites it.
 *
 * @example
 * ```ts
 * writeFileSync('docs/scan.md', renderScanReference());
 * ```
 */
export function renderScanReference(rules: readonly RuleMeta[] = [...builtinRules, suppressionWithoutReason]): string {
  const table = ['| rule | severity | title | Checkov |', '| --- | --- | --- | --- |', ...rules.map((r) => `| [${r.id}](#${r.id.toLowerCase()}-${r.title.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')}) | ${r.severity} | ${cell(r.title)} | ${r.checkov.length > 0 ? r.checkov.join(', ') : '—'} |`)];
  return `<!-- Generated from src/scan/rules by \`npm run generate\`. Do not edit by hand. -->
# \`palisade scan\`: compliance as code

\`palisade scan\` checks infrastructure code in CI with the rules that guard a Palisade deployment:
Palisade manifests (\`palisade.yaml\`), AWS CloudFormation and SAM templates (YAML, with the
short-form tags \`!Ref\`, \`!Sub\`, \`!GetAtt\`, …, and JSON), Serverless Framework projects
(\`serverless.yml\`: functions, \`provider.iam\`, and \`resources:\` as CloudFormation) and Terraform
(\`.tf\` files through HashiCorp's HCL parser, and \`terraform show -json\` plan files). Every scanned
file is also searched for secrets; a secret's value is masked in every report.

\`\`\`sh
palisade scan                                  # the current directory
palisade scan infra/ serverless.yml plan.json  # files and directories
palisade scan --format sarif > palisade.sarif  # for GitHub code scanning
palisade scan --format junit > palisade.xml    # for CI test reports
palisade scan --fail-on high                   # exit 2 only for high and critical findings
palisade scan --baseline .palisade-baseline.json
\`\`\`

## Options and exit codes

| option | meaning |
| --- | --- |
| \`--format table\\|json\\|sarif\\|junit\` | output format (default \`table\`); \`--json\` is \`--format json\` |
| \`--fail-on SEVERITY\` | \`critical\`, \`high\`, \`medium\`, \`low\` (default), \`info\` or \`none\` |
| \`--baseline FILE\` | accept the findings listed in FILE (see below) |

Exit codes: \`0\` no active finding at or above \`--fail-on\` and every file parsed; \`2\` findings at or
above \`--fail-on\`; otherwise \`3\` for invalid input (a template that could not be parsed, a path that
does not exist, a bad option, an invalid baseline); \`1\` a failure of the tool itself. A malformed template is
reported with its file and line (\`PAL_SCAN_PARSE_FAILED\`) and the scan goes on with the other files.

Directories are searched for \`*.yaml\`, \`*.yml\`, \`*.json\`, \`*.template\` and \`*.tf\`, skipping
\`node_modules\`, \`.git\`, \`.terraform\`, \`.serverless\`, \`.aws-sam\`, \`cdk.out\`, \`dist\` and
\`.palisade\`. YAML and JSON files that are neither CloudFormation, Serverless, a Terraform plan nor a
Palisade manifest are skipped.

## Values a template does not fix

Rules treat unresolved values the way Checkov does, so that verdicts can be compared rule by rule:

- CloudFormation \`Ref\` to a parameter with a \`Default\` takes the default; any other \`Ref\`
  (a resource, a pseudo parameter, a parameter without default) is unresolved.
- Terraform \`var.x\` takes the variable's \`default\`; any other expression (\`\${aws_kms_key.k.arn}\`,
  \`local.x\`, \`jsonencode(…)\`) is unresolved. In a plan file, attributes "known after apply" are
  unresolved.
- Serverless variables (\`\${ssm:…}\`, \`\${self:…}\`, \`\${env:…}\`) are unresolved.
- An unresolved value counts as **set** (a check that a setting exists passes) and as **passing**
  a comparison (\`EnableKeyRotation: !Ref Rotate\` passes). Other intrinsic functions
  (\`Fn::If\`, \`Fn::Sub\`, …) count as set but never equal a literal.
- Terraform modules are not expanded from \`.tf\` sources; scan a plan file to check module contents.

## Suppressions

Inline, on the line above the resource (or the flagged line), in YAML or HCL:

\`\`\`yaml
Resources:
  # palisade:ignore PAL-LAMBDA-009 reaches only public APIs; no VPC needed
  Thumbnailer:
    Type: AWS::Lambda::Function
\`\`\`

A baseline file accepts findings by fingerprint (\`palisade scan --json\` prints each finding's
\`fingerprint\`; fingerprints do not depend on line numbers):

\`\`\`json
{
  "version": 1,
  "findings": [
    { "ruleId": "PAL-LAMBDA-004", "fingerprint": "0f4c…", "reason": "concurrency is capped by the account quota", "file": "template.yaml", "resource": "Thumbnailer" }
  ]
}
\`\`\`

A suppression without a reason suppresses nothing and is itself a finding (\`PAL-SCAN-001\`).
Suppressed findings stay in JSON and SARIF output, marked as suppressed, so the exception remains
visible in review.

## CI: GitHub code scanning

\`\`\`yaml
# .github/workflows/palisade-scan.yml
name: palisade scan
on: [push, pull_request]
permissions:
  contents: read
  security-events: write
jobs:
  scan:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with: { node-version: 22 }
      - run: npm ci
      - run: npx palisade scan --format sarif --fail-on none > palisade.sarif
      - uses: github/codeql-action/upload-sarif@v3
        with: { sarif_file: palisade.sarif, category: palisade }
      - run: npx palisade scan --fail-on high   # the gate: fail the job on high and critical
\`\`\`

SARIF results carry \`security-severity\` (critical 9.5, high 8.0, medium 5.5, low 3.0, info 1.0) so that
code scanning ranks them, and \`partialFingerprints\` so that an alert follows its resource when
lines move. For other CI systems, \`--format junit\` gives one test case per finding.

## Rules

${table.join('\n')}

${rules.map(ruleSection).join('\n')}`;
}
