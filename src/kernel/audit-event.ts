import type { AuthFailureReason } from './auth-failure-reasons.js';
import type { ErrorCode } from './error-codes.js';
import type { Principal } from './principal.js';

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
] as const;

/** One decision reason. */
export type DecisionReason = (typeof decisionReasons)[number];

/** Administrative actions on the secrets vault, recorded by the CLI (values are never recorded). */
export const secretAdminActions = ['secret-set', 'secret-rotate', 'secret-stage', 'secret-promote', 'secret-discard', 'secret-delete', 'secret-restore', 'secret-purge', 'kek-rotate', 'kek-retire'] as const;

/** One administrative secrets action. */
export type SecretAdminAction = (typeof secretAdminActions)[number];

/**
 * One audit event: one per request decision. Carries no bodies, tokens, query strings or header
 * values.
 */
export interface AuditEvent {
  readonly time: number;
  readonly requestId: string;
  readonly action: 'invoke' | 'health' | 'login' | 'refresh' | 'logout' | 'discovery' | SecretAdminAction;
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
  /** The secret an administrative secrets action was about: its name and version, never its value. */
  readonly secret?: { readonly name: string; readonly version?: number };
  /** The key-encryption key an administrative action was about (`kek-rotate`, `kek-retire`): its id only. */
  readonly kekId?: string;
}

/**
 * Where audit events go. `append` resolves once the event is durable (or rejects with
 * `PAL_AUDIT_UNAVAILABLE`); every implementation runs the audit sink conformance suite.
 */
export interface AuditSink {
  append(event: AuditEvent): Promise<void>;
}
