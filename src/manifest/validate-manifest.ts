import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { closest } from 'fastest-levenshtein';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { API_KEY_METHOD, BUILTIN_METHOD, MTLS_METHOD, type Diagnostic, type ErrorCode, type ValidationResult, once } from '../kernel/index.js';
import { compileBodySchema } from './body-schema.js';
import { checkEgressHost } from './egress-host.js';
import { checkSegmentRules } from './check-segment-rules.js';
import { resolveSecretSegments } from './resolve-secret-segments.js';
import { manifestSchema, reservedFunctionKeys, reservedSections } from './manifest-schema.js';
import { type AuditSinkSpec, type BindingSpec, type BodySchemaSpec, type EgressGrantSpec, type ContentEncoding, type CredentialHeader, type FunctionSpec, type HttpMethod, type IdentitySpec, type IssuerSpec, type Manifest, type RateLimitSpec, type RoleSpec, type RouteSpec, type SecretSpec, type SegmentSpec, type TlsSpec } from './manifest-types.js';
import { parseRoutePattern, RESERVED_PATH_PREFIX, routePatternsOverlap, type RoutePattern } from './route-pattern.js';

/** The role the generated policies let reach admin-only routes and operator actions. */
const ADMIN_ROLE_NAME = 'admin';

const ajv = once(() => new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true, verbose: true }));
const validateSchema = once(() => ajv().compile(manifestSchema));

/** Input to {@link validateManifestText}. */
export interface ManifestSource {
  /** The YAML text. */
  readonly text: string;
  /** The manifest's path, as shown in diagnostics. */
  readonly file: string;
  /** The project directory: sources must live inside it. */
  readonly projectDir: string;
  /** Whether to check that function sources exist (true unless testing pure rules). */
  readonly checkFiles?: boolean;
}

/**
 * Validates manifest text: YAML syntax, the schema, then the cross-reference rules.
 * Collects every problem; never throws.
 *
 * @example
 * ```ts
 * const result = validateManifestText({ text, file: 'palisade.yaml', projectDir: '.' });
 * if (!result.ok) for (const d of result.errors) console.error(formatDiagnostic(d));
 * ```
 */
export function validateManifestText(source: ManifestSource): ValidationResult<Manifest> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locate = (offset: number | undefined) => {
    if (offset === undefined) return { file: source.file };
    const pos = lineCounter.linePos(offset);
    return { file: source.file, line: pos.line, col: pos.col };
  };

  if (doc.errors.length > 0) {
    const errors = doc.errors.map<Diagnostic>((e) => ({
      code: 'PAL_MANIFEST_YAML_SYNTAX',
      severity: 'error',
      path: '',
      message: firstLine(e.message).toLowerCase(),
      hint: 'fix the yaml syntax at this position',
      location: locate(e.pos[0]),
    }));
    return { ok: false, errors, warnings: [] };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 50 });
  } catch (error) {
    // The yaml library refuses aliases that expand past the bound (a "billion laughs" document).
    const message = error instanceof Error ? firstLine(error.message).toLowerCase() : 'the yaml could not be read';
    return { ok: false, errors: [{ code: 'PAL_MANIFEST_YAML_SYNTAX', severity: 'error', path: '', message, hint: 'write the entries out instead of nesting aliases (`*name`) of aliases', location: locate(undefined) }], warnings: [] };
  }
  if (isCyclic(data)) {
    // `&v [*v]`: an alias inside its own anchor is a value with no end (no JSON form, no bundle).
    return { ok: false, errors: [{ code: 'PAL_MANIFEST_YAML_SYNTAX', severity: 'error', path: '', message: 'an alias (`*name`) is used inside the node its anchor (`&name`) marks, so the value never ends', hint: 'write the value out instead of referring to itself', location: locate(undefined) }], warnings: [] };
  }
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const at = (path: readonly (string | number)[], onKey = false) => locate(offsetOf(doc, path, onKey));
  const push = (code: ErrorCode, path: readonly (string | number)[], message: string, hint?: string, onKey = false) => {
    errors.push({ code, severity: 'error', path: dotted(path), message, ...(hint === undefined ? {} : { hint }), location: at(path, onKey) });
  };

  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    push('PAL_MANIFEST_INVALID_VALUE', [], 'the manifest must be a yaml mapping', 'start from `palisade init` or docs/manifest.md');
    return { ok: false, errors, warnings: [] };
  }

  if (!validateSchema()(data)) {
    for (const e of collapseSchemaErrors(validateSchema().errors ?? [])) {
      const d = describeSchemaError(e);
      push(d.code, d.path, d.message, d.hint, d.onKey);
    }
    return { ok: false, errors, warnings: [] };
  }

  // The schema holds; the shape below is now guaranteed (defaults applied by ajv).
  const raw = data as RawManifest;
  const projectDir = resolve(source.projectDir);

  /** A function's or a segment's `egress` list: each host checked, defaults dropped. */
  const egressGrants = (list: readonly RawEgressGrant[], path: readonly (string | number)[]): EgressGrantSpec[] =>
    list.map((g, i) => {
      const problem = checkEgressHost(g.host);
      if (problem !== undefined) push('PAL_MANIFEST_INVALID_VALUE', [...path, i, 'host'], `egress host \`${g.host}\` is not usable: ${problem}`, 'use an exact host such as `api.stripe.com`, or `*.example.com` for its subdomains');
      return {
        host: g.host,
        ...(g.ports === undefined ? {} : { ports: g.ports }),
        ...(g.allowPrivateNetwork ? { allowPrivateNetwork: true } : {}),
        ...(g.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
      };
    });

  const segments = new Map<string, SegmentSpec>([['default', { name: 'default', workers: 2, allowCallsFrom: [], allowSecretReadsFrom: [], egress: [] }]]);
  for (const [name, seg] of Object.entries(raw.segments)) {
    const segLine = at(['segments', name], true).line;
    const egress = egressGrants(seg.egress, ['segments', name, 'egress']);
    segments.set(name, { name, workers: seg.workers, allowCallsFrom: seg.allowCallsFrom ?? [], allowSecretReadsFrom: seg.allowSecretReadsFrom ?? [], egress, ...(segLine === undefined ? {} : { line: segLine }) });
  }

  const functions = new Map<string, FunctionSpec>();
  for (const [name, fn] of Object.entries(raw.functions)) {
    if (!segments.has(fn.segment)) {
      const suggestion = closest(fn.segment, [...segments.keys()]);
      push('PAL_MANIFEST_UNKNOWN_SEGMENT', ['functions', name, 'segment'], `segment \`${fn.segment}\` is not declared`, `declare it under \`segments\`, or did you mean \`${suggestion}\`?`);
    }
    const absolute = resolve(projectDir, fn.source);
    const rel = relative(projectDir, absolute);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      push('PAL_MANIFEST_SOURCE_NOT_FOUND', ['functions', name, 'source'], `source \`${fn.source}\` is outside the project directory`, 'keep function sources inside the project');
    } else if (source.checkFiles !== false && !isFile(absolute)) {
      push('PAL_MANIFEST_SOURCE_NOT_FOUND', ['functions', name, 'source'], `source file \`${fn.source}\` does not exist`, `create \`${rel}\` or correct the path (relative to the manifest)`);
    }
    for (const [bindingName, b] of Object.entries(fn.bindings)) {
      if (b.type === 'text' && typeof b.value !== 'string') {
        push('PAL_MANIFEST_INVALID_VALUE', ['functions', name, 'bindings', bindingName, 'value'], 'a `text` binding value must be a string', 'quote the value, or use `type: json`');
      }
      const fields = b as { value?: unknown; function?: unknown };
      if (b.type === 'service') {
        if (typeof fields.function !== 'string') {
          push('PAL_MANIFEST_INVALID_VALUE', ['functions', name, 'bindings', bindingName], 'a `service` binding needs `function`', 'name the function it calls: `{ type: service, function: billing }`');
        } else if (raw.functions[fields.function] === undefined) {
          push('PAL_MANIFEST_UNKNOWN_FUNCTION', ['functions', name, 'bindings', bindingName, 'function'], `function \`${fields.function}\` is not declared`, `declare it under \`functions\`, or did you mean \`${closest(fields.function, Object.keys(raw.functions))}\`?`);
        }
        if ('value' in fields) push('PAL_MANIFEST_INVALID_VALUE', ['functions', name, 'bindings', bindingName, 'value'], 'a `service` binding takes no `value`', 'remove `value`');
      } else {
        if (!('value' in fields)) push('PAL_MANIFEST_INVALID_VALUE', ['functions', name, 'bindings', bindingName], `a \`${b.type}\` binding needs \`value\``, 'add `value`');
        if ('function' in fields) push('PAL_MANIFEST_INVALID_VALUE', ['functions', name, 'bindings', bindingName, 'function'], `a \`${b.type}\` binding takes no \`function\``, 'remove `function`, or use `type: service`');
      }
    }
    const egress = egressGrants(fn.egress, ['functions', name, 'egress']);
    const fnLine = at(['functions', name], true).line;
    const secretLines: Record<string, number> = {};
    fn.secrets.forEach((secret, i) => {
      const line = at(['functions', name, 'secrets', i]).line;
      if (line !== undefined) secretLines[secret] = line;
    });
    functions.set(name, {
      name,
      source: absolute,
      segment: fn.segment,
      limits: fn.limits,
      bindings: fn.bindings,
      secrets: fn.secrets,
      secretLines,
      kv: fn.kv,
      egress,
      ...(fnLine === undefined ? {} : { line: fnLine }),
    });
  }


  const mtlsRaw = raw.identity.mtls;
  const identity: IdentitySpec = {
    issuers: raw.identity.issuers,
    builtin: raw.identity.builtin,
    apiKeys: raw.identity.apiKeys,
    ...(mtlsRaw === undefined ? {} : { mtls: { ca: resolve(projectDir, mtlsRaw.ca), principalFrom: mtlsRaw.principalFrom, crls: mtlsRaw.crls.map((c) => resolve(projectDir, c)) } }),
  };
  if (identity.mtls !== undefined && source.checkFiles !== false && !isFile(identity.mtls.ca)) {
    push('PAL_MANIFEST_SOURCE_NOT_FOUND', ['identity', 'mtls', 'ca'], 'the client ca file does not exist', 'give a pem bundle relative to the manifest');
  }
  identity.mtls?.crls.forEach((crl, i) => {
    if (source.checkFiles !== false && !isFile(crl)) push('PAL_MANIFEST_SOURCE_NOT_FOUND', ['identity', 'mtls', 'crls', i], 'the crl file does not exist', 'give a crl file (pem or der) relative to the manifest');
  });
  const methods: string[] = raw.identity.builtin.enabled ? [BUILTIN_METHOD] : [];
  const seenIssuers = new Set<string>();
  raw.identity.issuers.forEach((iss, i) => {
    if (seenIssuers.has(iss.name) || iss.name === API_KEY_METHOD || iss.name === BUILTIN_METHOD || iss.name === MTLS_METHOD) push('PAL_MANIFEST_INVALID_VALUE', ['identity', 'issuers', i, 'name'], `issuer name \`${iss.name}\` is already used`, 'give each issuer a unique name other than `api-key`, `builtin` and `mtls`');
    seenIssuers.add(iss.name);
    methods.push(iss.name);
    let url: URL | undefined;
    try {
      url = new URL(iss.issuer);
    } catch {
      push('PAL_MANIFEST_INVALID_VALUE', ['identity', 'issuers', i, 'issuer'], `issuer \`${iss.issuer}\` is not a url`, 'use the exact `iss` value of the provider, such as `https://idp.example.com`');
    }
    if (url !== undefined && url.protocol !== 'https:') {
      const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
      if (url.protocol !== 'http:' || !iss.allowInsecureHttpIssuer) {
        push('PAL_MANIFEST_INSECURE_SETTING', ['identity', 'issuers', i, 'issuer'], `issuer \`${iss.issuer}\` is not https`, 'use an https issuer (tokens and keys must not travel in clear)');
      } else if (!loopback) {
        push('PAL_MANIFEST_INSECURE_SETTING', ['identity', 'issuers', i, 'allowInsecureHttpIssuer'], 'an http issuer is only allowed on a loopback address', 'use https, or run the identity provider on 127.0.0.1 for development');
      }
    }
  });
  if (raw.identity.apiKeys.enabled) methods.push(API_KEY_METHOD);

  const loadRouteSchemas = (r: RawRoute, index: number): Partial<Record<HttpMethod, BodySchemaSpec>> | undefined => {
    if (r.schema === undefined) return undefined;
    const out: Partial<Record<HttpMethod, BodySchemaSpec>> = {};
    for (const [method, file] of Object.entries(r.schema) as Array<[HttpMethod, string]>) {
      const at = ['routes', index, 'schema', method];
      if (!r.methods.includes(method)) {
        push('PAL_MANIFEST_INVALID_VALUE', at, `the route does not accept \`${method}\``, `add \`${method}\` to \`methods\`, or remove this schema`);
        continue;
      }
      const absolute = resolve(projectDir, file);
      const rel = relative(projectDir, absolute);
      if (rel.startsWith('..') || isAbsolute(rel)) {
        push('PAL_MANIFEST_INVALID_BODY_SCHEMA', at, `schema \`${file}\` is outside the project directory`, 'keep schema files inside the project');
        continue;
      }
      if (source.checkFiles === false) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(absolute, 'utf8'));
      } catch (error) {
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        push('PAL_MANIFEST_INVALID_BODY_SCHEMA', at, missing ? `schema file \`${file}\` does not exist` : `schema file \`${file}\` is not valid json`, missing ? `create \`${rel}\` or correct the path (relative to the manifest)` : 'fix the json syntax of the schema file');
        continue;
      }
      const compiled = compileBodySchema(parsed);
      if (!compiled.ok) {
        push('PAL_MANIFEST_INVALID_BODY_SCHEMA', at, `schema file \`${file}\` is not a valid json schema: ${compiled.message}`, 'fix the schema (ajv strict mode: known keywords and formats only); see https://json-schema.org');
        continue;
      }
      out[method] = { file: absolute, schema: parsed };
    }
    return out;
  };

  const routes: RouteSpec[] = [];
  const patterns: Array<{ route: RouteSpec; pattern: RoutePattern }> = [];
  raw.routes.forEach((r, index) => {
    if (!functions.has(r.function)) {
      const suggestion = closest(r.function, [...functions.keys()]);
      push('PAL_MANIFEST_UNKNOWN_FUNCTION', ['routes', index, 'function'], `function \`${r.function}\` is not declared`, `declare it under \`functions\`, or did you mean \`${suggestion}\`?`);
    }
    if (r.public && r.auth !== undefined) {
      push('PAL_MANIFEST_INVALID_VALUE', ['routes', index, 'auth'], 'a public route takes no `auth` list', 'remove `auth`, or remove `public: true` to make the route private');
    }
    for (const [j, m] of (r.auth ?? []).entries()) {
      if (m === MTLS_METHOD && identity.mtls !== undefined) continue;
      if (!methods.includes(m)) {
        const hint = methods.length === 0 ? 'configure `identity.issuers` or `identity.apiKeys.enabled` first' : `configured methods: ${methods.map((x) => `\`${x}\``).join(', ')}; did you mean \`${closest(m, methods)}\`?`;
        push('PAL_MANIFEST_INVALID_VALUE', ['routes', index, 'auth', j], `authentication method \`${m}\` is not configured`, hint);
      }
    }
    const schema = loadRouteSchemas(r, index);
    const contentTypes = r.contentTypes ?? (schema === undefined ? undefined : ['application/json']);
    if (schema !== undefined && r.contentTypes !== undefined) {
      r.contentTypes.forEach((t, j) => {
        if (!isJsonMediaType(t)) push('PAL_MANIFEST_INVALID_VALUE', ['routes', index, 'contentTypes', j], `content type \`${t}\` is not json, but the route validates bodies with a json schema`, 'use `application/json` or a `+json` type, or remove `schema`');
      });
    }
    if (schema !== undefined && r.contentEncodings !== undefined) {
      push('PAL_MANIFEST_INVALID_VALUE', ['routes', index, 'contentEncodings'], 'a route with a `schema` takes no `contentEncodings`', 'send json bodies uncompressed, or remove `schema`');
    }
    const rateLimit = r.rateLimit === undefined ? undefined : parseRateLimit(r.rateLimit, r.public);
    if (r.public && typeof r.rateLimit === 'object' && r.rateLimit.by === 'principal') {
      push('PAL_MANIFEST_INVALID_VALUE', ['routes', index, 'rateLimit', 'by'], 'a public route has no principal to count by', 'use `by: address`, or make the route private');
    }
    if (r.public && (r.allow !== undefined || r.mfa === 'required')) {
      push('PAL_MANIFEST_INVALID_VALUE', ['routes', index, r.allow !== undefined ? 'allow' : 'mfa'], 'a public route takes no `allow` or `mfa`', 'remove them, or remove `public: true` to make the route private');
    }
    const routeMethods = r.public ? [] : r.auth ?? methods;
    for (const [j, issuerName] of (r.allow?.issuers ?? []).entries()) {
      if (!routeMethods.includes(issuerName)) push('PAL_MANIFEST_INVALID_VALUE', ['routes', index, 'allow', 'issuers', j], `issuer \`${issuerName}\` is not an authentication method of this route`, `the route accepts: ${routeMethods.map((x) => `\`${x}\``).join(', ') || 'nothing'}`);
    }
    for (const [j, user] of (r.allow?.users ?? []).entries()) {
      const issuerName = user.slice(0, user.indexOf(':'));
      if (!routeMethods.includes(issuerName)) push('PAL_MANIFEST_INVALID_VALUE', ['routes', index, 'allow', 'users', j], `issuer \`${issuerName}\` of user \`${user}\` is not an authentication method of this route`, 'write users as `<issuer-name>:<subject>` with an issuer the route accepts');
    }
    if (!r.public && r.allow === undefined) {
      warnings.push({ code: 'PAL_MANIFEST_INVALID_VALUE', severity: 'warning', path: dotted(['routes', index]), message: `private route \`${r.path}\` has no \`allow\`: only the \`admin\` role can call it`, hint: 'add `allow: { roles: [...] }` (or users, apiKeys, issuers) naming who may call it', location: at(['routes', index]) });
    }
    const routeLine = at(['routes', index]).line;
    const allowLine = r.allow === undefined ? undefined : at(['routes', index, 'allow'], true).line;
    const route: RouteSpec = {
      index,
      path: r.path,
      methods: r.methods,
      function: r.function,
      public: r.public,
      maxBodyBytes: r.maxBodyBytes,
      auth: r.public ? [] : r.auth ?? methods,
      ...(schema === undefined ? {} : { schema }),
      ...(contentTypes === undefined ? {} : { contentTypes }),
      ...(r.contentEncodings === undefined ? {} : { contentEncodings: r.contentEncodings }),
      ...(rateLimit === undefined ? {} : { rateLimit }),
      ...(r.unsafeForwardCredentials === undefined ? {} : { unsafeForwardCredentials: r.unsafeForwardCredentials }),
      ...(r.allow === undefined ? {} : { allow: { ...r.allow, ...(allowLine === undefined ? {} : { line: allowLine }) } }),
      ...(r.public ? {} : { mfa: r.mfa }),
      ...(routeLine === undefined ? {} : { line: routeLine }),
    };
    routes.push(route);
    const parsed = parseRoutePattern(r.path);
    if (!parsed.ok) {
      push('PAL_MANIFEST_INVALID_PATH', ['routes', index, 'path'], parsed.message, 'use literal segments and `:param` segments, such as `/api/orders/:id`');
      return;
    }
    if (r.path === RESERVED_PATH_PREFIX || r.path.startsWith(`${RESERVED_PATH_PREFIX}/`)) {
      push('PAL_MANIFEST_INVALID_PATH', ['routes', index, 'path'], `paths under \`${RESERVED_PATH_PREFIX}\` are reserved for palisade`, 'choose another path');
      return;
    }
    for (const other of patterns) {
      const shared = route.methods.filter((m) => other.route.methods.includes(m));
      if (shared.length > 0 && routePatternsOverlap(parsed.pattern, other.pattern)) {
        push('PAL_MANIFEST_ROUTE_CONFLICT', ['routes', index, 'path'], `route \`${r.path}\` overlaps route ${other.route.index} \`${other.route.path}\` for ${shared.join(', ')}`, 'make the paths distinct or split the methods between them');
      }
    }
    patterns.push({ route, pattern: parsed.pattern });
  });

  const policies: string[] = [];
  raw.policies.forEach((file, i) => {
    const absolute = resolve(projectDir, file);
    const rel = relative(projectDir, absolute);
    if (rel.startsWith('..') || isAbsolute(rel)) push('PAL_POLICY_FILE_NOT_FOUND', ['policies', i], `policy file \`${file}\` is outside the project directory`, 'keep policy files inside the project');
    else if (source.checkFiles !== false && !isFile(absolute)) push('PAL_POLICY_FILE_NOT_FOUND', ['policies', i], `policy file \`${file}\` does not exist`, `create \`${rel}\` or correct the path (relative to the manifest)`);
    policies.push(absolute);
  });

  const roles = new Map<string, RoleSpec>();
  for (const [name, role] of Object.entries(raw.roles)) {
    const line = at(['roles', name], true).line;
    roles.set(name, { name, mfa: role.mfa, ...(role.description === undefined ? {} : { description: role.description }), ...(line === undefined ? {} : { line }) });
  }
  // A role used by `allow` but never declared is most often a typo (`custmer`); roles come from
  // identity providers too, so it is a warning, and only once the manifest declares its roles.
  if (roles.size > 0) {
    const known = [...roles.keys(), ADMIN_ROLE_NAME];
    for (const r of routes) {
      for (const [j, role] of (r.allow?.roles ?? []).entries()) {
        if (known.includes(role)) continue;
        warnings.push({ code: 'PAL_MANIFEST_UNKNOWN_ROLE', severity: 'warning', path: dotted(['routes', r.index, 'allow', 'roles', j]), message: `role \`${role}\` is not declared under \`roles\``, hint: `declare it under \`roles\`, or did you mean \`${closest(role, known)}\`?`, location: at(['routes', r.index, 'allow', 'roles', j]) });
      }
    }
  }

  const listen = parseListen(raw.gateway.listen);
  if (listen === undefined) {
    push('PAL_MANIFEST_INVALID_VALUE', ['gateway', 'listen'], `listen address \`${raw.gateway.listen}\` has a port outside 0-65535`, 'use `host:port`, such as `127.0.0.1:8443`');
  }
  const tls: TlsSpec = raw.gateway.tls === 'auto'
    ? { mode: 'auto' }
    : { mode: 'files', cert: resolve(projectDir, raw.gateway.tls.cert), key: resolve(projectDir, raw.gateway.tls.key) };
  if (tls.mode === 'files' && source.checkFiles !== false) {
    for (const k of ['cert', 'key'] as const) {
      if (!isFile(tls[k])) push('PAL_MANIFEST_SOURCE_NOT_FOUND', ['gateway', 'tls', k], `tls ${k} file does not exist`, 'give a pem file relative to the manifest, or use `tls: auto`');
    }
  }

  const sinks: AuditSinkSpec[] = [];
  const sinkNames = new Set<string>();
  raw.audit.sinks.forEach((k, index) => {
    const at = ['audit', 'sinks', index];
    if (sinkNames.has(k.name)) push('PAL_MANIFEST_INVALID_VALUE', [...at, 'name'], `audit sink name \`${k.name}\` is used twice`, 'give each sink its own name: it keys the delivery cursor');
    sinkNames.add(k.name);
    const need = k.type === 'file' ? 'path' : k.type === 'webhook' ? 'url' : 'address';
    if (k[need] === undefined) {
      push('PAL_MANIFEST_MISSING_KEY', at, `a \`${k.type}\` audit sink needs \`${need}\``, `add \`${need}\``);
      return;
    }
    const ca = k.ca === undefined ? {} : { ca: resolve(projectDir, k.ca) };
    if (k.type === 'file') sinks.push({ type: 'file', name: k.name, format: k.format, path: resolve(projectDir, k.path as string) });
    else if (k.type === 'webhook') sinks.push({ type: 'webhook', name: k.name, format: k.format, url: k.url as string, ...ca });
    else {
      const hp = parseListen(k.address as string);
      if (hp === undefined) push('PAL_MANIFEST_INVALID_VALUE', [...at, 'address'], `\`${k.address as string}\` is not host:port`, 'for example `siem.example.com:6514`');
      else sinks.push({ type: 'syslog', name: k.name, format: k.format, host: hp.host, port: hp.port, tls: k.tls, ...ca });
    }
  });

  const secrets = new Map<string, SecretSpec>();
  for (const [name, spec] of Object.entries(raw.secrets)) {
    let rotation: SecretSpec['rotation'];
    if (spec.rotation !== undefined) {
      const fn = spec.rotation.function;
      if (raw.functions[fn] === undefined) push('PAL_MANIFEST_UNKNOWN_FUNCTION', ['secrets', name, 'rotation', 'function'], `function \`${fn}\` is not declared`, `declare the rotation function under \`functions\`, or did you mean \`${closest(fn, Object.keys(raw.functions))}\`?`);
      rotation = { function: fn, everyMs: parseEvery(spec.rotation.every) };
      // A rotation function sees every new value: a route to it would let callers drive or probe it.
      const routed = raw.routes.findIndex((r) => r.function === fn);
      if (routed >= 0) warnings.push({ code: 'PAL_MANIFEST_INSECURE_SETTING', severity: 'warning', path: dotted(['secrets', name, 'rotation', 'function']), message: `rotation function \`${fn}\` of secret \`${name}\` is also reachable by route ${routed}`, hint: 'give the rotation function no route: the platform invokes it directly', location: at(['secrets', name, 'rotation', 'function']) });
    }
    secrets.set(name, { name, ...(spec.description === undefined ? {} : { description: spec.description }), ...(rotation === undefined ? {} : { rotation }), ...(spec.segment === undefined ? {} : { segment: spec.segment }) });
  }

  // Segment rules need every segment, function and secret: calls and secret grants across segments.
  const secretSegments = resolveSecretSegments(secrets, functions);
  for (const p of [...checkSegmentRules(segments, functions, { secrets, owners: secretSegments.owners }), ...secretSegments.problems]) push(p.code, p.path, p.message, p.hint);

  if (errors.length > 0) return { ok: false, errors, warnings };
  const manifest: Manifest = deepFreeze({
    name: raw.name,
    projectDir,
    file: resolve(source.file),
    gateway: {
      host: listen?.host ?? '127.0.0.1',
      port: listen?.port ?? 8443,
      tls,
      limits: raw.gateway.limits,
      ...(raw.gateway.origin === undefined ? {} : { origin: raw.gateway.origin }),
      ...(raw.gateway.rateLimit === undefined ? {} : { rateLimit: parseRateLimit(raw.gateway.rateLimit, true) }),
    },
    identity,
    segments,
    functions,
    routes,
    audit: {
      mode: raw.audit.mode,
      checkpoint: raw.audit.checkpoint,
      sinks,
      ...(raw.audit.witness === undefined ? {} : { witness: resolve(projectDir, raw.audit.witness) }),
    },
    secrets,
    secretSegments: secretSegments.owners,
    policies,
    roles,
  });
  return { ok: true, value: manifest, errors: [], warnings };
}

/** `30d`, `12h`, `15m` (the schema's pattern) in milliseconds. */
function parseEvery(every: string): number {
  const unit = every.at(-1);
  const n = Number(every.slice(0, -1));
  return n * (unit === 'd' ? 86_400_000 : unit === 'h' ? 3_600_000 : 60_000);
}

interface RawEgressGrant {
  host: string;
  ports?: number[];
  allowPrivateNetwork: boolean;
  allowInsecureHttp: boolean;
}

interface RawManifest {
  name: string;
  gateway: { listen: string; tls: 'auto' | { cert: string; key: string }; origin?: string; rateLimit?: RawRateLimit; limits: { maxHeaderBytes: number; headersTimeoutMs: number; requestTimeoutMs: number; maxJsonDepth: number; maxJsonKeys: number } };
  identity: { issuers: IssuerSpec[]; builtin: IdentitySpec['builtin']; apiKeys: { enabled: boolean }; mtls?: { ca: string; principalFrom: 'san-uri' | 'subject'; crls: string[] } };
  segments: Record<string, { workers: number; allowCallsFrom?: string[]; allowSecretReadsFrom?: string[]; egress: RawEgressGrant[] }>;
  functions: Record<string, { source: string; segment: string; limits: FunctionSpec['limits']; bindings: Record<string, BindingSpec>; egress: RawEgressGrant[]; secrets: string[]; kv: boolean }>;
  routes: RawRoute[];
  audit: { mode: 'sync' | 'async'; checkpoint: { everyEvents: number; everySeconds: number }; witness?: string; sinks: { type: 'file' | 'webhook' | 'syslog'; name: string; format: 'ocsf' | 'cef'; path?: string; url?: string; address?: string; tls: boolean; ca?: string }[] };
  secrets: Record<string, { description?: string; segment?: string; rotation?: { function: string; every: string } }>;
  policies: string[];
  roles: Record<string, { mfa: 'required' | 'optional'; description?: string }>;
}

type RawRateLimit = string | { rate: string; burst?: number; by?: 'principal' | 'address' };

interface RawRoute {
  path: string;
  methods: HttpMethod[];
  function: string;
  public: boolean;
  maxBodyBytes: number;
  auth?: string[];
  schema?: Record<string, string>;
  contentTypes?: string[];
  contentEncodings?: ContentEncoding[];
  rateLimit?: RawRateLimit;
  unsafeForwardCredentials?: CredentialHeader[];
  allow?: { roles?: string[]; users?: string[]; apiKeys?: string[]; issuers?: string[] };
  mfa: 'required' | 'optional';
}

const RATE_UNITS: Readonly<Record<string, number>> = { s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hour: 3600 };

/** Parses a schema-checked rate limit (`100/min` or `{ rate, burst, by }`). */
function parseRateLimit(raw: RawRateLimit, isPublic: boolean): RateLimitSpec {
  const rate = typeof raw === 'string' ? raw : raw.rate;
  const [count = '1', unit = 's'] = rate.split('/');
  const by = typeof raw === 'object' && raw.by !== undefined ? raw.by : isPublic ? 'address' : 'principal';
  return { points: Number(count), durationSec: RATE_UNITS[unit] ?? 1, burst: typeof raw === 'string' ? 0 : raw.burst ?? 0, by };
}

function isJsonMediaType(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json');
}

/** Parses `host:port`; undefined when the port is out of range. */
export function parseListen(listen: string): { host: string; port: number } | undefined {
  const idx = listen.lastIndexOf(':');
  let host = listen.slice(0, idx);
  const port = Number(listen.slice(idx + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port };
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? text).trim();
}

function dotted(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function pointerToPath(pointer: string): Array<string | number> {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^(0|[1-9][0-9]*)$/.test(p) ? Number(p) : p));
}

/** Finds the offset of the node at `path`; with `onKey`, of the key of the last step. */
function offsetOf(doc: Document, path: readonly (string | number)[], onKey: boolean): number | undefined {
  let node: unknown = doc.contents;
  let lastOffset: number | undefined = (doc.contents as Node | null)?.range?.[0];
  for (let i = 0; i < path.length; i++) {
    const step = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === step);
      if (pair === undefined) return lastOffset;
      const keyNode = pair.key as Node;
      if (onKey && i === path.length - 1) return keyNode.range?.[0];
      lastOffset = (pair.value as Node | null)?.range?.[0] ?? keyNode.range?.[0];
      node = pair.value;
    } else if (isSeq(node) && typeof step === 'number') {
      const item = node.items[step] as Node | undefined;
      if (item === undefined) return lastOffset;
      lastOffset = item.range?.[0];
      node = item;
    } else {
      return lastOffset;
    }
  }
  return lastOffset;
}

/** Drops the branch noise of `oneOf` failures, keeping one error for the alternative. */
function collapseSchemaErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const oneOfPaths = errors.filter((e) => e.keyword === 'oneOf').map((e) => e.schemaPath);
  return errors.filter(
    (e) =>
      // A bad property name reports once, as `propertyNames`, not again as its inner `pattern`.
      !e.schemaPath.includes('/propertyNames/') &&
      (e.keyword === 'oneOf' || !oneOfPaths.some((p) => e.schemaPath.startsWith(`${p}/`))),
  );
}

interface Described {
  code: ErrorCode;
  path: Array<string | number>;
  message: string;
  hint?: string;
  onKey: boolean;
}

function describeSchemaError(e: ErrorObject): Described {
  const path = pointerToPath(e.instancePath);
  const where = path.length === 0 ? 'the manifest' : `\`${dotted(path)}\``;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: Record<string, unknown> }).properties ?? {});
      return { code: 'PAL_MANIFEST_UNKNOWN_KEY', path: [...path, key], message: `unknown key \`${key}\` in ${where}`, hint: hintForUnknownKey(key, path, allowed), onKey: true };
    }
    case 'required': {
      const key = String((e.params as { missingProperty: string }).missingProperty);
      return { code: 'PAL_MANIFEST_MISSING_KEY', path, message: `${where} is missing required key \`${key}\``, hint: `add \`${key}:\` (see docs/manifest.md)`, onKey: false };
    }
    case 'propertyNames': {
      const name = String((e.params as { propertyName: string }).propertyName);
      return { code: 'PAL_MANIFEST_INVALID_VALUE', path: [...path, name], message: `name \`${name}\` is not allowed in ${where}`, hint: path.at(-1) === 'bindings' ? 'binding names are UPPER_SNAKE_CASE, such as `API_URL`' : 'names are lowercase letters, digits and dashes, starting with a letter', onKey: true };
    }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((v) => `\`${String(v)}\``).join(', ');
      return { code: 'PAL_MANIFEST_INVALID_VALUE', path, message: `${where} must be one of ${allowed}`, hint: `use one of ${allowed}`, onKey: false };
    }
    case 'oneOf':
      return { code: 'PAL_MANIFEST_INVALID_VALUE', path, message: `${where} must be \`auto\` or a mapping with \`cert\` and \`key\``, hint: 'write `tls: auto`, or `tls: { cert: cert.pem, key: key.pem }`', onKey: false };
    case 'minimum':
    case 'maximum': {
      const p = e.params as { limit: number };
      return { code: 'PAL_MANIFEST_INVALID_VALUE', path, message: `${where} must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${p.limit}`, hint: 'docs/manifest.md lists the bounds of every limit', onKey: false };
    }
    case 'type': {
      const p = e.params as { type: string };
      return { code: 'PAL_MANIFEST_INVALID_VALUE', path, message: `${where} must be of type ${p.type}`, hint: `write a ${p.type} here`, onKey: false };
    }
    case 'uniqueItems': {
      const p = e.params as { i: number; j: number };
      const [first, second] = [Math.min(p.i, p.j), Math.max(p.i, p.j)];
      return { code: 'PAL_MANIFEST_INVALID_VALUE', path: [...path, second], message: `${where} lists the same entry twice (items ${first + 1} and ${second + 1})`, hint: 'remove the duplicate', onKey: false };
    }
    case 'maxItems': {
      const p = e.params as { limit: number };
      return { code: 'PAL_MANIFEST_INVALID_VALUE', path, message: `${where} has more than ${p.limit} entries`, hint: 'split the function, or grant fewer entries', onKey: false };
    }
    case 'pattern':
      return { code: 'PAL_MANIFEST_INVALID_VALUE', path, message: `${where} has an invalid format`, hint: hintForPattern(path), onKey: false };
    default:
      return { code: 'PAL_MANIFEST_INVALID_VALUE', path, message: `${where} ${e.message ?? 'is invalid'}`, hint: 'see docs/manifest.md', onKey: false };
  }
}

function hintForUnknownKey(key: string, parent: Array<string | number>, allowed: string[]): string {
  const isRoot = parent.length === 0;
  const isFunction = parent[0] === 'functions' && parent.length === 2;
  if ((isRoot && (reservedSections as readonly string[]).includes(key)) || (isFunction && (reservedFunctionKeys as readonly string[]).includes(key))) {
    return `\`${key}\` is not supported by this version of palisade; remove it (it would not be enforced)`;
  }
  if (allowed.length === 0) return 'remove the key';
  const suggestion = closest(key, allowed);
  return `did you mean \`${suggestion}\`? valid keys: ${allowed.map((k) => `\`${k}\``).join(', ')}`;
}

function hintForPattern(path: Array<string | number>): string {
  const last = path.at(-1);
  if (last === 'listen') return 'use `host:port`, such as `127.0.0.1:8443`';
  if (path.at(-2) === 'secrets') return 'secret names are lowercase letters, digits, `.`, `-` and `_`, starting with a letter or digit, at most 128 characters, such as `db-url`';
  return 'names are lowercase letters, digits and dashes, starting with a letter';
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (value instanceof Map) for (const v of value.values()) deepFreeze(v);
    else for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Whether plain data (objects and arrays) contains itself. */
function isCyclic(value: unknown, open: Set<object> = new Set()): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (open.has(value)) return true;
  open.add(value);
  const cyclic = Object.values(value).some((v) => isCyclic(v, open));
  open.delete(value);
  return cyclic;
}
