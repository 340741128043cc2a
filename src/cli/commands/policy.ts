import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DiagnosticsError, formatDiagnostic, PalisadeError, safeJsonParse, type Diagnostic } from '../../kernel/index.js';
import { checkManifest, loadManifest, type Manifest } from '../../manifest/index.js';
import { checkPolicyCase, createPolicyAuthorizer, decidePolicyCase, formatOrigin, loadPolicySet, parsePolicyTests, type CompiledPolicySet, type PolicyAuthorizer, type PolicyCase, type PolicyDecision } from '../../policy/index.js';
import { exitCodes, type CommandContext, type Command } from '../cli-io.js';

const VERBS = ['show', 'validate', 'test', 'explain'] as const;

/** `palisade policy show|validate|test|explain [DIR]`: the tools for people who write policies. */
export const policyCommand: Command = {
  name: 'policy',
  summary: 'show, validate, test and explain the Cedar policies',
  usage: 'palisade policy <show|validate|test|explain> [DIR] [--principal ISSUER:ID] [--role ROLE]... [--mfa] [--action ACTION] [--resource RESOURCE] [--context JSON] [--json]',
  help: [
    'The effective policy set is the policies generated from palisade.yaml (`allow`, `mfa`,',
    'service bindings) plus the `.cedar` files under `policies:`. See docs/authorization.md.',
    '',
    '  show       every policy with its id, origin (file:line) and text',
    '  validate   validates the set against the Palisade schema (strict); exit 0 valid, 3 invalid',
    '  test       runs DIR/policies/tests/*.yaml (principal, action, resource, context → expect);',
    '             exit 0 when all pass, 2 when one fails (its determining policies are shown)',
    '  explain    decides one request: --principal builtin:u-1 [--role admin] [--mfa]',
    '             --action invoke --resource "GET /api/orders" [--context \'{"ip":"10.0.0.1"}\']',
    '             (or --action callFunction --principal orders --resource billing,',
    '             or --action egress --principal orders --resource api.stripe.com,',
    '             or --action readAudit --resource audit, any operator action);',
    '             prints the decision, the determining policies with their origin and any errors;',
    '             exit 0 allow, 2 deny',
  ].join('\n'),
  options: {
    principal: { type: 'string', description: 'explain: `<issuer-name>:<subject>` (invoke) or a function name (callFunction, egress)' },
    role: { type: 'string', multiple: true, description: 'explain: a role of the principal (repeat for more)' },
    mfa: { type: 'boolean', description: 'explain: the principal proved a second factor' },
    action: { type: 'string', description: 'explain: `invoke`, `callFunction`, `egress`, or an operator action (`manageUsers`, `manageApiKeys`, `readAudit`, `manageSecrets`, `rotateKeys`, `deploy`)' },
    resource: { type: 'string', description: 'explain: a route uid (`GET,POST /api/orders`) or a function name' },
    context: { type: 'string', description: 'explain: JSON with ip, time (s), risk, method, chain, originalCaller' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const [verb, dir = '.'] = ctx.args;
    if (verb === undefined || !(VERBS as readonly string[]).includes(verb)) throw new PalisadeError('PAL_CLI_USAGE', `\`palisade policy\` needs one of ${VERBS.join(', ')}`);
    if (verb === 'validate') return validate(ctx, dir);
    const manifest = loadManifest(dir);
    if (verb === 'show') return show(ctx, loaded(manifest));
    const authorizer = createPolicyAuthorizer(manifest);
    return verb === 'test' ? runTests(ctx, manifest, authorizer) : explain(ctx, manifest, authorizer);
  },
};

function loaded(manifest: Manifest): CompiledPolicySet {
  const result = loadPolicySet(manifest);
  if (!result.ok || result.value === undefined) throw new DiagnosticsError(result.errors);
  return result.value;
}

function validate(ctx: CommandContext, dir: string): number {
  const m = checkManifest(dir);
  const errors: Diagnostic[] = [...m.errors];
  const warnings: Diagnostic[] = [...m.warnings];
  let count = 0;
  if (m.ok && m.value !== undefined) {
    const p = loadPolicySet(m.value);
    errors.push(...p.errors);
    warnings.push(...p.warnings);
    count = p.value?.policies.length ?? 0;
  }
  if (ctx.json) ctx.io.out(JSON.stringify({ ok: errors.length === 0, policies: count, errors, warnings }, null, 2));
  else {
    for (const d of [...errors, ...warnings]) ctx.io.err(formatDiagnostic(d));
    if (errors.length === 0) ctx.io.out(`${count} policies are valid`);
    else ctx.io.err(`${errors.length} problem${errors.length === 1 ? '' : 's'} found`);
  }
  return errors.length === 0 ? exitCodes.ok : exitCodes.invalidInput;
}

function show(ctx: CommandContext, set: CompiledPolicySet): number {
  if (ctx.json) {
    ctx.io.out(JSON.stringify(set.policies.map((p) => ({ id: p.id, effect: p.effect, origin: formatOrigin(p.origin), generated: p.generated, text: p.text })), null, 2));
    return exitCodes.ok;
  }
  for (const p of set.policies) ctx.io.out(`// ${p.id}  (${p.generated ? 'generated from' : 'from'} ${formatOrigin(p.origin)})\n${p.text}\n`);
  ctx.io.out(`${set.policies.length} policies`);
  return exitCodes.ok;
}

function runTests(ctx: CommandContext, manifest: Manifest, authorizer: PolicyAuthorizer): number {
  const testDir = join(manifest.projectDir, 'policies', 'tests');
  let files: string[];
  try {
    files = readdirSync(testDir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
  } catch {
    files = [];
  }
  if (files.length === 0) throw new PalisadeError('PAL_POLICY_TEST_INVALID', `no policy tests in \`${relative(process.cwd(), testDir) || testDir}\`: add *.yaml files there`);
  const results: Array<{ file: string; name: string; expect: string; decision: PolicyDecision | { problem: string }; pass: boolean }> = [];
  const problems: Diagnostic[] = [];
  for (const f of files) {
    const file = relative(manifest.projectDir, join(testDir, f));
    const parsed = parsePolicyTests(file, readFileSync(join(testDir, f), 'utf8'));
    problems.push(...parsed.errors);
    parsed.value?.forEach((c, i) => {
      const decision = decidePolicyCase(authorizer, manifest, c, Date.now());
      const pass = !('problem' in decision) && (c.expect === undefined || decision.effect === c.expect);
      results.push({ file, name: c.name ?? `test ${i + 1}`, expect: c.expect ?? '(none)', decision, pass });
    });
  }
  if (problems.length > 0) throw new DiagnosticsError(problems);
  const failed = results.filter((r) => !r.pass);
  if (ctx.json) ctx.io.out(JSON.stringify({ ok: failed.length === 0, passed: results.length - failed.length, failed: failed.length, results }, null, 2));
  else {
    for (const r of results) {
      ctx.io.out(`${r.pass ? 'pass' : 'FAIL'}  ${r.file}  ${r.name}`);
      if (!r.pass) ctx.io.out(`      ${describeDecision(r.decision, authorizer, `expected ${r.expect}`)}`);
    }
    ctx.io.out(`${results.length - failed.length} passed, ${failed.length} failed`);
  }
  return failed.length === 0 ? exitCodes.ok : exitCodes.denied;
}

function explain(ctx: CommandContext, manifest: Manifest, authorizer: PolicyAuthorizer): number {
  const { principal, action, resource } = ctx.flags;
  if (typeof principal !== 'string' || typeof action !== 'string' || typeof resource !== 'string') throw new PalisadeError('PAL_CLI_USAGE', '`policy explain` needs --principal, --action and --resource');
  let context: unknown = undefined;
  if (typeof ctx.flags.context === 'string') {
    const parsed = safeJsonParse(ctx.flags.context);
    if (!parsed.ok) throw new PalisadeError('PAL_CLI_USAGE', '--context is not valid JSON');
    context = parsed.value;
  }
  const colon = principal.indexOf(':');
  const who = action !== 'callFunction' ? (colon > 0 ? { issuer: principal.slice(0, colon), id: principal.slice(colon + 1), roles: [...(ctx.multi.role ?? [])], mfa: ctx.flags.mfa === true } : undefined) : principal;
  if (who === undefined) throw new PalisadeError('PAL_CLI_USAGE', '--principal must be `<issuer-name>:<subject>`, such as `builtin:u-1`');
  const c: unknown = { principal: who, action, resource, ...(context === undefined ? {} : { context }) };
  if (!checkPolicyCase(c)) throw new PalisadeError('PAL_CLI_USAGE', 'the request is malformed: --action is `invoke`, `callFunction`, `egress` or an operator action (`manageUsers`, `readAudit`, …); --context has ip, time, risk, method, chain, originalCaller');
  const decision = decidePolicyCase(authorizer, manifest, c as PolicyCase, Date.now());
  if ('problem' in decision) throw new PalisadeError('PAL_CLI_USAGE', decision.problem);
  if (ctx.json) {
    ctx.io.out(JSON.stringify({ ...decision, policies: decision.policyIds.map((id) => ({ id, origin: originOf(authorizer, id) })) }, null, 2));
  } else {
    ctx.io.out(`${decision.effect.toUpperCase()} (${decision.reason})`);
    for (const id of decision.policyIds) ctx.io.out(`  ${id}  (${originOf(authorizer, id)})\n    ${authorizer.set.byId.get(id)?.text.replaceAll('\n', '\n    ') ?? ''}`);
    if (decision.policyIds.length === 0) ctx.io.out(decision.effect === 'deny' ? '  no permit applies (default deny)' : '');
    for (const e of decision.errors) ctx.io.out(`  error: ${e}`);
  }
  return decision.effect === 'allow' ? exitCodes.ok : exitCodes.denied;
}

function originOf(authorizer: PolicyAuthorizer, id: string): string {
  const p = authorizer.set.byId.get(id);
  return p === undefined ? 'unknown' : formatOrigin(p.origin);
}

function describeDecision(d: PolicyDecision | { problem: string }, authorizer: PolicyAuthorizer, expected: string): string {
  if ('problem' in d) return d.problem;
  const ids = d.policyIds.length === 0 ? 'no permit applies' : d.policyIds.map((id) => `${id} (${originOf(authorizer, id)})`).join(', ');
  return `${expected}, got ${d.effect} (${d.reason}): ${ids}${d.errors.length > 0 ? `; errors: ${d.errors.join('; ')}` : ''}`;
}
