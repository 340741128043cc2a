import type { PalisadeProjectView, Template } from './model.js';
import type { ParsedYaml } from './parse-yaml.js';
import { isRecord } from './values.js';

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
// An egress entry is `{ host, ports? }` in the manifest (or `host:port` as the design sketches it).
const egressEntries = (v: unknown): string[] =>
  Array.isArray(v)
    ? v.flatMap((x): string[] => {
        if (typeof x === 'string') return [x];
        if (!isRecord(x) || typeof x.host !== 'string') return [];
        const host = x.host;
        const ports = Array.isArray(x.ports) ? x.ports.filter((p): p is number => typeof p === 'number') : [];
        return ports.length === 0 ? [host] : ports.map((p) => `${host}:${p}`);
      })
    : [];

/**
 * Reads the parts of `palisade.yaml` the scan rules need, leniently: the sections later
 * versions own (`secrets`, `egress`, `invoke`, `allow`, `audit`) are read as the design sketches
 * them, so a manifest is checked before this version enforces them. `palisade validate` checks
 * the schema; the scan checks the security posture.
 *
 * @example
 * ```ts
 * const t = parsePalisade('palisade.yaml', text, parsed, (src) => readFileSync(src, 'utf8'));
 * ```
 */
export function parsePalisade(file: string, text: string, parsed: ParsedYaml, readSource: (relativePath: string) => string | undefined): Template {
  const doc = isRecord(parsed.value) ? parsed.value : {};
  const functions: PalisadeProjectView['functions'][number][] = [];
  if (isRecord(doc.functions)) {
    for (const [name, raw] of Object.entries(doc.functions)) {
      const fn = isRecord(raw) ? raw : {};
      const sourceText = typeof fn.source === 'string' ? readSource(fn.source) : undefined;
      const line = parsed.lineOf(['functions', name]);
      const segment = typeof fn.segment === 'string' ? fn.segment : 'default';
      functions.push({
        name,
        segment,
        secrets: strings(fn.secrets),
        // Its own hosts; its segment's (`segments.<name>.egress`) are in `segments`, reported where they are written.
        egress: egressEntries(fn.egress),
        // A service binding (`bindings.<NAME>: { type: service, function }`) is how a function calls another.
        invoke: [...strings(fn.invoke), ...(isRecord(fn.bindings) ? Object.values(fn.bindings).flatMap((b) => (isRecord(b) && b.type === 'service' && typeof b.function === 'string' ? [b.function] : [])) : [])],
        ...(sourceText === undefined ? {} : { sourceText }),
        ...(line === undefined ? {} : { line }),
      });
    }
  }
  const routes: PalisadeProjectView['routes'][number][] = [];
  if (Array.isArray(doc.routes)) {
    doc.routes.forEach((raw, index) => {
      if (!isRecord(raw)) return;
      const allow = isRecord(raw.allow) ? raw.allow : undefined;
      const line = parsed.lineOf(['routes', index]);
      routes.push({
        index,
        path: typeof raw.path === 'string' ? raw.path : '',
        function: typeof raw.function === 'string' ? raw.function : '',
        public: raw.public === true,
        methods: raw.methods === undefined ? ['GET'] : strings(raw.methods),
        ...(allow === undefined ? {} : { allow: { roles: strings(allow.roles) } }),
        mfa: raw.mfa === 'required',
        ...(line === undefined ? {} : { line }),
      });
    });
  }
  const audit = isRecord(doc.audit) ? doc.audit : undefined;
  const auditLine = parsed.lineOf(['audit']);
  const mfaRoles = isRecord(doc.roles) ? Object.entries(doc.roles).filter(([, r]) => isRecord(r) && r.mfa === 'required').map(([name]) => name) : [];
  const segments = isRecord(doc.segments)
    ? Object.entries(doc.segments).map(([name, raw]) => {
        const line = parsed.lineOf(['segments', name, 'egress']) ?? parsed.lineOf(['segments', name]);
        return { name, egress: egressEntries(isRecord(raw) ? raw.egress : undefined), ...(line === undefined ? {} : { line }) };
      })
    : [];
  const palisade: PalisadeProjectView = {
    routes,
    mfaRoles,
    segments,
    functions,
    ...(audit === undefined ? {} : { audit: { ...(typeof audit.mode === 'string' ? { mode: audit.mode } : {}), ...(auditLine === undefined ? {} : { line: auditLine }) } }),
  };
  return { file, kind: 'palisade', text, resources: [], parameters: {}, palisade };
}
