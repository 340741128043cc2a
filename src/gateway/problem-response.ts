import { STATUS_CODES } from 'node:http';
import { errorCatalog, isPalisadeError, type ErrorCode } from '../kernel/index.js';
import { Denial } from './denial.js';

/** A response the gateway builds itself. */
export interface GatewayReply {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array;
}

/**
 * Turns any error into an RFC 9457 `application/problem+json` reply. Only exposable messages
 * reach the client; a 5xx shows its catalog title and the request id, never internals. A
 * {@link Denial} adds its own headers and, for validation failures, an `errors` list of
 * `{ pointer, detail }`.
 *
 * @example
 * ```ts
 * createProblemReply(new PalisadeError('PAL_GATEWAY_BAD_PATH', 'request path rejected: ...'), requestId);
 * ```
 */
export function createProblemReply(error: unknown, requestId: string, extraHeaders: ReadonlyArray<readonly [string, string]> = []): GatewayReply {
  const code: ErrorCode = isPalisadeError(error) ? error.code : 'PAL_INTERNAL';
  const status = isPalisadeError(error) ? error.status : errorCatalog.PAL_INTERNAL.status;
  const title = STATUS_CODES[status] ?? 'Error';
  const detail = isPalisadeError(error) && error.expose ? error.message : title.toLowerCase();
  const body = JSON.stringify({
    type: `https://palisade.dev/errors/${code}`,
    title,
    status,
    detail,
    code,
    instance: `urn:palisade:request:${requestId}`,
    requestId,
    ...(error instanceof Denial && error.errors !== undefined ? { errors: error.errors } : {}),
  });
  return {
    status,
    headers: [['content-type', 'application/problem+json'], ['cache-control', 'no-store'], ...(error instanceof Denial ? error.headers : []), ...extraHeaders],
    body: Buffer.from(body),
  };
}
