import { checkManifest, type Manifest } from '../../manifest/index.js';
import { bundleFunction } from '../../runtime/index.js';
import { loadPolicySet } from '../../policy/index.js';
import { formatDiagnostic, isPalisadeError, PalisadeError, type Diagnostic } from '../../kernel/index.js';
import { exitCodes, type Command } from '../cli-io.js';

/** `palisade validate [DIR]`: checks the manifest and compiles every function. */
export const validateCommand: Command = {
  name: 'validate',
  summary: 'check palisade.yaml and compile every function',
  usage: 'palisade validate [DIR] [--json]',
  help: 'Validates DIR/palisade.yaml (default: the current directory) against the schema and the\ncross-reference rules, validates the Cedar policies (generated and `policies:` files) against the\nPalisade schema, then bundles every function to catch syntax errors and missing imports. Warns\nabout private routes without `allow` (only the `admin` role reaches them). Exit 0 when valid, 3 when not.',
  options: { json: { type: 'boolean', description: 'print the result as JSON' } },
  async run(ctx) {
    const dir = ctx.args[0] ?? '.';
    if (ctx.args.length > 1) throw new PalisadeError('PAL_CLI_USAGE', `unexpected argument \`${ctx.args[1] ?? ''}\`; usage: ${validateCommand.usage}`);
    const result = checkManifest(dir);
    const problems: Diagnostic[] = [...result.errors];
    const warnings: Diagnostic[] = [...result.warnings];
    if (result.ok && result.value !== undefined) {
      const policies = loadPolicySet(result.value);
      problems.push(...policies.errors);
      warnings.push(...policies.warnings);
      problems.push(...(await compileAll(result.value)));
    }
    if (ctx.json) {
      ctx.io.out(JSON.stringify({ ok: problems.length === 0, errors: problems, warnings }, null, 2));
      return problems.length === 0 ? exitCodes.ok : exitCodes.invalidInput;
    }
    for (const w of warnings) ctx.io.err(formatDiagnostic(w));
    if (problems.length === 0) {
      ctx.io.out(`${dir}/palisade.yaml is valid (${result.value?.functions.size ?? 0} functions, ${result.value?.routes.length ?? 0} routes)`);
    } else {
      for (const d of problems) ctx.io.err(formatDiagnostic(d));
      ctx.io.err(`${problems.length} problem${problems.length === 1 ? '' : 's'} found`);
    }
    return problems.length === 0 ? exitCodes.ok : exitCodes.invalidInput;
  },
};

async function compileAll(manifest: Manifest): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (const fn of manifest.functions.values()) {
    try {
      await bundleFunction(fn, manifest.projectDir);
    } catch (error) {
      if (!isPalisadeError(error)) throw error;
      out.push({ code: error.code, severity: 'error', path: `functions.${fn.name}.source`, message: error.message, hint: 'fix the function source at the reported position' });
    }
  }
  return out;
}
