import { errorCatalog, type ErrorCode } from './error-codes.js';

/** Options for {@link PalisadeError}. */
export interface PalisadeErrorOptions {
  /** Override the catalog's HTTP status (rarely needed). */
  readonly status?: number;
  /**
   * Whether `message` may be shown to a client. Defaults to true for 4xx, false for 5xx:
   * a server error's text may carry internals, so clients get only the catalog title.
   */
  readonly expose?: boolean;
  /** The underlying failure, for operators only. Never serialised to clients. */
  readonly cause?: unknown;
}

/**
 * The one error type Palisade throws across capability boundaries.
 *
 * The message is one lowercase line that is safe to show; detail belongs in `cause`.
 *
 * @example
 * ```ts
 * throw new PalisadeError('PAL_GATEWAY_BODY_TOO_LARGE', 'request body exceeds 1048576 bytes');
 * ```
 */
export class PalisadeError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;

  constructor(code: ErrorCode, message: string, options: PalisadeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PalisadeError';
    this.code = code;
    this.status = options.status ?? errorCatalog[code].status;
    this.expose = options.expose ?? this.status < 500;
  }
}

/** True when `value` is a {@link PalisadeError}, optionally with the given code. */
export function isPalisadeError(value: unknown, code?: ErrorCode): value is PalisadeError {
  return value instanceof PalisadeError && (code === undefined || value.code === code);
}
