import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { PalisadeError } from '../kernel/index.js';
import type { RouteSpec } from '../manifest/index.js';
import type { GatewayDeps, GatewayState, RequestContext } from './request-context.js';
import { requestPipeline, runPipeline } from './request-pipeline.js';
import { createRouteTable } from './route-table.js';
import { hstsHeader, securityHeaders } from './security-headers.js';
import type { TlsMaterial } from './ensure-local-tls.js';

/** Protocol limits (manifest `gateway.limits`). */
export interface GatewayLimits {
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
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
  const baseHeaders = Object.freeze(scheme === 'https' ? [...securityHeaders, hstsHeader] : [...securityHeaders]);
  const originFor = (port: number) => `${scheme}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  let state: GatewayState = Object.freeze({ routes: createRouteTable(config.routes), origin: originFor(config.port), scheme, baseHeaders });
  let draining = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    inFlight++;
    const ctx: RequestContext = { req, res, startedAt: performance.now(), state, deps, draining, requestId: '', clientIp: '', body: null };
    try {
      await runPipeline(ctx, requestPipeline);
    } catch (error) {
      // Unreachable by construction (deciding steps' errors become denials; finishing steps
      // handle their own); kept so that nothing can leave a socket hanging.
      deps.logger.error('request pipeline failed', { requestId: ctx.requestId, code: 'PAL_INTERNAL', reason: error instanceof Error ? error.message.slice(0, 500) : 'unknown' });
      if (!res.headersSent) res.destroy();
    }
    deps.logger.debug('request', { requestId: ctx.requestId, method: req.method ?? '', status: ctx.reply?.status ?? 0, durationMs: performance.now() - ctx.startedAt, reason: ctx.denial?.reason ?? ctx.granted ?? 'allowed' });
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
          const address = server.address() as AddressInfo;
          // The configured origin, with the real port when listening on port 0.
          state = Object.freeze({ ...state, origin: originFor(address.port) });
          resolve(address);
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
