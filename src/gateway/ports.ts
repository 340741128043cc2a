import type { IncomingHttpHeaders } from 'node:http';
import type { AuthFailureReason, ClientCertificate, Principal } from '../kernel/index.js';
import type { RouteSpec } from '../manifest/index.js';

/** What authentication sees of a request: headers and the TLS peer, never the body. */
export interface AuthenticationInput {
  readonly headers: IncomingHttpHeaders;
  readonly route: RouteSpec;
  readonly clientIp: string;
  /** The TLS client certificate, read only when asked (mTLS routes). */
  readonly clientCertificate: () => ClientCertificate | undefined;
}

/** Result of authentication. `reason` is for operators and audit, never for the client. */
export type AuthenticationResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: AuthFailureReason; readonly challenge: string };

/** Establishes who sent a request. Filled by the identity capability. */
export interface Authenticator {
  authenticate(input: AuthenticationInput): Promise<AuthenticationResult>;
}

/**
 * A policy decision: the effect, why (closed vocabulary), the determining policy ids and the
 * policies whose evaluation failed (they did not apply). `mfa-required`: denied now, allowed
 * after a step-up to a second factor.
 */
export interface AuthorizationDecision {
  readonly effect: 'allow' | 'deny';
  readonly reason: 'permit' | 'forbid' | 'no-permit' | 'mfa-required' | 'engine-error';
  readonly policyIds: readonly string[];
  readonly errors: readonly string[];
}

/** What an authorization decision reads of a request besides principal and route. */
export interface AuthorizationFacts {
  readonly clientIp: string;
  /** Request time, ms since the epoch. */
  readonly time: number;
  readonly method: string;
}

/** Decides whether a principal may invoke a route. Filled by the policy capability. */
export interface Authorizer {
  authorize(principal: Principal, route: RouteSpec, facts: AuthorizationFacts): AuthorizationDecision | Promise<AuthorizationDecision>;
}

/** What the gateway passes to a built-in endpoint. */
export interface EndpointRequest {
  readonly method: string;
  /** Path below the endpoint prefix, such as `/login`. */
  readonly path: string;
  /** The parsed JSON body (POST), already checked for size and prototype-pollution keys. */
  readonly json: unknown;
  /** The parsed `application/x-www-form-urlencoded` body (POST), each name once; absent for other bodies. */
  readonly form?: Readonly<Record<string, string>>;
  readonly clientIp: string;
}

/** What a built-in endpoint answers. Denials carry their reason for the audit record only. */
export type EndpointOutcome =
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown; readonly action: EndpointAction }
  | { readonly kind: 'denied'; readonly status: 400 | 401 | 404 | 405 | 429; readonly action: EndpointAction; readonly authFailure?: AuthFailureReason; readonly retryAfterSec?: number }
  /** An OAuth 2.0 error answer (RFC 6749 section 5.2): `application/json` with `error`, a deny. */
  | { readonly kind: 'oauth-error'; readonly status: 400 | 401 | 429; readonly error: string; readonly action: EndpointAction; readonly authFailure?: AuthFailureReason; readonly retryAfterSec?: number };

/** Audit action of a built-in endpoint. */
export type EndpointAction = 'login' | 'refresh' | 'logout' | 'discovery';

/** Built-in endpoints under a path prefix (the built-in issuer's login, refresh, logout, keys). */
export interface BuiltinEndpoints {
  readonly prefix: string;
  handle(req: EndpointRequest): Promise<EndpointOutcome>;
}

/**
 * A response body that arrives in chunks, pulled as the client reads (backpressure): the
 * gateway never holds more than a chunk or two of it. Iterating ends early → `cancel()` is implied.
 */
export interface FunctionBodyStream extends AsyncIterable<Uint8Array> {
  /**
   * Total length in bytes (sent as `content-length`); undefined when it is not known in advance
   * (a body whose secrets are redacted on the way): then the body goes out chunked.
   */
  readonly byteLength: number | undefined;
  /** Stops the transfer (the client went away or stopped reading). */
  cancel(): void;
}

/** A function response as the gateway relays it. */
export interface FunctionResponse {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array | FunctionBodyStream;
}

/** A request as a function receives it. */
export interface FunctionRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array | null;
  readonly requestId: string;
  /** The authenticated caller as the function sees it (`ctx.principal`); null on public routes. */
  readonly principal?: FunctionPrincipal | null;
}

/** Who called, as a function sees it: never the credentials themselves. */
export interface FunctionPrincipal {
  readonly type: string;
  readonly id: string;
  readonly issuer: string | null;
  readonly roles: readonly string[];
  readonly mfa: boolean;
  readonly authMethod: string;
}

/** Runs functions. Filled by the runtime's worker pool. */
export interface FunctionInvoker {
  invoke(fn: string, req: FunctionRequest): Promise<FunctionResponse>;
}

/**
 * The authenticator in force until an identity provider is configured: it recognises no
 * credential, so every private route answers 401.
 */
export const rejectAllAuthenticator: Authenticator = Object.freeze({
  authenticate: async () => ({ ok: false as const, reason: 'no-credentials' as const, challenge: 'Bearer realm="palisade"' }),
});

/** The authorizer in force when no caller can authenticate: deny by default. */
export const denyAllAuthorizer: Authorizer = Object.freeze({
  authorize: (): AuthorizationDecision => ({ effect: 'deny', reason: 'no-permit', policyIds: [], errors: [] }),
});
