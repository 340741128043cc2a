import type { AuthFailureReason } from './auth-failure-reasons.js';
import type { ErrorCode } from './error-codes.js';
import type { Principal } from './principal.js';

/** Why an outbound request of a function was refused or failed (the egress guard's own words). */
export const egressFailureReasons = ['private-address', 'insecure-scheme', 'bad-url', 'bad-request', 'dns-failed', 'too-many-redirects', 'too-large', 'timeout', 'cancelled', 'connect-failed'] as const;

/** The closed vocabulary of decision reasons recorded for each request. */
export const decisionReasons = [
  'allowed',
  'public-route',
  'health',
  'no-credentials',
  'invalid-credentials',
  'bad-path',
  'route-not-found',
  'method-not-allowed',
  'body-too-large',
  'policy-denied',
  'mfa-required',
  'shutting-down',
  'function-error',
  'runtime-limit',
  'runtime-unavailable',
  'internal-error',
  'bad-host',
  'bad-framing',
  'body-not-allowed',
  'unsupported-media-type',
  'malformed-body',
  'invalid-body',
  'rate-limited',
  'client-aborted',
  // Function-to-function calls and secret reads (`callFunction`, `readSecret`).
  'not-granted',
  'too-deep',
  're-entrant',
  'deadline-passed',
  'secret-not-found',
  'secret-unavailable',
  // Outbound requests of functions (`egress`), the egress guard's vocabulary.
  ...egressFailureReasons,
] as const;

/** One decision reason. */
export type DecisionReason = (typeof decisionReasons)[number];

/** Administrative actions on the secrets vault, recorded by the CLI (values are never recorded). */
export const secretAdminActions = ['secret-set', 'secret-rotate', 'secret-stage', 'secret-promote', 'secret-discard', 'secret-delete', 'secret-restore', 'secret-purge', 'kek-rotate', 'kek-retire'] as const;

/** One administrative secrets action. */
export type SecretAdminAction = (typeof secretAdminActions)[number];

/**
 * One audit event: one per request decision, and one per decision a function's request causes
 * inside the platform (`callFunction`: a service-binding call; `readSecret`: a secret read).
 * Carries no bodies, tokens, query strings, header values or secret values.
 *
 * For `callFunction` and `readSecret` the principal is the function (`type: 'Function'`,
 * `authMethod: 'workload'`), `status` is 0 (no HTTP exchange), `method` is `CALL` and `clientIp`
 * is empty; `requestId` is the request that started the chain.
 *
 * `egress` (one event per attempt of a function's `fetch()`: the request and each redirect) has
 * the same shape, with `method` the outbound method, `status` the remote answer's status (0 when
 * none) and `egress` the host, port, address and hop; never a path, query, header or body.
 */
export interface AuditEvent {
  readonly time: number;
  readonly requestId: string;
  /**
   * What was attempted: a route call, a built-in endpoint, or an operator action of the admin API
   * (the Cedar action that decided it; `admin` for a request that matched no admin endpoint).
   */
  readonly action: 'invoke' | 'health' | 'login' | 'refresh' | 'logout' | 'discovery' | 'admin' | 'manageUsers' | 'manageApiKeys' | 'readAudit' | 'manageSecrets' | 'rotateKeys' | 'deploy' | 'callFunction' | 'readSecret' | 'egress' | SecretAdminAction;
  /** `aborted`: the client closed the connection before the response was released. */
  readonly outcome: 'allow' | 'deny' | 'error' | 'aborted';
  readonly reason: DecisionReason;
  readonly status: number;
  readonly method: string;
  readonly route?: string;
  readonly function?: string;
  readonly principal?: Pick<Principal, 'type' | 'id' | 'issuer' | 'authMethod' | 'mfa'>;
  readonly code?: ErrorCode;
  /** Why authentication failed, when it did. */
  readonly authFailure?: AuthFailureReason;
  readonly clientIp: string;
  /** The client's `User-Agent`, control characters removed, at most 256 characters. */
  readonly userAgent?: string;
  readonly durationMs: number;
  /** The policies that determined an authorization decision (Cedar policy ids). */
  readonly policyIds?: readonly string[];
  /** `callFunction`: the function called. */
  readonly target?: string;
  /** `callFunction`/`readSecret`: functions earlier in the call chain, outermost first. */
  readonly chain?: readonly string[];
  /**
   * The secret an event is about, never its value. `readSecret`: the version read (absent when
   * nothing was read), and `count` reads of that version in this request answered from the
   * worker's cache (`cached: true`). A vault change (`secret-*`): its name and version.
   */
  readonly secret?: { readonly name: string; readonly version?: number; readonly count?: number; readonly cached?: boolean };
  /** The key-encryption key an administrative action was about (`kek-rotate`, `kek-retire`): its id only. */
  readonly kekId?: string;
  /**
   * `egress`: the canonical host and port asked for (absent when the url did not parse), the
   * address connected to or refused (absent before resolution), and the hop (0: the function's
   * own request, n: the n-th redirect).
   */
  readonly egress?: { readonly host?: string; readonly port?: number; readonly address?: string; readonly hop: number };
  /**
   * A rotation through a rotation function (`secret-rotate`): the function, what started it, the
   * step it ended at and its result (`rotated`, `step-failed`, …). Never a value.
   */
  readonly rotation?: { readonly function: string; readonly trigger: 'schedule' | 'manual'; readonly step: string; readonly result: string; readonly detail?: string };
}

/**
 * Where audit events go. `append` resolves once the event is durable (or rejects with
 * `PAL_AUDIT_UNAVAILABLE`); every implementation runs the audit sink conformance suite.
 */
export interface AuditSink {
  append(event: AuditEvent): Promise<void>;
}
