import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditEvent, AuditSink, Clock, Logger, Principal } from '../kernel/index.js';
import type { RouteSpec } from '../manifest/index.js';
import type { AdminApi } from './admin-api.js';
import type { Denial } from './denial.js';
import type { AuthorizationDecision, Authenticator, Authorizer, BuiltinEndpoints, FunctionInvoker, FunctionRequest, FunctionResponse } from './ports.js';
import type { GatewayReply } from './problem-response.js';
import type { RateLimiters, RateLimitStore } from './rate-limiters.js';
import type { BodyValidator } from '../manifest/index.js';
import type { RequestTarget } from './request-target.js';
import type { RouteTable } from './route-table.js';

/** Everything a step may use; injected once per gateway. */
export interface GatewayDeps {
  readonly invoker: FunctionInvoker;
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  readonly audit: AuditSink;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Built-in endpoints (identity), when configured. */
  readonly endpoints?: BuiltinEndpoints;
  /** The admin API (`/_palisade/admin`), when the node serves one. */
  readonly admin?: AdminApi;
  /** Where rate-limit counters live; default: this process's memory (one node). */
  readonly rateLimitStore?: RateLimitStore;
}

/** Frozen per-configuration state; swapped whole on reload. */
export interface GatewayState {
  readonly routes: RouteTable;
  /**
   * The configured origin (`scheme://host:port`) functions see in `request.url`; the client's
   * `Host` header never chooses it.
   */
  readonly origin: string;
  readonly scheme: 'https' | 'http';
  /** Security headers on every response (HSTS over TLS only). */
  readonly baseHeaders: ReadonlyArray<readonly [string, string]>;
  /** A client that reads nothing of a streamed body for this long is disconnected. */
  readonly sendTimeoutMs: number;
  /** Rate limiters: the gateway's per-address limit and each route's `rateLimit`. */
  readonly limiters: RateLimiters;
  /** Body validators per route and method, compiled once at load. */
  readonly bodyValidators: ReadonlyMap<RouteSpec, ReadonlyMap<string, BodyValidator>>;
  readonly jsonLimits: { readonly maxJsonDepth: number; readonly maxJsonKeys: number };
}

/** The state of one request as it moves through the steps. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly startedAt: number;
  readonly state: GatewayState;
  readonly deps: GatewayDeps;
  /** True when the gateway was draining as the request arrived. */
  readonly draining: boolean;
  requestId: string;
  clientIp: string;
  target?: RequestTarget;
  route?: RouteSpec;
  params?: Readonly<Record<string, string>>;
  /** The authenticated caller; the invoke step hands it to the runtime. */
  principal?: Principal;
  /** The authorization decision, once `authorize` ran on a private route; recorded in the audit event. */
  decision?: AuthorizationDecision;
  body: Uint8Array | null;
  /** The parsed JSON body, once `validateBody` ran on a JSON route. */
  json?: unknown;
  /** What the function receives: set by `prepareFunctionRequest`, sent by `invokeFunction`. */
  functionRequest?: FunctionRequest;
  /** The answer when allowed (function or built-in endpoint). Ends the deciding steps. */
  response?: FunctionResponse;
  /** Why an allowed request was allowed; a refusal carries its own reason in `denial`. */
  granted?: 'allowed' | 'public-route' | 'health';
  /** The refusal, once a step denied. Ends the deciding steps. */
  denial?: Denial;
  /** Rate-limit headers (`ratelimit-*`) to add to the reply, allowed or not. */
  rateLimitHeaders?: ReadonlyArray<readonly [string, string]>;
  /** The reply as it will be sent: built by `buildReply`, replaced by `recordAudit` on failure. */
  reply?: GatewayReply | FunctionResponse;
  /** The audit action, when not a function invocation. */
  action?: AuditEvent['action'];
  /** The built-in endpoint's declared path (admin API), recorded as the audit event's `route`. */
  endpointPath?: string;
}

/** One named step of the request path. A step denies by throwing a `Denial`. */
export type Step = (ctx: RequestContext) => void | Promise<void>;
