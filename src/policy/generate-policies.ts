import { relative } from 'node:path';
import type { EgressGrantSpec, FunctionSpec, Manifest, RoleSpec, RouteSpec, SegmentSpec } from '../manifest/index.js';
import { functionUid, hostUid, routeUid, secretUid } from './build-entities.js';
import type { Expr, PolicyJson } from './cedar.js';
import { generateSegmentPolicies } from './generate-segment-policies.js';
import type { PolicySource } from './policy-source.js';

/** The role that may call a private route without `allow`. */
export const ADMIN_ROLE = 'admin';

const INVOKE = { op: '==', entity: { type: 'Action', id: 'invoke' } } as const;
/** The action group of every operator action (`deploy`, `manageUsers`, … are `in Action::"admin"`). */
const ADMIN_ACTIONS = { op: 'in', entity: { type: 'Action', id: 'admin' } } as const;
const contextMfa: Expr = { '.': { left: { Var: 'context' }, attr: 'mfa' } };
const principalVar: Expr = { Var: 'principal' };
const attr = (left: Expr, name: string): Expr => ({ '.': { left, attr: name } });
const str = (value: string): Expr => ({ Value: value });
const or = (items: readonly Expr[]): Expr => items.reduce((acc, e) => ({ '||': { left: acc, right: e } }));
const and = (left: Expr, right: Expr): Expr => ({ '&&': { left, right } });
const eq = (left: Expr, right: Expr): Expr => ({ '==': { left, right } });

/**
 * The policies a manifest implies, one per rule, each with a stable id that names the route and
 * rule (`route:GET /orders#allow.roles`) and an origin (`palisade.yaml:14`):
 *
 * - `allow.roles|users|apiKeys|issuers`: one `permit` each;
 * - a private route without `allow`: one `permit` for the `admin` role (`#admin-only`);
 * - `mfa: required`: one `forbid … unless { context.mfa }` (`#mfa`);
 * - each `service` binding: one `permit` of `callFunction` from the function to its target;
 * - a role with `mfa: required`: one `forbid` of route calls and operator actions by principals
 *   in the role without a second factor (`role:<name>#mfa`);
 * - operator actions (the admin API): the `admin` role may perform them (`admin:actions#role.admin`),
 *   and never without a second factor (`admin:actions#mfa`).
 * - each granted secret: one `permit` of `readSecret` (`function:<fn>#secret.<name>`);
 * - each egress grant: one `permit` of `egress` (`function:<fn>#egress.<host>`): `resource ==
 *   Host::"<host>"`, or for `*.suffix` `resource.name like "*.suffix"`; a segment's grant
 *   (`segments.<name>.egress`) the same for `principal in Segment::"<name>"`
 *   (`segment:<name>#egress.<host>`);
 * - each segment: one `forbid` of `callFunction` across its boundary unless a segment rule
 *   (`allowCallsFrom`) lets the caller's segment in (`segment:<name>#allowCallsFrom`), and one
 *   of `readSecret` of its secrets unless `allowSecretReadsFrom` does
 *   (`segment:<name>#allowSecretReadsFrom`).
 *
 * Built as Cedar JSON: values from the manifest are data, never spliced into policy text.
 *
 * @example
 * ```ts
 * generateManifestPolicies(manifest).map((p) => p.id); // ['route:GET /orders#allow.roles', ...]
 * ```
 */
export function generateManifestPolicies(manifest: Pick<Manifest, 'routes' | 'functions' | 'segments' | 'file' | 'projectDir'> & Partial<Pick<Manifest, 'roles'>>): PolicySource[] {
  const file = relative(manifest.projectDir, manifest.file) || manifest.file;
  const out: PolicySource[] = [];
  for (const route of manifest.routes) {
    if (route.public) continue;
    out.push(...routePolicies(route, file));
  }
  for (const fn of manifest.functions.values()) out.push(...bindingPolicies(fn, file), ...secretPolicies(fn, file), ...egressPolicies(fn, file));
  for (const seg of manifest.segments.values()) out.push(...segmentEgressPolicies(seg, file));
  out.push(...generateSegmentPolicies(manifest, file));
  for (const role of manifest.roles?.values() ?? []) if (role.mfa === 'required') out.push(roleMfaPolicy(role, file));
  out.push(...adminPolicies(manifest.roles?.get(ADMIN_ROLE)?.line, file));
  return out;
}

/** Each granted secret is one `readSecret` permit: `function:<fn>#secret.<name>`, with the line of its grant. */
function secretPolicies(fn: FunctionSpec, file: string): PolicySource[] {
  const out: PolicySource[] = [];
  for (const name of fn.secrets ?? []) {
    const id = `function:${fn.name}#secret.${name}`;
    const line = fn.secretLines?.[name] ?? fn.line;
    const origin = line === undefined ? file : `${file}:${line}`;
    const policy: PolicyJson = {
      effect: 'permit',
      principal: { op: '==', entity: functionUid(fn.name) },
      action: { op: '==', entity: { type: 'Action', id: 'readSecret' } },
      resource: { op: '==', entity: secretUid(name) },
      conditions: [],
      annotations: { id, origin },
    };
    out.push({ id, policy, origin: { file, ...(line === undefined ? {} : { line }) }, generated: true });
  }
  return out;
}

function source(id: string, file: string, line: number | undefined, policy: Omit<PolicyJson, 'annotations'>): PolicySource {
  const origin = line === undefined ? file : `${file}:${line}`;
  return { id, policy: { ...policy, annotations: { id, origin } }, origin: { file, ...(line === undefined ? {} : { line }) }, generated: true };
}

/**
 * The defaults of operator actions: the `admin` role may perform every one, and nobody performs
 * one without a second factor (a stolen password alone never reaches the admin API).
 */
function adminPolicies(line: number | undefined, file: string): PolicySource[] {
  return [
    source('admin:actions#role.admin', file, line, { effect: 'permit', principal: { op: 'in', entity: { type: 'Role', id: ADMIN_ROLE } }, action: ADMIN_ACTIONS, resource: { op: 'All' }, conditions: [] }),
    source('admin:actions#mfa', file, line, { effect: 'forbid', principal: { op: 'All' }, action: ADMIN_ACTIONS, resource: { op: 'All' }, conditions: [{ kind: 'unless', body: contextMfa }] }),
  ];
}

/**
 * `roles.<name>.mfa: required`: route calls and operator actions of a principal in the role are
 * forbidden unless the proof had a second factor. Scoped to those actions: their contexts carry
 * `mfa`, and function-to-function calls have no role principal.
 */
function roleMfaPolicy(role: RoleSpec, file: string): PolicySource {
  return source(`role:${role.name}#mfa`, file, role.line, {
    effect: 'forbid',
    principal: { op: 'in', entity: { type: 'Role', id: role.name } },
    action: { op: 'in', entities: [{ type: 'Action', id: 'invoke' }, { type: 'Action', id: 'admin' }] },
    resource: { op: 'All' },
    conditions: [{ kind: 'unless', body: contextMfa }],
  });
}

/**
 * A grant's host in the form the egress guard asks about: lowercase, IDNA, IPv4 in dotted form,
 * no trailing dot, IPv6 without brackets (the manifest has checked that it is a usable host).
 */
export function canonicalGrantHost(host: string): string {
  const wildcard = host.startsWith('*.');
  const bare = wildcard ? host.slice(2) : host;
  let name = bare;
  try {
    name = new URL(`http://${bare.includes(':') && !bare.startsWith('[') ? `[${bare}]` : bare}/`).hostname;
  } catch {
    name = bare.toLowerCase();
  }
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  if (name.endsWith('.')) name = name.slice(0, -1);
  return wildcard ? `*.${name}` : name;
}

/** Each egress grant of a function is one `egress` permit: `function:<fn>#egress.<host>` (ports and schemes are the guard's). */
function egressPolicies(fn: FunctionSpec, file: string): PolicySource[] {
  return egressPermits(fn.egress ?? [], `function:${fn.name}`, { op: '==', entity: functionUid(fn.name) }, fn.line, file);
}

/**
 * Each egress grant of a segment is one `egress` permit for every function in it:
 * `segment:<name>#egress.<host>`, `principal in Segment::"<name>"` (the gateway builds
 * `Function in Segment` from its own manifest).
 */
function segmentEgressPolicies(seg: SegmentSpec, file: string): PolicySource[] {
  return egressPermits(seg.egress ?? [], `segment:${seg.name}`, { op: 'in', entity: { type: 'Segment', id: seg.name } }, seg.line, file);
}

/** One `egress` permit per distinct canonical host of `grants`, id `<owner>#egress.<host>`. */
function egressPermits(grants: readonly EgressGrantSpec[], owner: string, principal: PolicyJson['principal'], line: number | undefined, file: string): PolicySource[] {
  const out: PolicySource[] = [];
  const seen = new Set<string>();
  for (const grant of grants) {
    const host = canonicalGrantHost(grant.host);
    if (seen.has(host)) continue;
    seen.add(host);
    const wildcard = host.startsWith('*.');
    out.push(
      source(`${owner}#egress.${host}`, file, line, {
        effect: 'permit',
        principal,
        action: { op: '==', entity: { type: 'Action', id: 'egress' } },
        resource: wildcard ? { op: 'is', entity_type: 'Host' } : { op: '==', entity: hostUid(host) },
        // Data, never policy text: the suffix is one literal after one wildcard.
        conditions: wildcard ? [{ kind: 'when', body: { like: { left: attr({ Var: 'resource' }, 'name'), pattern: ['Wildcard', { Literal: host.slice(1) }] } } }] : [],
      }),
    );
  }
  return out;
}

/** Each `service` binding grants one `callFunction`: `function:<caller>#binding.<NAME>`. */
function bindingPolicies(fn: FunctionSpec, file: string): PolicySource[] {
  const out: PolicySource[] = [];
  for (const [name, binding] of Object.entries(fn.bindings)) {
    if (binding.type !== 'service') continue;
    const id = `function:${fn.name}#binding.${name}`;
    const origin = fn.line === undefined ? file : `${file}:${fn.line}`;
    const policy: PolicyJson = {
      effect: 'permit',
      principal: { op: '==', entity: functionUid(fn.name) },
      action: { op: '==', entity: { type: 'Action', id: 'callFunction' } },
      resource: { op: '==', entity: functionUid(binding.function) },
      conditions: [],
      annotations: { id, origin },
    };
    out.push({ id, policy, origin: { file, ...(fn.line === undefined ? {} : { line: fn.line }) }, generated: true });
  }
  return out;
}

function routePolicies(route: RouteSpec, file: string): PolicySource[] {
  const uid = routeUid(route);
  const resource = { op: '==', entity: uid } as const;
  const name = `route:${uid.id}`;
  const out: PolicySource[] = [];
  const add = (suffix: string, line: number | undefined, policy: Omit<PolicyJson, 'annotations'>) => {
    const id = `${name}#${suffix}`;
    const origin = line === undefined ? file : `${file}:${line}`;
    out.push({ id, policy: { ...policy, annotations: { id, origin } }, origin: { file, ...(line === undefined ? {} : { line }) }, generated: true });
  };
  const allow = route.allow;
  const allowLine = allow?.line ?? route.line;
  if (allow === undefined) {
    add('admin-only', route.line, { effect: 'permit', principal: { op: 'in', entity: { type: 'Role', id: ADMIN_ROLE } }, action: INVOKE, resource, conditions: [] });
  } else {
    if (allow.roles !== undefined) {
      const body = or(allow.roles.map((r) => ({ in: { left: principalVar, right: { Value: { __entity: { type: 'Role', id: r } } } } })));
      add('allow.roles', allowLine, { effect: 'permit', principal: { op: 'All' }, action: INVOKE, resource, conditions: [{ kind: 'when', body }] });
    }
    if (allow.users !== undefined) {
      const body = or(
        allow.users.map((u) => {
          const colon = u.indexOf(':');
          return and(eq(attr(principalVar, 'issuerName'), str(u.slice(0, colon))), eq(attr(principalVar, 'subject'), str(u.slice(colon + 1))));
        }),
      );
      add('allow.users', allowLine, { effect: 'permit', principal: { op: 'All' }, action: INVOKE, resource, conditions: [{ kind: 'when', body }] });
    }
    if (allow.apiKeys !== undefined) {
      const body = or(allow.apiKeys.map((k) => eq(attr(principalVar, 'subject'), str(k.startsWith('apikey:') ? k : `apikey:${k}`))));
      add('allow.apiKeys', allowLine, { effect: 'permit', principal: { op: 'is', entity_type: 'ApiKey' }, action: INVOKE, resource, conditions: [{ kind: 'when', body }] });
    }
    if (allow.issuers !== undefined) {
      const body = or(allow.issuers.map((i) => eq(attr(principalVar, 'issuerName'), str(i))));
      add('allow.issuers', allowLine, { effect: 'permit', principal: { op: 'All' }, action: INVOKE, resource, conditions: [{ kind: 'when', body }] });
    }
  }
  if (route.mfa === 'required') {
    add('mfa', route.line, { effect: 'forbid', principal: { op: 'All' }, action: INVOKE, resource, conditions: [{ kind: 'unless', body: attr({ Var: 'context' }, 'mfa') }] });
  }
  return out;
}
