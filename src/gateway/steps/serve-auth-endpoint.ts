import { safeJsonParse } from '../../kernel/index.js';
import { Denial } from '../denial.js';
import type { RequestContext } from '../request-context.js';
import { checkRequestTarget } from '../request-target.js';

const MAX_BODY_BYTES = 16 * 1024;

/**
 * Built-in endpoints (login, refresh, logout, discovery, keys) under their prefix. They are
 * public by nature; they get the same path checks, a 16 KiB JSON body limit, safe JSON parsing
 * and one audit event each. A denial never tells the client why.
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
  if (method === 'POST') {
    if (!/^application\/json\b/i.test(ctx.req.headers['content-type'] ?? '')) throw badRequest('the body must be `application/json`', 'unsupported-media-type');
    const body = await readLimited(ctx);
    const parsed = safeJsonParse(body);
    if (!parsed.ok || parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) throw badRequest('the body must be a json object', 'malformed-body');
    json = parsed.value;
  }
  const outcome = await endpoints.handle({ method, path: target.path.slice(endpoints.prefix.length) || '/', json, clientIp: ctx.clientIp });
  ctx.action = outcome.action;
  if (outcome.kind === 'json') {
    ctx.granted = 'allowed';
    ctx.response = { status: outcome.status, headers: [['content-type', 'application/json'], ['cache-control', 'no-store'], ['pragma', 'no-cache']], body: Buffer.from(JSON.stringify(outcome.body)) };
    return;
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
