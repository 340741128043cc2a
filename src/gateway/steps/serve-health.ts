import type { RequestContext } from '../request-context.js';

const HEALTH_PATH = '/_palisade/health';
const BODY = Buffer.from('{"status":"ok"}');

/**
 * Built-in public endpoint: `GET /_palisade/health` says only that the node is up (no version,
 * no counts: nothing an attacker could use for fingerprinting).
 */
export function serveHealth(ctx: RequestContext): void {
  if (ctx.req.url !== HEALTH_PATH || (ctx.req.method !== 'GET' && ctx.req.method !== 'HEAD')) return;
  ctx.granted = 'health';
  ctx.response = { status: 200, headers: [['content-type', 'application/json'], ['cache-control', 'no-store']], body: BODY };
}
