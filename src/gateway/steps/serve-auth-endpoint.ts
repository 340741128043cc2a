import { safeJsonParse } from '../../kernel/index.js';
import { Denial } from '../denial.js';
import type { RequestContext } from '../request-context.js';
import { checkRequestTarget } from '../request-target.js';
import { contentCoding } from './check-content-headers.js';

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
    // Credentials are small: a compressed body is refused, never decoded (nor read as if plain).
    if (contentCoding(ctx.req.headers['content-encoding']) !== undefined) {
      throw new Denial('PAL_GATEWAY_UNSUPPORTED_MEDIA_TYPE', 'unsupported-media-type', 'this endpoint does not accept a `content-encoding`', { headers: [['accept-encoding', 'identity']] });
    }
    const contentType = ctx.req.headers['content-type'] ?? '';
    if (/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType)) {
      // RFC 6749 section 3.2: the token endpoint takes form parameters, each at most once.
      form = parseForm(await readLimited(ctx));
    } else {
      if (!/^application\/json\b/i.test(contentType)) throw badRequest('the body must be `application/json` or `application/x-www-form-urlencoded`', 'unsupported-media-type');
      const body = await readLimited(ctx);
      const parsed = safeJsonParse(body);
      if (!parsed.ok || parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) throw badRequest('the body must be a json object', 'malformed-body');
      json = parsed.value;
    }
  }
  const outcome = await endpoints.handle({ method, path: target.path.slice(endpoints.prefix.length) || '/', json, ...(form === undefined ? {} : { form }), clientIp: ctx.clientIp });
  ctx.action = outcome.action;
  if (outcome.kind === 'json') {
    ctx.granted = 'allowed';
    ctx.response = { status: outcome.status, headers: [['content-type', 'application/json'], ['cache-control', 'no-store'], ['pragma', 'no-cache']], body: Buffer.from(JSON.stringify(outcome.body)) };
    return;
  }
  if (outcome.kind === 'oauth-error') {
    // RFC 6749 section 5.2: the refusal answers in OAuth's own format (`{"error": ...}`); the
    // reason stays with the operator and the audit record.
    const reason = outcome.error === 'invalid_request' || outcome.error === 'unsupported_grant_type' ? 'bad-path' : 'invalid-credentials';
    const headers: Array<readonly [string, string]> = [['content-type', 'application/json'], ['cache-control', 'no-store'], ['pragma', 'no-cache']];
    if (outcome.retryAfterSec !== undefined) headers.push(['retry-after', String(outcome.retryAfterSec)]);
    throw new Denial('PAL_IDENTITY_LOGIN_FAILED', reason, 'the token request was refused', {
      status: outcome.status,
      ...(outcome.authFailure === undefined ? {} : { authFailure: outcome.authFailure }),
      reply: { status: outcome.status, headers, body: Buffer.from(JSON.stringify({ error: outcome.error })) },
    });
  }
  const authFailure = outcome.authFailure === undefined ? {} : { authFailure: outcome.authFailure };
  switch (outcome.status) {
    case 401:
      throw new Denial('PAL_IDENTITY_LOGIN_FAILED', 'invalid-credentials', 'invalid credentials', authFailure);
    case 429:
      throw new Denial('PAL_IDENTITY_THROTTLED', 'invalid-credentials', 'too many failed attempts; retry later', { ...authFailure, headers: [['retry-after', String(outcome.retryAfterSec ?? 60)]] });
    case 404:
      throw new Denial('PAL_GATEWAY_ROUTE_NOT_FOUND', 'route-not-found', 'no route matches this path', authFailure);
    case 405:
      throw new Denial('PAL_GATEWAY_METHOD_NOT_ALLOWED', 'method-not-allowed', 'method not allowed', authFailure);
    default:
      throw new Denial('PAL_IDENTITY_BAD_REQUEST', 'bad-path', 'the request is not valid for this endpoint', authFailure);
  }
}

function badRequest(message: string, reason: 'unsupported-media-type' | 'malformed-body'): Denial {
  return new Denial('PAL_IDENTITY_BAD_REQUEST', reason, message);
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

async function readLimited(ctx: RequestContext): Promise<string> {
  const declared = Number(ctx.req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new Denial('PAL_GATEWAY_BODY_TOO_LARGE', 'body-too-large', `request body exceeds ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Denial('PAL_GATEWAY_BODY_TOO_LARGE', 'body-too-large', `request body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
