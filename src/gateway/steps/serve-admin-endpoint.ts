import type { TLSSocket } from 'node:tls';
import type { AdminActionName, AdminEndpointEntry } from '../admin-api.js';
import { Denial } from '../denial.js';
import type { AuthorizationDecision } from '../ports.js';
import type { RequestContext } from '../request-context.js';
import { checkRequestTarget } from '../request-target.js';
import { readClientCertificate } from './authenticate.js';
import { enforceDecision } from './authorize.js';
import { decodeJsonBody } from './validate-body.js';
import { contentCoding } from './check-content-headers.js';

/** Admin request bodies are small documents; anything larger is refused before it is parsed. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024;


/**
 * The admin API (`/_palisade/admin/…`): every request is authenticated first (so an anonymous
 * caller learns nothing, not even which endpoints exist), then decided by Cedar as the endpoint's
 * operator action on its `AdminResource` (401 step-up or 403 exactly as for routes), then its
 * body is read (bounded), parsed without prototype keys and validated against the endpoint's
 * schema, and only then does the handler run. The decision and its policy ids are audited like
 * a route decision, with the operator action as the audit action.
 */
export async function serveAdminEndpoint(ctx: RequestContext): Promise<void> {
  const api = ctx.deps.admin;
  const raw = ctx.req.url ?? '';
  if (api === undefined || !(raw === api.prefix || raw.startsWith(`${api.prefix}/`) || raw.startsWith(`${api.prefix}?`))) return;
  const target = checkRequestTarget(raw);
  ctx.target = target;
  ctx.action = 'admin';
  ctx.endpointPath = api.prefix;

  const auth = await api.authenticate({ headers: ctx.req.headers, clientIp: ctx.clientIp, clientCertificate: () => readClientCertificate(ctx.req.socket as TLSSocket) });
  if (!auth.ok) {
    throw new Denial('PAL_GATEWAY_UNAUTHENTICATED', auth.reason === 'no-credentials' ? 'no-credentials' : 'invalid-credentials', 'authentication required', { headers: [['www-authenticate', auth.challenge]], authFailure: auth.reason });
  }
  const principal = auth.principal;
  ctx.principal = principal;

  const method = ctx.req.method ?? '';
  const found = api.match(method, target.segments.slice(2));
  if (found === undefined) throw new Denial('PAL_GATEWAY_ROUTE_NOT_FOUND', 'route-not-found', 'no route matches this path');
  if ('allow' in found) throw new Denial('PAL_GATEWAY_METHOD_NOT_ALLOWED', 'method-not-allowed', 'method not allowed', { headers: [['allow', found.allow.join(', ')]] });
  const { entry, params } = found;
  // The audit record names the endpoint by its declared pattern, never by client-chosen text.
  ctx.endpointPath = `${api.prefix}${entry.endpoint.path}`;
  ctx.action = entry.actions[0] as AdminActionName;

  const allowed = await decide(ctx, entry);
  enforceDecision(ctx, allowed.decision);
  if (allowed.decision.effect === 'allow' && allowed.action !== undefined) ctx.action = allowed.action;

  const json = entry.validateBody === undefined ? await refuseBody(ctx) : await readJsonBody(ctx, entry);
  const reply = await entry.endpoint.handle({ requestId: ctx.requestId, principal, params, search: target.search, json, allowedActions: allowed.actions, clientIp: ctx.clientIp, method, route: ctx.endpointPath });
  ctx.response = { status: reply.status, headers: [['content-type', 'application/json'], ['cache-control', 'no-store']], body: Buffer.from(JSON.stringify(reply.body)) };
}

/**
 * Decides every action the endpoint accepts. One allow suffices (the first, in declared order,
 * is recorded); otherwise a deny a second factor would lift is a step-up; otherwise a deny with
 * every determining policy. An authorizer failure is a deny (CONVENTIONS §11).
 */
async function decide(ctx: RequestContext, entry: AdminEndpointEntry): Promise<{ decision: AuthorizationDecision; action: AdminActionName | undefined; actions: AdminActionName[] }> {
  const principal = ctx.principal;
  if (principal === undefined) throw new Denial('PAL_GATEWAY_UNAUTHENTICATED', 'no-credentials', 'authentication required');
  const facts = { clientIp: ctx.clientIp, time: ctx.deps.clock.now() };
  const allowedActions: AdminActionName[] = [];
  let first: { decision: AuthorizationDecision; action: AdminActionName } | undefined;
  let stepUp: AuthorizationDecision | undefined;
  const denyIds = new Set<string>();
  const errors: string[] = [];
  for (const action of entry.actions) {
    let d: AuthorizationDecision;
    try {
      d = await ctx.deps.authorizer.authorizeAdmin(principal, action, entry.endpoint.resource, facts);
    } catch (error) {
      ctx.deps.logger.error('authorizer failed; denying', { requestId: ctx.requestId, code: 'PAL_POLICY_UNAVAILABLE', reason: error instanceof Error ? error.message.slice(0, 300) : 'unknown' });
      d = { effect: 'deny', reason: 'engine-error', policyIds: [], errors: ['authorizer failed'] };
    }
    errors.push(...d.errors);
    if (d.effect === 'allow') {
      allowedActions.push(action);
      first ??= { decision: d, action };
      continue;
    }
    if (d.reason === 'mfa-required') stepUp ??= d;
    for (const id of d.policyIds) denyIds.add(id);
  }
  if (first !== undefined) return { decision: first.decision, action: first.action, actions: allowedActions };
  if (stepUp !== undefined) return { decision: stepUp, action: undefined, actions: [] };
  const engineError = errors.includes('authorizer failed');
  return { decision: { effect: 'deny', reason: engineError ? 'engine-error' : denyIds.size > 0 ? 'forbid' : 'no-permit', policyIds: [...denyIds].sort(), errors: [...new Set(errors)] }, action: undefined, actions: [] };
}

/** An endpoint without a body schema takes no body (`GET`, `DELETE`). */
async function refuseBody(ctx: RequestContext): Promise<undefined> {
  const length = ctx.req.headers['content-length'];
  if ((length !== undefined && length !== '0') || ctx.req.headers['transfer-encoding'] !== undefined) {
    throw new Denial('PAL_GATEWAY_BAD_REQUEST', 'body-not-allowed', 'this endpoint takes no body');
  }
  return undefined;
}

async function readJsonBody(ctx: RequestContext, entry: AdminEndpointEntry): Promise<unknown> {
  if (contentCoding(ctx.req.headers['content-encoding']) !== undefined) {
    throw new Denial('PAL_GATEWAY_UNSUPPORTED_MEDIA_TYPE', 'unsupported-media-type', 'this endpoint does not accept a `content-encoding`', { headers: [['accept-encoding', 'identity']] });
  }
  if (!/^application\/json\s*(;|$)/i.test(ctx.req.headers['content-type'] ?? '')) throw new Denial('PAL_GATEWAY_UNSUPPORTED_MEDIA_TYPE', 'unsupported-media-type', 'the body must be `application/json`');
  const declared = Number(ctx.req.headers['content-length'] ?? 0);
  if (declared > MAX_ADMIN_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ADMIN_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  const value = decodeJsonBody(Buffer.concat(chunks), ctx.state.jsonLimits);
  const errors = entry.validateBody?.(value) ?? [];
  if (errors.length > 0) throw new Denial('PAL_GATEWAY_INVALID_BODY', 'invalid-body', `the body does not match the endpoint schema (${errors.length} error${errors.length === 1 ? '' : 's'})`, { errors });
  return value;
}

function tooLarge(): Denial {
  return new Denial('PAL_GATEWAY_BODY_TOO_LARGE', 'body-too-large', `request body exceeds ${MAX_ADMIN_BODY_BYTES} bytes`);
}

