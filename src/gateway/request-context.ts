import type { IncomingMessage } from 'node:http';
import type { AuditEvent, AuditSink, AuthFailureReason, Clock, DecisionReason, Logger, Principal } from '../kernel/index.js';
import type { RouteSpec } from '../manifest/index.js';
import type { Authenticator, Authorizer, BuiltinEndpoints, FunctionInvoker, FunctionResponse } from './ports.js';
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
}

/** Frozen per-configuration state; swapped whole on reload. */
export interface GatewayState {
  readonly routes: RouteTable;
  /** The origin functions see in `request.url` when the Host header is unusable. */
  readonly defaultHost: string;
  readonly scheme: 'https' | 'http';
}

/** The state of one request as it moves through the steps. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly startedAt: number;
  readonly state: GatewayState;
  readonly deps: GatewayDeps;
  requestId: string;
  clientIp: string;
  target?: RequestTarget;
  route?: RouteSpec;
  params?: Readonly<Record<string, string>>;
  principal?: Principal;
  body: Uint8Array | null;
  response?: FunctionResponse;
  /** The audit action, when not a function invocation. */
  action?: AuditEvent['action'];
  /** Why authentication failed, for operators and audit only. */
  authFailure?: AuthFailureReason;
  /** Why the request was allowed or denied; recorded by the audit step. */
  reason: DecisionReason;
}

/** One named step of the request path. A step denies by throwing a `PalisadeError`. */
export type Step = (ctx: RequestContext) => void | Promise<void>;
