import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { isPalisadeError, PalisadeError, type ErrorCode } from '../kernel/index.js';
import type { RouteSpec } from '../manifest/index.js';
import { createProblemReply, type GatewayReply } from './problem-response.js';
import type { GatewayDeps, GatewayState, RequestContext } from './request-context.js';
import { requestPipeline } from './request-pipeline.js';
import { createRouteTable } from './route-table.js';
import { hstsHeader, securityHeaders } from './security-headers.js';
import { Unauthenticated } from './steps/authenticate.js';
import { recordAudit } from './steps/record-audit.js';
import { MethodNotAllowed } from './steps/resolve-route.js';
import type { FunctionResponse } from './ports.js';
import { sendStreamedBody } from './stream-response.js';
import type { TlsMaterial } from './ensure-local-tls.js';

/** Protocol limits (manifest `gateway.limits`). */
export interface GatewayLimits {
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** A client that reads nothing of a streamed body for this long is disconnected (default 10 s). */
  readonly sendTimeoutMs?: number;
}

/** Configuration of a gateway; everything in it can be swapped by `reload`. */
export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  readonly routes: readonly RouteSpec[];
  readonly limits: GatewayLimits;
}

/** A running gateway. */
export interface Gateway {
  /** Starts listening; rejects with `PAL_GATEWAY_LISTEN_FAILED` (port in use, no permission). */
  listen(): Promise<AddressInfo>;
  /** Swaps the route table. The old table keeps serving requests already routed. */
  reload(routes: readonly RouteSpec[]): void;
  /** Stops accepting, lets in-flight requests finish (up to `drainMs`), then closes. */
  close(drainMs?: number): Promise<void>;
  /** Number of requests being handled. */
  inFlight(): number;
}

/**
 * Creates the HTTPS gateway (TLS 1.2 minimum).
 *
 * @example
 * ```ts
 * const gateway = createGateway(config, tls, deps);
 * const address = await gateway.listen();
 * ```
 */
export function createGateway(config: GatewayConfig, tls: TlsMaterial, deps: GatewayDeps): Gateway {
  return buildGateway(config, deps, 'https', (handler) =>
    createHttpsServer(
      {
        cert: tls.cert,
        key: tls.key,
        minVersion: 'TLSv1.2',
        // mTLS: ask for a certificate, verify it against the client CA, but let the connection
        // through so routes without mtls still work; the authenticate step checks `authorized`.
        ...(tls.clientCa === undefined ? {} : { requestCert: true, rejectUnauthorized: false, ca: tls.clientCa }),
        ...serverLimits(config.limits),
      },
      handler,
    ),
  );
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Creates a plain-HTTP gateway. Weakens security: refused unless the address is loopback, and
 * logs `PAL_MANIFEST_INSECURE_SETTING` at start. Only for local development and benchmarks.
 *
 * @example
 * ```ts
 * const gateway = createInsecureLoopbackHttpGateway({ ...config, host: '127.0.0.1' }, deps);
 * ```
 */
export function createInsecureLoopbackHttpGateway(config: GatewayConfig, deps: GatewayDeps): Gateway {
  if (!LOOPBACK.has(config.host) && !config.host.startsWith('127.')) {
    throw new PalisadeError('PAL_MANIFEST_INSECURE_SETTING', `plain http is only allowed on a loopback address, not \`${config.host}\``);
  }
  deps.logger.warn('serving plain http on loopback: traffic is not encrypted', { code: 'PAL_MANIFEST_INSECURE_SETTING', address: config.host });
  return buildGateway(config, deps, 'http', (handler) =>
    createHttpServer(serverLimits(config.limits), handler),
  );
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function serverLimits(limits: GatewayLimits) {
  return {
    maxHeaderSize: limits.maxHeaderBytes,
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    // Slowloris: Node checks the two timeouts above only this often (30 s by default).
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    keepAliveTimeout: 5000,
  };
}

function buildGateway(config: GatewayConfig, deps: GatewayDeps, scheme: 'https' | 'http', makeServer: (h: Handler) => Server): Gateway {
  const defaultHost = `${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  let state: GatewayState = Object.freeze({ routes: createRouteTable(config.routes), defaultHost, scheme });
  let draining = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const baseHeaders = scheme === 'https' ? [...securityHeaders, hstsHeader] : [...securityHeaders];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    inFlight++;
    const ctx: RequestContext = { req, startedAt: performance.now(), state, deps, requestId: '', clientIp: '', body: null, reason: 'internal-error' };
    let reply: GatewayReply | FunctionResponse;
    let code: ErrorCode | undefined;
    try {
      if (draining) {
        ctx.reason = 'shutting-down';
        throw new PalisadeError('PAL_GATEWAY_SHUTTING_DOWN', 'the gateway is shutting down');
      }
      for (const step of requestPipeline) {
        await step(ctx);
        if (ctx.response !== undefined) break;
      }
      const response = ctx.response;
      if (response === undefined) throw new PalisadeError('PAL_INTERNAL', 'the pipeline produced no response');
      reply = response;
    } catch (error) {
      if (ctx.requestId === '') ctx.requestId = 'unassigned';
      code = isPalisadeError(error) ? error.code : 'PAL_INTERNAL';
      if (!isPalisadeError(error) || error.status >= 500) {
        deps.logger.error(isPalisadeError(error) ? error.message : 'unexpected error', { requestId: ctx.requestId, code, reason: describeCause(error) });
      }
      const extra: Array<readonly [string, string]> = [];
      if (error instanceof Unauthenticated) extra.push(['www-authenticate', error.challenge]);
      if (error instanceof MethodNotAllowed) extra.push(['allow', error.allow.join(', ')]);
      // Any denial that knows when to come back (identity throttling, a busy function) says so.
      const retryAfterSec = (error as { retryAfterSec?: unknown } | undefined)?.retryAfterSec;
      if (typeof retryAfterSec === 'number') extra.push(['retry-after', String(retryAfterSec)]);
      if (draining) extra.push(['connection', 'close']);
      reply = createProblemReply(error, ctx.requestId, extra);
    }
    try {
      await recordAudit(ctx, reply.status, code, ctx.action ?? (ctx.reason === 'health' ? 'health' : 'invoke'));
    } catch (error) {
      // Fail closed: an unrecorded decision is not released.
      deps.logger.error('audit record failed; refusing the response', { requestId: ctx.requestId, code: 'PAL_INTERNAL', reason: describeCause(error) });
      reply = createProblemReply(new PalisadeError('PAL_INTERNAL', 'audit unavailable'), ctx.requestId);
    }
    send(res, reply, ctx.requestId, baseHeaders, req.method === 'HEAD', config.limits.sendTimeoutMs);
    deps.logger.debug('request', { requestId: ctx.requestId, method: req.method ?? '', status: reply.status, durationMs: performance.now() - ctx.startedAt, reason: ctx.reason });
    inFlight--;
    if (draining && inFlight === 0) drained?.();
  };

  const server = makeServer((req, res) => {
    void handle(req, res);
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // Malformed requests, oversized heads (431) and slow clients (408) never reach a step.
    if (!socket.writable) return socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });

  return {
    listen() {
      return new Promise((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException) => {
          const why = error.code === 'EADDRINUSE' ? `address \`${config.host}:${config.port}\` is already in use` : error.code === 'EACCES' ? `no permission to listen on \`${config.host}:${config.port}\`` : `cannot listen on \`${config.host}:${config.port}\` (${error.code ?? 'error'})`;
          reject(new PalisadeError('PAL_GATEWAY_LISTEN_FAILED', why, { cause: error, expose: true }));
        };
        server.once('error', onError);
        server.listen(config.port, config.host, () => {
          server.off('error', onError);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    reload(routes) {
      state = Object.freeze({ ...state, routes: createRouteTable(routes) });
    },
    async close(drainMs = 10_000) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, drainMs).unref();
        });
      }
      server.closeAllConnections();
      await closed;
    },
    inFlight: () => inFlight,
  };
}

function send(res: ServerResponse, reply: GatewayReply | FunctionResponse, requestId: string, base: ReadonlyArray<readonly [string, string]>, head: boolean, sendTimeoutMs?: number): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of reply.headers) {
    const key = name.toLowerCase();
    const prev = headers[key];
    headers[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  for (const [name, value] of base) headers[name] = value;
  headers['x-request-id'] = requestId;
  headers['content-length'] = String(reply.body.byteLength);
  try {
    res.writeHead(reply.status, headers);
    // A streamed function body is pulled as the client reads (stream-response.ts).
    if (!(reply.body instanceof Uint8Array)) {
      if (head) {
        reply.body.cancel();
        res.end();
      } else void sendStreamedBody(res, reply.body, sendTimeoutMs);
      return;
    }
    res.end(head ? undefined : reply.body);
  } catch {
    if (!(reply.body instanceof Uint8Array)) reply.body.cancel();
    // A header value the function produced that Node refuses (for example a newline): fail safe.
    if (!res.headersSent) {
      const problem = createProblemReply(new PalisadeError('PAL_RUNTIME_FUNCTION_THREW', 'the function returned an invalid response'), requestId);
      res.writeHead(problem.status, { ...Object.fromEntries(base), 'x-request-id': requestId, 'content-type': 'application/problem+json', 'content-length': String(problem.body.byteLength) });
      res.end(problem.body);
    } else {
      res.destroy();
    }
  }
}

function describeCause(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error ? cause.message.slice(0, 500) : 'unknown';
}
