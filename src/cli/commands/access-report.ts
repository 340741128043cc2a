import { PalisadeError } from '../../kernel/index.js';
import { loadManifest } from '../../manifest/index.js';
import { loadAccessReport } from '../../platform/index.js';
import type { AccessReport, GrantUse } from '../../policy/index.js';
import { exitCodes, type Command } from '../cli-io.js';
import { parseAuditTime } from './audit.js';

/** `palisade access-report [DIR] --since 30d [--json]`: route and function grants, users and keys the audit trail never saw used. */
export const accessReportCommand: Command = {
  name: 'access-report',
  summary: 'find route and function grants, users and API keys unused in the audit trail',
  usage: 'palisade access-report [DIR] [--since 30d] [--until T] [--json]',
  help: [
    'Reads the audit trail of DIR (default: the current directory) over a window (default: the last',
    '30 days) and reports every grant with its last use: each `allow` entry of each private route',
    '(role, user, API key, issuer; `admin` for routes without `allow`), each function grant',
    '(service binding, secret, egress host) and each segment egress grant; the built-in users and',
    'API keys never seen; the functions never invoked (through a route or a service binding); and a',
    'suggested manifest diff that removes the unused grants, with what code still using a removed',
    'grant would meet.',
    '',
    'A role counts as used when an allowed request was decided by the route\'s `allow.roles` policy',
    'for a user or key that holds the role now (roles are not on audit events). A binding counts',
    'when an allowed `callFunction` went from its function to its target, a secret when its',
    'function read it, an egress grant when an attempt of its function (for a segment grant: of any',
    'function of the segment) to a host and port it covers was allowed (also when the policy allowed',
    'it and the network then failed). Denied decisions use no grant; only events inside the window',
    'count.',
    'See "Access report" in docs/segmentation.md.',
    '',
    'Exit 0 no unused grant, 2 unused grants found, 1 tool failure (no audit log), 3 invalid input.',
  ].join('\n'),
  options: {
    since: { type: 'string', description: 'window start: a duration such as 30d, 12h, or an ISO 8601 time (default 30d)' },
    until: { type: 'string', description: 'window end (default now)' },
    json: { type: 'boolean', description: 'print the report as JSON' },
  },
  async run(ctx) {
    const dir = ctx.args[0] ?? '.';
    if (ctx.args.length > 1) throw new PalisadeError('PAL_CLI_USAGE', `unexpected argument \`${ctx.args[1] ?? ''}\`; usage: ${accessReportCommand.usage}`);
    const now = Date.now();
    const since = parseAuditTime(typeof ctx.flags.since === 'string' ? ctx.flags.since : '30d', now);
    const until = typeof ctx.flags.until === 'string' ? parseAuditTime(ctx.flags.until, now) : now;
    if (since >= until) throw new PalisadeError('PAL_CLI_USAGE', '`--since` must be before `--until`');
    const manifest = loadManifest(dir);
    const report = await loadAccessReport(manifest, { since, until });
    ctx.io.out(ctx.json ? JSON.stringify(report, null, 2) : formatReport(report));
    return report.unusedGrants.length > 0 ? exitCodes.denied : exitCodes.ok;
  },
};

const iso = (t: number | null) => (t === null ? 'never' : new Date(t).toISOString());

/** One grant on one line: what it grants, to whom. */
function describeGrant(g: GrantUse): string {
  switch (g.kind) {
    case 'route':
      return `route ${g.route}  ${g.list === 'admin-only' ? 'admin-only (no allow)' : `allow.${g.list}`} ${g.value}`;
    case 'binding':
      return `function ${g.function}  binding ${g.binding} -> ${g.target}`;
    case 'secret':
      return `function ${g.function}  secret ${g.secret}`;
    case 'egress':
      return `function ${g.function}  egress ${g.host}${g.ports === undefined ? '' : ` ports ${g.ports.join(', ')}`}`;
    case 'segment-egress':
      return `segment ${g.segment}  egress ${g.host}${g.ports === undefined ? '' : ` ports ${g.ports.join(', ')}`} (every function of the segment)`;
  }
}

function formatReport(r: AccessReport): string {
  const out = [`access report for ${r.project}, ${iso(r.since)} to ${iso(r.until)} (${r.events} audit events)`, ''];
  out.push(`unused grants (${r.unusedGrants.length}):`);
  for (const g of r.unusedGrants) out.push(`  ${describeGrant(g)}  (${g.origin})`);
  out.push('', 'used grants:');
  for (const g of r.grants) if (g.lastUsed !== null) out.push(`  ${describeGrant(g)}  last used ${iso(g.lastUsed)}${g.kind === 'route' && g.assumed === true ? ' (by a principal whose roles are unknown: assumed)' : ''}`);
  const never = r.principals.filter((p) => p.lastSeen === null && !p.inactive);
  out.push('', `users and api keys never seen (${never.length}):`);
  for (const p of never) out.push(`  ${p.kind === 'user' ? 'user' : 'api key'} ${p.name} (${p.principalId})${p.roles.length === 0 ? '' : `, roles ${p.roles.join(', ')}`}`);
  const idle = r.functions.filter((f) => f.lastInvoked === null);
  out.push('', `functions never invoked, through a route or a service binding (${idle.length}):`);
  for (const f of idle) out.push(`  ${f.name}`);
  for (const n of r.notes) out.push('', `note: ${n}`);
  if (r.suggestedDiff !== '') out.push('', 'suggested manifest change:', r.suggestedDiff.trimEnd());
  return out.join('\n');
}
