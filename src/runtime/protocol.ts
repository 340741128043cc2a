/**
 * Messages between the gateway and a worker process over the IPC channel (structured clone,
 * `serialization: 'advanced'`). Every field is data; nothing executable crosses.
 *
 * Trust: the gateway trusts nothing a worker says. Every worker → gateway message is decoded by
 * `parseWorkerMessage` (parse-worker-message.ts) (an ajv schema, closed objects, bounded sizes) before any field is
 * read; a message that fails is a fault of the worker (killed, restarted, its in-flight requests
 * answered 503). A worker refers to work only by the ids the gateway gave it, and the gateway
 * checks that the id is one it sent to that very worker.
 */

import type { FunctionLimits } from '../manifest/index.js';

/** Limits as a worker applies them; `concurrency` defaults to 1 when absent. */
export type WorkerLimits = Omit<FunctionLimits, 'concurrency' | 'queue'> & { readonly concurrency?: number; readonly queue?: number };

/** A function as a worker receives it. */
export interface WorkerFunction {
  readonly name: string;
  readonly code: string;
  readonly limits: WorkerLimits;
  /** Values of the `text`/`json` bindings, as JSON. */
  readonly bindingsJson: string;
  /** Names of the `service` bindings: `env.NAME.fetch()` travels the call channel. */
  readonly services?: readonly string[];
}

/** Who called, as the function sees it in `ctx.principal` (never the credentials themselves). */
export interface InvokePrincipal {
  readonly type: string;
  readonly id: string;
  readonly issuer: string | null;
  readonly roles: readonly string[];
  readonly mfa: boolean;
  readonly authMethod: string;
}

/** A request as the isolate receives it. */
export interface InvokeRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array | null;
  readonly requestId: string;
  /** The authenticated caller; `null` on public routes. */
  readonly principal?: InvokePrincipal | null;
}

/** A response as the isolate produced it, already checked for shape and size. */
export interface InvokeResponse {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array;
}

/** Failures a worker may report, from a closed vocabulary. */
export const invokeFailures = ['threw', 'cpu-limit', 'timeout', 'memory-limit', 'too-large', 'bad-response', 'unknown-function'] as const;
/** Why an invocation failed, from a closed vocabulary. */
export type InvokeFailure = (typeof invokeFailures)[number];

/** A binding call as the worker forwards it: the isolate's arguments, copied and bounded. */
export interface BindingCallPayload {
  readonly method: string;
  readonly url: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array | null;
}

/** Body bytes sent per message: the first chunk travels with the result, the rest on `pull`. */
export const BODY_CHUNK_BYTES = 64 * 1024;
/** Response header limits, enforced inside the isolate, again in the worker and by the schema. */
export const MAX_RESPONSE_HEADERS = 100;
/** Total bytes of response header names and values. */
export const MAX_RESPONSE_HEADER_BYTES = 32 * 1024;
/** Largest log line a worker may report. */
export const MAX_LOG_MESSAGE_CHARS = 8192;
/** Largest binding call request or response body. */
export const MAX_BINDING_BODY_BYTES = 8 * 1024 * 1024;

export type GatewayToWorker =
  | { readonly t: 'load'; readonly prelude: string; readonly functions: readonly WorkerFunction[] }
  | { readonly t: 'invoke'; readonly id: number; readonly fn: string; readonly req: InvokeRequest }
  /** Send the next chunk of a streamed body. */
  | { readonly t: 'pull'; readonly id: number }
  /** The client went away or the invocation is over: drop the rest of its body. */
  | { readonly t: 'cancel'; readonly id: number }
  | { readonly t: 'call-result'; readonly callId: number; readonly ok: true; readonly res: InvokeResponse }
  | { readonly t: 'call-result'; readonly callId: number; readonly ok: false; readonly code: string; readonly message: string };

export type WorkerToGateway =
  | { readonly t: 'ready'; readonly coldStartMs: Readonly<Record<string, number>> }
  | { readonly t: 'load-failed'; readonly fn: string; readonly message: string }
  | {
      readonly t: 'result';
      readonly id: number;
      readonly ok: true;
      readonly status: number;
      readonly headers: ReadonlyArray<readonly [string, string]>;
      /** Total body length. */
      readonly size: number;
      /** The first chunk (all of it when `size <= BODY_CHUNK_BYTES`). */
      readonly body: Uint8Array;
      readonly cpuMs: number;
      readonly coldStartMs?: number;
    }
  | { readonly t: 'result'; readonly id: number; readonly ok: false; readonly failure: InvokeFailure; readonly detail: string; readonly cpuMs: number }
  | { readonly t: 'chunk'; readonly id: number; readonly data: Uint8Array }
  | { readonly t: 'log'; readonly id: number; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly message: string }
  | { readonly t: 'call'; readonly id: number; readonly callId: number; readonly binding: string; readonly op: 'fetch'; readonly payload: BindingCallPayload };

/**
 * Most messages one frame may carry. Under load each side sends what it has ready in one write
 * (one system call and one wake-up of the other side instead of one per message).
 */
export const MAX_BATCH_MESSAGES = 256;

/** What crosses the channel: one message, or several sent in one write. */
export type Frame<M> = M | { readonly t: 'batch'; readonly m: readonly M[] };
