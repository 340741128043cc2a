import type { PalisadeProjectView, Rule, RuleHit, Template } from '../model.js';

type View = PalisadeProjectView;

function palisadeRule(meta: Omit<Rule, 'check' | 'appliesTo'>, check: (view: View) => RuleHit[]): Rule {
  return { ...meta, appliesTo: ['palisade'], check: (t: Template) => (t.palisade === undefined ? [] : check(t.palisade)) };
}

const at = (line: number | undefined) => (line === undefined ? {} : { line });

/** PAL-PALISADE-001: Public route. */
export const palisadePublicRoute: Rule = palisadeRule(
  {
    id: 'PAL-PALISADE-001',
    title: 'Public route',
    severity: 'info',
    description: 'A route marked `public: true` is served without authentication. Every public route is listed so that a reviewer confirms each one.',
    remediation: 'Remove `public: true` unless the route must be reachable without credentials; suppress with the reason when it must.',
    frameworks: { owaspServerless: ['SAS-2'], palisade: ['verify-explicitly'] },
    checkov: [],
  },
  (v) => v.routes.filter((r) => r.public).map((r) => ({ resource: `routes[${r.index}]`, message: `route \`${r.methods.join(',')} ${r.path}\` is public`, key: r.path, ...at(r.line) })),
);

const ADMIN_ROLE = /admin|root|superuser|operator/i;

/** PAL-PALISADE-002: Administrative route does not require MFA. */
export const palisadeAdminWithoutMfa: Rule = palisadeRule(
  {
    id: 'PAL-PALISADE-002',
    title: 'Administrative route does not require MFA',
    severity: 'high',
    description: 'A route that allows an administrative role (a role named like `admin`, `root`, `superuser` or `operator`) demands no second factor: neither the route (`mfa: required`) nor the role (`roles.<name>.mfa: required`), so a stolen password or token is enough.',
    remediation: 'Set `mfa: required` on the role under `roles:` (every route and admin action of the role then needs a second factor), or on the route itself.',
    frameworks: { owaspServerless: ['SAS-2'], palisade: ['verify-explicitly'] },
    checkov: [],
  },
  (v) =>
    v.routes.flatMap((r) => {
      if (r.mfa) return [];
      const weak = (r.allow?.roles ?? []).filter((role) => ADMIN_ROLE.test(role) && !v.mfaRoles.includes(role));
      return weak.length === 0 ? [] : [{ resource: `routes[${r.index}]`, message: `route \`${r.path}\` allows \`${weak.join(', ')}\` without a second factor (\`mfa: required\` on the route or on the role)`, key: r.path, ...at(r.line) }];
    }),
);

/** PAL-PALISADE-003: Audit is asynchronous. */
export const palisadeAsyncAudit: Rule = palisadeRule(
  {
    id: 'PAL-PALISADE-003',
    title: 'Audit is asynchronous',
    severity: 'medium',
    description: '`audit.mode: async` releases responses before their audit record is durable: a crash or a full disk loses the record of what happened.',
    remediation: 'Use `audit.mode: sync` (the default), which refuses a request whose record cannot be written.',
    frameworks: { owaspServerless: ['SAS-5'], palisade: ['assume-breach'] },
    checkov: [],
  },
  (v) => (v.audit?.mode === 'async' ? [{ resource: 'audit', message: '`audit.mode` is `async`', ...at(v.audit.line) }] : []),
);

/** PAL-PALISADE-004: Function egress allows a wildcard. */
export const palisadeWildcardEgress: Rule = palisadeRule(
  {
    id: 'PAL-PALISADE-004',
    title: 'Function egress allows a wildcard',
    severity: 'high',
    description: 'An egress entry with `*` (any host, any subdomain or any port) lets injected code exfiltrate data to hosts the author never meant.',
    remediation: 'List each `host:port` the function calls.',
    frameworks: { owaspServerless: ['SAS-4'], palisade: ['least-privilege'] },
    checkov: [],
  },
  (v) => [
    ...v.functions.flatMap((f) => f.egress.filter((e) => e.includes('*')).map((e) => ({ resource: `functions.${f.name}`, message: `egress \`${e}\` is a wildcard`, key: e, ...at(f.line) }))),
    // A segment's grant reaches every function of the segment: one finding, where it is written.
    ...v.segments.flatMap((s) => s.egress.filter((e) => e.includes('*')).map((e) => ({ resource: `segments.${s.name}`, message: `egress \`${e}\` of segment \`${s.name}\` (every function of the segment) is a wildcard`, key: `segment:${s.name}:${e}`, ...at(s.line) }))),
  ],
);

/** PAL-PALISADE-005: Function may invoke a function in another segment. */
export const palisadeCrossSegment: Rule = palisadeRule(
  {
    id: 'PAL-PALISADE-005',
    title: 'Function may invoke a function in another segment',
    severity: 'medium',
    description: 'A service binding crosses a segment boundary: a compromise of the caller reaches the other segment, which segmentation is meant to contain.',
    remediation: 'Keep callers and callees in one segment, or expose the callee through a route with its own authorization; suppress with the reason where the crossing is intended.',
    frameworks: { owaspServerless: ['SAS-4'], palisade: ['least-privilege', 'assume-breach'] },
    checkov: [],
  },
  (v) => {
    const segmentOf = new Map(v.functions.map((f) => [f.name, f.segment]));
    return v.functions.flatMap((f) =>
      f.invoke
        .filter((target) => segmentOf.has(target) && segmentOf.get(target) !== f.segment)
        .map((target) => ({ resource: `functions.${f.name}`, message: `\`${f.name}\` (segment \`${f.segment}\`) may invoke \`${target}\` (segment \`${segmentOf.get(target) ?? ''}\`)`, key: target, ...at(f.line) })),
    );
  },
);

/** True when function source mentions a secret: `env.NAME`, `env['name']`, `"name"`. */
function mentions(source: string, secret: string): boolean {
  const esc = secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(\\.${esc}\\b|['"\`]${esc}['"\`])`).test(source);
}

/** PAL-PALISADE-006: Secret granted but unused by the function's code. */
export const palisadeUnusedSecret: Rule = palisadeRule(
  {
    id: 'PAL-PALISADE-006',
    title: 'Secret granted but unused by the function\'s code',
    severity: 'low',
    description: 'A function is granted a secret its source never names: a needless grant that a compromise of the function would use.',
    remediation: 'Remove the secret from the function\'s `secrets`, or use it.',
    frameworks: { owaspServerless: ['SAS-4', 'SAS-7'], palisade: ['least-privilege', 'secrets-never-leak'] },
    checkov: [],
  },
  (v) => v.functions.flatMap((f) => (f.sourceText === undefined ? [] : f.secrets.filter((s) => !mentions(f.sourceText ?? '', s)).map((s) => ({ resource: `functions.${f.name}`, message: `secret \`${s}\` is granted but the source never names it`, key: s, ...at(f.line) })))),
);

/** Every Palisade manifest rule. */
export const palisadeRules: readonly Rule[] = [palisadePublicRoute, palisadeAdminWithoutMfa, palisadeAsyncAudit, palisadeWildcardEgress, palisadeCrossSegment, palisadeUnusedSecret];
