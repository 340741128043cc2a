import { PalisadeError } from '../../kernel/index.js';
import type { CredentialHeader } from '../../manifest/index.js';
import type { RequestContext } from '../request-context.js';
import { isRelayableRequestHeader } from '../security-headers.js';

// The caller's credentials: a compromised dependency in any function could harvest them. The
// function gets `ctx.principal` instead. A route opts in with `unsafeForwardCredentials`.
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set<CredentialHeader>(['authorization', 'cookie', 'proxy-authorization', 'x-api-key']);

// Metadata only the gateway may state: a client's own value is dropped, never forwarded.
const GATEWAY_STATED = new Set(['host', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-forwarded-prefix', 'x-real-ip', 'x-client-ip', 'true-client-ip', 'cf-connecting-ip', 'x-request-id', 'content-length', 'content-encoding']);

/**
 * Step 7a: builds what the function receives. Hop-by-hop headers and credentials are removed
 * (unless the route opts in with `unsafeForwardCredentials`); `Host`, `Forwarded` and
 * `X-Forwarded-*` are set by the gateway from what it knows, never passed through; `request.url`
 * is on the configured origin, not the client's `Host`. A body the gateway decoded is handed on
 * without its `content-encoding`.
 */
export function prepareFunctionRequest(ctx: RequestContext): void {
  const route = ctx.route;
  const target = ctx.target;
  if (route === undefined || target === undefined) throw new PalisadeError('PAL_INTERNAL', 'prepareFunctionRequest ran before resolveRoute');
  const forwardable = route.unsafeForwardCredentials;
  const raw = ctx.req.rawHeaders;
  const headers: Array<readonly [string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (!isRelayableRequestHeader(name) || GATEWAY_STATED.has(name)) continue;
    if (CREDENTIAL_HEADERS.has(name) && !(forwardable?.includes(name as CredentialHeader) ?? false)) continue;
    headers.push([name, raw[i + 1] as string]);
  }
  const origin = ctx.state.origin;
  const principal = ctx.principal;
  const { host, proto } = parsedOrigin(origin);
  const forwardedFor = ctx.clientIp.includes(':') ? `"[${ctx.clientIp}]"` : ctx.clientIp;
  headers.push(
    ['host', host],
    ['forwarded', `for=${forwardedFor};proto=${proto};host=${host}`],
    ['x-forwarded-for', ctx.clientIp],
    ['x-forwarded-proto', proto],
    ['x-forwarded-host', host],
    ['x-request-id', ctx.requestId],
  );
  if (ctx.body !== null) headers.push(['content-length', String(ctx.body.byteLength)]);
  ctx.functionRequest = {
    method: ctx.req.method ?? 'GET',
    url: `${origin}${target.path}${target.search}`,
    headers,
    body: ctx.body,
    requestId: ctx.requestId,
    // The function learns who called (ctx.principal), not how they proved it.
    principal: principal === undefined ? null : { type: principal.type, id: principal.id, issuer: principal.issuer, roles: principal.roles, mfa: principal.mfa, authMethod: principal.authMethod },
  };
}

// The origin is configuration: parsed once, not per request.
let lastOrigin: { readonly origin: string; readonly host: string; readonly proto: string } | undefined;
function parsedOrigin(origin: string): { readonly host: string; readonly proto: string } {
  if (lastOrigin?.origin !== origin) {
    const url = new URL(origin);
    lastOrigin = { origin, host: url.host, proto: url.protocol.slice(0, -1) };
  }
  return lastOrigin;
}
