import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPalisadeError, PalisadeError } from '../../kernel/index.js';
import { builtinRules, failsThreshold, formatReport, loadTemplates, parseBaseline, reportFormats, scanTemplates, severities, type Baseline, type ReportFormat, type Severity } from '../../scan/index.js';
import { exitCodes, reportError, type Command } from '../cli-io.js';

function toolVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(fileURLToPath(import.meta.url), '..', '..', '..', '..', '..', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** `palisade scan [PATH...]`: compliance rules and secret detection over infrastructure code. */
export const scanCommand: Command = {
  name: 'scan',
  summary: 'check palisade.yaml, CloudFormation/SAM, Serverless and Terraform for security issues',
  usage: 'palisade scan [PATH...] [--format table|json|sarif|junit] [--fail-on SEVERITY] [--baseline FILE] [--json]',
  help: [
    'Scans the given files and directories (default: the current directory) for Palisade manifests,',
    'CloudFormation/SAM templates (YAML or JSON), serverless.yml, Terraform .tf files and',
    '`terraform show -json` plan files, runs every rule (docs/scan.md lists them) and searches every',
    'file for secrets, which are masked in the output.',
    '',
    'Suppress a finding with a comment on the line above it:',
    '  # palisade:ignore PAL-LAMBDA-009 reason why this is accepted',
    'or list it in a baseline file (--baseline). A suppression without a reason is itself a finding.',
    '',
    'Exit 0 when no active finding is at or above --fail-on (default: low) and every file parsed;',
    '2 when findings are at or above it; otherwise 3 when a template could not be parsed (the scan',
    'still covers the other files), a path does not exist or an option is invalid; 1 on a tool failure.',
  ].join('\n'),
  options: {
    format: { type: 'string', description: 'table (default), json, sarif or junit' },
    'fail-on': { type: 'string', description: `exit 2 at this severity or above: ${severities.join(', ')} or none (default: low)` },
    baseline: { type: 'string', description: 'JSON file of accepted findings (docs/scan.md)' },
    json: { type: 'boolean', description: 'same as --format json' },
  },
  async run(ctx) {
    try {
      const formatFlag = ctx.flags.format;
      const format = (ctx.json ? 'json' : typeof formatFlag === 'string' ? formatFlag : 'table') as ReportFormat;
      if (!(reportFormats as readonly string[]).includes(format)) throw new PalisadeError('PAL_CLI_USAGE', `unknown format \`${String(formatFlag)}\`; use one of ${reportFormats.join(', ')}`);
      const failOnFlag = ctx.flags['fail-on'];
      const failOn = (typeof failOnFlag === 'string' ? failOnFlag : 'low') as Severity | 'none';
      if (failOn !== 'none' && !(severities as readonly string[]).includes(failOn)) throw new PalisadeError('PAL_CLI_USAGE', `unknown severity \`${failOn}\`; use one of ${severities.join(', ')}, none`);
      let baseline: Baseline | undefined;
      const baselineFile = typeof ctx.flags.baseline === 'string' ? ctx.flags.baseline : undefined;
      if (baselineFile !== undefined) {
        let text: string;
        try {
          text = readFileSync(baselineFile, 'utf8');
        } catch (error) {
          throw new PalisadeError('PAL_SCAN_BASELINE_INVALID', `cannot read baseline \`${baselineFile}\``, { cause: error });
        }
        baseline = parseBaseline(text, baselineFile);
      }
      const paths = ctx.args.length > 0 ? ctx.args : ['.'];
      const { templates, failures } = await loadTemplates(paths);
      const report = scanTemplates(templates, builtinRules, { failures, ...(baseline === undefined ? {} : { baseline }), ...(baselineFile === undefined ? {} : { baselineFile }) });
      const output = formatReport(report, format, { failOn, toolVersion: toolVersion() });
      ctx.io.out(output);
      if (failsThreshold(report, failOn)) return exitCodes.denied;
      return report.failures.length > 0 ? exitCodes.invalidInput : exitCodes.ok;
    } catch (error) {
      const code = reportError(error, ctx.io, ctx.debug, ctx.json);
      // Scan input errors (a missing path, a bad baseline) are invalid input, not tool failures.
      return isPalisadeError(error) && error.code.startsWith('PAL_SCAN_') ? exitCodes.invalidInput : code;
    }
  },
};
