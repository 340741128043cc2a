import { manifestSchema } from './manifest-schema.js';

interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  enum?: readonly unknown[];
  pattern?: string;
  required?: readonly string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  oneOf?: readonly SchemaNode[];
  const?: unknown;
}

/** Renders the editor JSON Schema file contents. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(manifestSchema, null, 2)}\n`;
}

/**
 * Renders `docs/manifest.md` from the schema: one row per key with type, default, bounds and
 * meaning. Generated; never edit the output by hand.
 */
export function renderManifestReference(): string {
  const rows: string[] = [];
  walk(manifestSchema as unknown as SchemaNode, '', rows, new Set());
  return [
    '# Manifest reference: `palisade.yaml`',
    '',
    '<!-- Generated from src/manifest/manifest-schema.ts by `npm run generate`. Do not edit. -->',
    '',
    'Every mapping is closed: an unknown key is an error (`PAL_MANIFEST_UNKNOWN_KEY`) with a',
    '"did you mean" hint. `<name>` stands for a name you choose. Editors can validate against',
    '`schema/palisade.schema.json`.',
    '',
    '| key | type | required | default | bounds | meaning |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '## Rules beyond the schema',
    '',
    '- A route is private unless it says `public: true`; private routes answer 401 until a caller is authenticated.',
    '- A route `function` must name a declared function; a function `segment` must name a declared segment (`default` always exists).',
    '- Two routes may not match the same method and path: `/a/:id` and `/a/new` overlap for a shared method.',
    '- Paths under `/_palisade` are reserved.',
    '- A function `source` must exist inside the project directory.',
    '- A private route accepts the methods in its `auth` list (`builtin`, issuer names, `api-key`, `mtls`); without `auth`, every configured method except `mtls`, which a route must name. With no method configured, private routes answer 401.',
    '- Issuers must be https. `allowInsecureHttpIssuer: true` allows http only for a loopback issuer.',
    '- A route `schema` names a JSON Schema file per method the route accepts (not `GET`/`HEAD`), inside the project; the file must be JSON that ajv compiles in strict mode (unknown keywords and formats are errors). `palisade validate` names the file, the YAML path and the fix.',
    '- A route with a `schema` accepts only JSON media types and takes no `contentEncodings`.',
    '- `rateLimit` on a public route counts per address; `by: principal` needs a private route.',
    '- `unsafeForwardCredentials` weakens security: it is listed in docs/security/defaults.md and logged at start.',
    '- An `egress` grant (of a function, or of a segment for all its functions) names a host exactly or as `*.suffix` (at least two labels; never an IP range); the port goes in `ports`. `allowPrivateNetwork` and `allowInsecureHttp` weaken security: they are listed in docs/security/defaults.md and logged at start for every function that gets them. The gateway makes each call (docs/segmentation.md).',
    '- Function `invoke` is not supported by this version and is rejected rather than ignored.',
    '',
  ].join('\n');
}

function walk(node: SchemaNode, path: string, rows: string[], requiredHere: ReadonlySet<string>): void {
  if (path !== '') {
    const key = path.split('.').at(-1) ?? path;
    rows.push(`| \`${path}\` | ${typeOf(node)} | ${requiredHere.has(key.replace(/\[\]$/, '')) ? 'yes' : 'no'} | ${node.default === undefined ? '' : `\`${JSON.stringify(node.default)}\``} | ${bounds(node)} | ${(node.description ?? '').replace(/\|/g, '\\|')} |`);
  }
  const required = new Set(node.required ?? []);
  for (const [key, child] of Object.entries(node.properties ?? {})) walk(child, path === '' ? key : `${path}.${key}`, rows, required);
  if (typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${path}.<name>`, rows, new Set(['<name>']));
  if (node.items !== undefined && (node.items.properties !== undefined)) walk(node.items, `${path}[]`, rows, new Set());
  for (const alt of node.oneOf ?? []) if (alt.properties !== undefined) for (const [key, child] of Object.entries(alt.properties)) walk(child, `${path}.${key}`, rows, new Set(alt.required ?? []));
}

function typeOf(node: SchemaNode): string {
  if (node.enum !== undefined) return node.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (node.oneOf !== undefined) return node.oneOf.map((a) => (a.const !== undefined ? `\`${String(a.const)}\`` : a.type ?? 'any')).join(' \\| ');
  if (node.type === 'array' && node.items !== undefined) return `array of ${node.items.enum !== undefined ? 'method' : node.items.type ?? 'any'}`;
  return node.type ?? 'any';
}

function bounds(node: SchemaNode): string {
  if (node.minimum !== undefined && node.maximum !== undefined) return `${node.minimum}–${node.maximum}`;
  if (node.items?.enum !== undefined) return node.items.enum.map((v) => `\`${String(v)}\``).join(', ');
  return '';
}
