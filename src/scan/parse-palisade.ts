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
      const segmentSpec = isRecord(doc.segments) && isRecord(doc.segments[segment]) ? doc.segments[segment] : {};
      functions.push({
        name,
        segment,
        secrets: strings(fn.secrets),
        // A function reaches its own hosts and its segment's (`segments.<name>.egress`).
        egress: [...egressEntries(fn.egress), ...egressEntries(segmentSpec.egress)],
        invoke: strings(fn.invoke),
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
        ...(allow === undefined ? {} : { allow: { roles: strings(allow.roles), ...(typeof allow.mfa === 'boolean' ? { mfa: allow.mfa } : {}) } }),
        ...(line === undefined ? {} : { line }),
      });
    });
  }
  const audit = isRecord(doc.audit) ? doc.audit : undefined;
  const auditLine = parsed.lineOf(['audit']);
  const palisade: PalisadeProjectView = {
    routes,
    functions,
    ...(audit === undefined ? {} : { audit: { ...(typeof audit.mode === 'string' ? { mode: audit.mode } : {}), ...(auditLine === undefined ? {} : { line: auditLine }) } }),
  };
  return { file, kind: 'palisade', text, resources: [], parameters: {}, palisade };
}
