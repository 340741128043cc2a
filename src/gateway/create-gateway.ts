import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createRequestId, PalisadeError } from '../kernel/index.js';
import { compileBodySchema, type BodyValidator, type RateLimitSpec, type RouteSpec } from '../manifest/index.js';
import { Denial } from './denial.js';
import { createProblemReply } from './problem-response.js';
import { createRateLimiters, memoryRateLimitStore } from './rate-limiters.js';
import type { GatewayDeps, GatewayState, RequestContext } from './request-context.js';
import { requestPipeline, runPipeline } from './request-pipeline.js';
import { createRouteTable } from './route-table.js';
import { hstsHeader, securityHeaders } from './security-headers.js';
import { DEFAULT_SEND_TIMEOUT_MS } from './stream-response.js';
import type { TlsMaterial } from './ensure-local-tls.js';

/** Protocol limits (manifest `gateway.limits`). */
export interface GatewayLimits {
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Deepest JSON nesting parsed for schema validation (default 32). */
  readonly maxJsonDepth?: number;
  /** Most JSON keys plus items parsed for schema validation (default 10000). */
  readonly maxJsonKeys?: number;
  /** A client that reads nothing of a streamed body for this long is disconnected (default 10 s). */
  readonly sendTimeoutMs?: number;
}

/** Configuration of a gateway; everything in it can be swapped by `reload`. */
export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  readonly routes: readonly RouteSpec[];
  readonly limits: GatewayLimits;
  /** The origin functions see in `request.url` (`https://api.example.com`); default: the listen address. */
  readonly origin?: string;
  /** The gateway-wide limit per client address. */
  readonly rateLimit?: RateLimitSpec;
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
    // The checkHttpFraming step answers a missing Host itself, with the security headers.
    requireHostHeader: false,
    // Slowloris: Node checks the two timeouts above only this often (30 s by default).
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    keepAliveTimeout: 5000,
  };
}

function buildGateway(config: GatewayConfig, deps: GatewayDeps, scheme: 'https' | 'http', makeServer: (h: Handler) => Server): Gateway {
  const baseHeaders = Object.freeze(scheme === 'https' ? [...securityHeaders, hstsHeader] : [...securityHeaders]);
  const originFor = (port: number) => config.origin ?? `${scheme}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  const store = deps.rateLimitStore ?? memoryRateLimitStore;
  const jsonLimits = Object.freeze({ maxJsonDepth: config.limits.maxJsonDepth ?? 32, maxJsonKeys: config.limits.maxJsonKeys ?? 10_000 });
  // Everything a configuration needs is built before it is swapped in: a bad one throws here.
  const sendTimeoutMs = config.limits.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const buildState = (routes: readonly RouteSpec[], origin: string): GatewayState => {
    warnUnsafeRoutes(routes, deps);
    return Object.freeze({ routes: createRouteTable(routes), origin, scheme, baseHeaders, limiters: createRateLimiters(store, routes, config.rateLimit), bodyValidators: compileBodyValidators(routes), jsonLimits, sendTimeoutMs });
  };
  let state: GatewayState = buildState(config.routes, originFor(config.port));
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
  const refuseOnSocket = (socket: Duplex, denial: Denial, why: string): void => {
    if (!socket.writable) return void socket.destroy();
    const requestId = createRequestId();
    const reply = createProblemReply(denial, requestId);
    const head = [`HTTP/1.1 ${denial.status} ${STATUS_CODES[denial.status] ?? 'Bad Request'}`, ...[...reply.headers, ...baseHeaders, ['x-request-id', requestId], ['connection', 'close'], ['content-length', String(reply.body.byteLength)]].map(([k, v]) => `${k}: ${v}`)];
    deps.logger.debug('request refused by the http parser', { requestId, code: denial.code, status: denial.status, reason: why });
    socket.end(Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), reply.body]));
  };
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // Malformed requests, oversized heads (431) and slow clients (408) never reach a step; they
    // still get problem+json with the security headers and a request id.
    refuseOnSocket(socket, parserDenial(error.code), error.code ?? 'unknown');
  });
  // Node answers these two itself when nobody listens: a bare 417 without the security headers,
  // and a CONNECT socket closed without an answer. Both get problem+json here.
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const requestId = createRequestId();
    const reply = createProblemReply(new Denial('PAL_GATEWAY_BAD_REQUEST', 'bad-framing', 'only `expect: 100-continue` is supported', { status: 417 }), requestId);
    deps.logger.debug('request refused: unsupported expect', { requestId, code: 'PAL_GATEWAY_BAD_REQUEST', status: 417 });
    res.writeHead(417, { ...Object.fromEntries([...reply.headers, ...baseHeaders]), 'x-request-id': requestId, connection: 'close', 'content-length': String(reply.body.byteLength) });
    res.end(reply.body);
  });
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => undefined);
    refuseOnSocket(socket, new Denial('PAL_GATEWAY_METHOD_NOT_ALLOWED', 'method-not-allowed', 'the gateway is not a proxy: `CONNECT` is not allowed'), 'connect');
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
      state = buildState(routes, state.origin);
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

/** The denial for an error of Node's HTTP parser (before any step could run). */
function parserDenial(code: string | undefined): Denial {
  if (code === 'HPE_HEADER_OVERFLOW') return new Denial('PAL_GATEWAY_BAD_REQUEST', 'bad-framing', 'the request head is too large', { status: 431 });
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new Denial('PAL_GATEWAY_REQUEST_TIMEOUT', 'bad-framing', 'the request took too long to arrive');
  return new Denial('PAL_GATEWAY_BAD_REQUEST', 'bad-framing', 'the request is not valid http');
}

/** Compiles every route's body schemas; throws on one that does not compile (validated manifests never do). */
function compileBodyValidators(routes: readonly RouteSpec[]): ReadonlyMap<RouteSpec, ReadonlyMap<string, BodyValidator>> {
  const out = new Map<RouteSpec, ReadonlyMap<string, BodyValidator>>();
  for (const route of routes) {
    if (route.schema === undefined) continue;
    const byMethod = new Map<string, BodyValidator>();
    for (const [method, spec] of Object.entries(route.schema)) {
      if (spec === undefined) continue;
      const compiled = compileBodySchema(spec.schema);
      if (!compiled.ok) throw new PalisadeError('PAL_MANIFEST_INVALID_BODY_SCHEMA', `route \`${route.path}\` schema for ${method}: ${compiled.message}`, { expose: true });
      byMethod.set(method, compiled.validate);
    }
    out.set(route, byMethod);
  }
  return out;
}

/** CONVENTIONS §12: a weakening setting logs a warning with a code at start. */
function warnUnsafeRoutes(routes: readonly RouteSpec[], deps: GatewayDeps): void {
  for (const route of routes) {
    if (route.unsafeForwardCredentials !== undefined) {
      deps.logger.warn('route forwards caller credentials to its function (unsafeForwardCredentials)', { code: 'PAL_MANIFEST_INSECURE_SETTING', route: route.path, reason: route.unsafeForwardCredentials.join(',') });
    }
  }
}
