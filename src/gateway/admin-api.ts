import type { IncomingHttpHeaders } from 'node:http';
import { PalisadeError, type ClientCertificate, type Principal } from '../kernel/index.js';
import { compileBodySchema, type BodyValidator } from '../manifest/index.js';
import { adminActionNames, type AdminActionName, type AuthenticationResult } from './ports.js';

export { adminActionNames, type AdminActionName };

/** The path prefix of the admin API. */
export const ADMIN_API_PREFIX = '/_palisade/admin';

/** What an admin endpoint's handler receives: the request after authentication, authorization and body validation. */
export interface AdminEndpointRequest {
  readonly requestId: string;
  readonly principal: Principal;
  /** `:name` segments of the endpoint path, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** The raw query including `?`, or ''. */
  readonly search: string;
  /** The body, parsed and validated against the endpoint's `body` schema; undefined without one. */
  readonly json: unknown;
  /** The caller's address, as the gateway determined it (for audit events the handler records). */
  readonly clientIp: string;
  /** The HTTP method. */
  readonly method: string;
  /** The endpoint's declared path pattern, with the prefix (never client-chosen text). */
  readonly route: string;
  /** The operator actions the decision allowed (one, or several for an endpoint that accepts any of a list). */
  readonly allowedActions: readonly AdminActionName[];
}

/** An admin endpoint's JSON answer (sent with `cache-control: no-store`). */
export interface AdminEndpointReply {
  readonly status: 200 | 201 | 202;
  readonly body: unknown;
}

/**
 * One admin endpoint. It declares the Cedar action that decides it; the gateway authenticates
 * the caller, asks Cedar, audits the decision and validates the body before `handle` runs.
 *
 * @example
 * ```ts
 * const listUsers: AdminEndpoint = { method: 'GET', path: '/users', action: 'manageUsers', resource: 'users', handle: async () => ({ status: 200, body: { users: [] } }) };
 * ```
 */
export interface AdminEndpoint {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below {@link ADMIN_API_PREFIX}: literal segments and `:name` segments, such as `/secrets/:name`. */
  readonly path: string;
  /** The operator action that decides it; a list means "any one of these" (all are decided, any allow suffices). */
  readonly action: AdminActionName | readonly AdminActionName[];
  /** The `AdminResource` id the action is on (`users`, `audit`, `secrets`, …). */
  readonly resource: string;
  /**
   * JSON Schema of the body. Required for `POST`, `PUT` and `PATCH` (a body is always validated);
   * a `GET` or `DELETE` takes no body.
   */
  readonly body?: unknown;
  /** Answers the request. Anything it throws that is not a `PalisadeError` with `expose` is a 500 without detail. */
  handle(request: AdminEndpointRequest): Promise<AdminEndpointReply>;
}

/** What authenticating an admin request sees: headers and the TLS peer, never the body. */
export interface AdminAuthenticationInput {
  readonly headers: IncomingHttpHeaders;
  readonly clientIp: string;
  readonly clientCertificate: () => ClientCertificate | undefined;
}

/** A compiled endpoint. */
export interface AdminEndpointEntry {
  readonly endpoint: AdminEndpoint;
  readonly segments: readonly string[];
  readonly actions: readonly AdminActionName[];
  readonly validateBody: BodyValidator | undefined;
}

/** The admin API as the gateway serves it: the endpoints, and how callers authenticate. */
export interface AdminApi {
  readonly prefix: string;
  /** Authenticates with every method the node accepts (bearer tokens of its issuers, API keys, client certificates). */
  authenticate(input: AdminAuthenticationInput): Promise<AuthenticationResult>;
  /** The endpoint for a method and the path segments below the prefix; `allow` lists the methods when only the path matched. */
  match(method: string, segments: readonly string[]): { readonly entry: AdminEndpointEntry; readonly params: Record<string, string> } | { readonly allow: readonly string[] } | undefined;
}

const SEGMENT = /^(?::[a-zA-Z][a-zA-Z0-9]*|[a-z0-9][a-z0-9._-]*)$/;
const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Builds the admin API from an explicit list of endpoints (no global registry: whoever adds an
 * endpoint adds it to the list the platform passes here). Refuses at start, with
 * `PAL_INTERNAL`, an endpoint list that is ambiguous or unsafe: two endpoints for one method and
 * path, an unknown action, a body method without a body schema, a schema ajv cannot compile.
 *
 * @example
 * ```ts
 * const api = createAdminApi([whoami, listUsers], (input) => authenticator.authenticate(input.headers, allMethods, input.clientCertificate));
 * ```
 */
export function createAdminApi(endpoints: readonly AdminEndpoint[], authenticate: AdminApi['authenticate']): AdminApi {
  const entries: AdminEndpointEntry[] = [];
  const seen = new Set<string>();
  for (const endpoint of endpoints) {
    const where = `admin endpoint \`${endpoint.method} ${endpoint.path}\``;
    if (!endpoint.path.startsWith('/')) throw new PalisadeError('PAL_INTERNAL', `${where}: the path must start with /`);
    const segments = endpoint.path === '/' ? [] : endpoint.path.slice(1).split('/');
    if (!segments.every((s) => SEGMENT.test(s))) throw new PalisadeError('PAL_INTERNAL', `${where}: segments are lowercase literals or :name`);
    const shape = `${endpoint.method} /${segments.map((s) => (s.startsWith(':') ? ':' : s)).join('/')}`;
    if (seen.has(shape)) throw new PalisadeError('PAL_INTERNAL', `${where}: another endpoint has the same method and path`);
    seen.add(shape);
    const actions: readonly AdminActionName[] = typeof endpoint.action === 'string' ? [endpoint.action] : [...(endpoint.action as readonly AdminActionName[])];
    if (actions.length === 0 || !actions.every((a) => (adminActionNames as readonly string[]).includes(a))) throw new PalisadeError('PAL_INTERNAL', `${where}: unknown operator action`);
    if (endpoint.resource === '' || endpoint.resource.length > 128) throw new PalisadeError('PAL_INTERNAL', `${where}: a resource id is required`);
    let validateBody: BodyValidator | undefined;
    if (BODY_METHODS.has(endpoint.method)) {
      // A body that reaches a handler has always been validated: no schema, no endpoint.
      if (endpoint.body === undefined) throw new PalisadeError('PAL_INTERNAL', `${where}: a ${endpoint.method} endpoint needs a body schema`);
      const compiled = compileBodySchema(endpoint.body);
      if (!compiled.ok) throw new PalisadeError('PAL_INTERNAL', `${where}: body schema: ${compiled.message}`);
      validateBody = compiled.validate;
    } else if (endpoint.body !== undefined) {
      throw new PalisadeError('PAL_INTERNAL', `${where}: a ${endpoint.method} endpoint takes no body`);
    }
    entries.push(Object.freeze({ endpoint, segments, actions, validateBody }));
  }
  const frozen = Object.freeze(entries);
  return Object.freeze({
    prefix: ADMIN_API_PREFIX,
    authenticate,
    match(method: string, segments: readonly string[]) {
      const allow: string[] = [];
      for (const entry of frozen) {
        const params = matchSegments(entry.segments, segments);
        if (params === undefined) continue;
        if (entry.endpoint.method === method) return { entry, params };
        allow.push(entry.endpoint.method);
      }
      return allow.length === 0 ? undefined : { allow };
    },
  });
}

function matchSegments(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    const s = segments[i] as string;
    if (p.startsWith(':')) {
      if (s === '') return undefined;
      params[p.slice(1)] = s;
    } else if (p !== s) return undefined;
  }
  return params;
}
