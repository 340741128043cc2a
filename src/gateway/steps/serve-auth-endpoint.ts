import { PalisadeError, safeJsonParse } from '../../kernel/index.js';
import type { RequestContext } from '../request-context.js';
import { checkRequestTarget } from '../request-target.js';

const MAX_BODY_BYTES = 16 * 1024;

/**
 * Built-in endpoints (token, login, refresh, logout, discovery, keys) under their prefix. They
 * are public by nature; they get the same path checks, a 16 KiB body limit, safe JSON parsing
 * (or form parsing for the RFC 6749 token endpoint) and one audit event each. A denial never
 * tells the client why.
 */
export async function serveAuthEndpoint(ctx: RequestContext): Promise<void> {
  const endpoints = ctx.deps.endpoints;
  const raw = ctx.req.url ?? '';
  if (endpoints === undefined || !(raw === endpoints.prefix || raw.startsWith(`${endpoints.prefix}/`) || raw.startsWith(`${endpoints.prefix}?`))) return;
  const target = checkRequestTarget(raw);
  ctx.target = target;
  ctx.action = 'discovery';
  const method = ctx.req.method ?? 'GET';
  let json: unknown;
  let form: Record<string, string> | undefined;
  if (method === 'POST') {
    const contentType = ctx.req.headers['content-type'] ?? '';
    if (/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType)) {
      // RFC 6749 section 3.2: the token endpoint takes form parameters, each at most once.
      form = parseForm(await readLimited(ctx));
    } else {
      if (!/^application\/json\b/i.test(contentType)) throw badRequest('the body must be `application/json` or `application/x-www-form-urlencoded`');
      const body = await readLimited(ctx);
      const parsed = safeJsonParse(body);
      if (!parsed.ok || parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) throw badRequest('the body must be a json object');
      json = parsed.value;
    }
  }
  const outcome = await endpoints.handle({ method, path: target.path.slice(endpoints.prefix.length) || '/', json, ...(form === undefined ? {} : { form }), clientIp: ctx.clientIp });
  ctx.action = outcome.action;
  if (outcome.kind === 'json') {
    ctx.reason = 'allowed';
    ctx.response = { status: outcome.status, headers: [['content-type', 'application/json'], ['cache-control', 'no-store'], ['pragma', 'no-cache']], body: Buffer.from(JSON.stringify(outcome.body)) };
    return;
  }
  if (outcome.kind === 'oauth-error') {
    // RFC 6749 section 5.2: the error is JSON with an `error` code; the reason stays with the operator.
    if (outcome.authFailure !== undefined) ctx.authFailure = outcome.authFailure;
    ctx.reason = outcome.error === 'invalid_request' || outcome.error === 'unsupported_grant_type' ? 'bad-path' : 'invalid-credentials';
    const headers: Array<readonly [string, string]> = [['content-type', 'application/json'], ['cache-control', 'no-store'], ['pragma', 'no-cache']];
    if (outcome.retryAfterSec !== undefined) headers.push(['retry-after', String(outcome.retryAfterSec)]);
    ctx.response = { status: outcome.status, headers, body: Buffer.from(JSON.stringify({ error: outcome.error })) };
    return;
  }
  if (outcome.authFailure !== undefined) ctx.authFailure = outcome.authFailure;
  switch (outcome.status) {
    case 401:
      ctx.reason = 'invalid-credentials';
      throw new PalisadeError('PAL_IDENTITY_LOGIN_FAILED', 'invalid credentials');
    case 429:
      ctx.reason = 'invalid-credentials';
      throw new Throttled(outcome.retryAfterSec ?? 60);
    case 404:
      ctx.reason = 'route-not-found';
      throw new PalisadeError('PAL_GATEWAY_ROUTE_NOT_FOUND', 'no route matches this path');
    case 405:
      ctx.reason = 'method-not-allowed';
      throw new PalisadeError('PAL_GATEWAY_METHOD_NOT_ALLOWED', 'method not allowed');
    default:
      ctx.reason = 'bad-path';
      throw badRequest('the request is not valid for this endpoint');
  }
}

/** A 429 carrying its `retry-after`. */
export class Throttled extends PalisadeError {
  readonly retryAfterSec: number;
  constructor(retryAfterSec: number) {
    super('PAL_IDENTITY_THROTTLED', 'too many failed attempts; retry later');
    this.retryAfterSec = retryAfterSec;
  }
}

/**
 * Parses a form body. A repeated parameter makes the whole form unusable (RFC 6749 section 3.2):
 * the endpoint then sees no form and answers `invalid_request` in its own error format.
 */
function parseForm(body: string): Record<string, string> | undefined {
  const form: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of new URLSearchParams(body)) {
    if (name in form) return undefined;
    form[name] = value;
  }
  return form;
}

function badRequest(message: string): PalisadeError {
  return new PalisadeError('PAL_IDENTITY_BAD_REQUEST', message);
}

async function readLimited(ctx: RequestContext): Promise<string> {
  const declared = Number(ctx.req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new PalisadeError('PAL_GATEWAY_BODY_TOO_LARGE', `request body exceeds ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new PalisadeError('PAL_GATEWAY_BODY_TOO_LARGE', `request body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
