import { isPalisadeError, PalisadeError, type AuthFailureReason, type DecisionReason, type ErrorCode } from '../kernel/index.js';

/** One entry of a problem's `errors` member (RFC 9457 section 3 example: `detail` + `pointer`). */
export interface ProblemError {
  /** JSON pointer (RFC 6901) into the request body, `""` for the whole body. */
  readonly pointer: string;
  readonly detail: string;
}

/** Options of a {@link Denial}. */
export interface DenialOptions {
  /** Response headers the denial needs (`www-authenticate`, `allow`, `retry-after`, ...). */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  /** Why authentication failed, for the operator log and audit only. */
  readonly authFailure?: AuthFailureReason;
  /** Problem `errors` member (validation errors with JSON pointers). */
  readonly errors?: readonly ProblemError[];
  readonly cause?: unknown;
  /** Override the catalog's status (rare). */
  readonly status?: number;
  /**
   * The reply to send instead of problem+json, for a protocol that defines its own error format
   * (RFC 6749 section 5.2 token errors). Still a refusal: recorded as a deny with this reason.
   */
  readonly reply?: { readonly status: number; readonly headers: ReadonlyArray<readonly [string, string]>; readonly body: Uint8Array };
}

/**
 * A refusal as a value: a step denies by throwing one, and the reply and the audit record are
 * built from it alone (status, reason from the closed vocabulary, headers). Nobody sets a reason
 * on the request context before throwing and nobody maps error classes to headers elsewhere
 * (CONVENTIONS §18).
 *
 * @example
 * ```ts
 * throw new Denial('PAL_GATEWAY_METHOD_NOT_ALLOWED', 'method-not-allowed', 'method not allowed; use GET', { headers: [['allow', 'GET']] });
 * ```
 */
export class Denial extends PalisadeError {
  readonly reason: DecisionReason;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly authFailure: AuthFailureReason | undefined;
  readonly errors: readonly ProblemError[] | undefined;
  readonly reply: DenialOptions['reply'];

  constructor(code: ErrorCode, reason: DecisionReason, message: string, options: DenialOptions = {}) {
    super(code, message, { ...(options.cause === undefined ? {} : { cause: options.cause }), ...(options.status === undefined ? {} : { status: options.status }) });
    this.name = 'Denial';
    this.reason = reason;
    this.headers = options.headers ?? [];
    this.authFailure = options.authFailure;
    this.errors = options.errors;
    this.reply = options.reply;
  }
}

/**
 * Turns anything a step threw into a {@link Denial}. A `Denial` is kept; a `PalisadeError` from
 * a capability gets the reason its code implies; anything else is an internal error (500, no
 * detail to the client).
 *
 * @example
 * ```ts
 * const denial = toDenial(error); // denial.status, denial.reason, denial.headers
 * ```
 */
export function toDenial(error: unknown): Denial {
  if (error instanceof Denial) return error;
  if (isPalisadeError(error)) {
    // A capability's error that knows when to come back (a busy function) says so.
    const retryAfterSec = (error as { readonly retryAfterSec?: unknown }).retryAfterSec;
    const headers: ReadonlyArray<readonly [string, string]> = typeof retryAfterSec === 'number' && Number.isFinite(retryAfterSec) ? [['retry-after', String(Math.max(0, Math.ceil(retryAfterSec)))]] : [];
    return new Denial(error.code, reasonForCode(error.code), error.message, { cause: error, status: error.status, headers });
  }
  return new Denial('PAL_INTERNAL', 'internal-error', 'internal error', { cause: error });
}

/** The decision reason a capability's error code implies. */
function reasonForCode(code: ErrorCode): DecisionReason {
  switch (code) {
    case 'PAL_GATEWAY_BAD_PATH':
      return 'bad-path';
    case 'PAL_GATEWAY_ROUTE_NOT_FOUND':
      return 'route-not-found';
    case 'PAL_GATEWAY_METHOD_NOT_ALLOWED':
      return 'method-not-allowed';
    case 'PAL_GATEWAY_BODY_TOO_LARGE':
      return 'body-too-large';
    case 'PAL_GATEWAY_SHUTTING_DOWN':
      return 'shutting-down';
    case 'PAL_GATEWAY_CLIENT_ABORTED':
      return 'client-aborted';
    case 'PAL_RUNTIME_FUNCTION_THREW':
      return 'function-error';
    case 'PAL_RUNTIME_UNAVAILABLE':
    case 'PAL_RUNTIME_WORKER_CRASHED':
    case 'PAL_RUNTIME_WORKER_FAULT':
    case 'PAL_RUNTIME_LOAD_FAILING':
      return 'runtime-unavailable';
    case 'PAL_RUNTIME_CPU_LIMIT':
    case 'PAL_RUNTIME_TIMEOUT':
    case 'PAL_RUNTIME_MEMORY_LIMIT':
    case 'PAL_RUNTIME_RESPONSE_TOO_LARGE':
    case 'PAL_RUNTIME_BUSY':
    case 'PAL_RUNTIME_BINDING_DENIED':
    case 'PAL_RUNTIME_BINDING_FAILED':
      return 'runtime-limit';
    default:
      return 'internal-error';
  }
}
