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
  /** Secrets granted in the manifest (`env.secrets.get(name)`); the gateway decides each read. */
  readonly secrets?: readonly string[];
  /** Whether `env.kv` is granted. */
  readonly kv?: boolean;
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

/** Longest secret name (the vault's `^[a-z0-9][a-z0-9-_.]{0,127}$`). */
export const MAX_SECRET_NAME_CHARS = 128;
/** Longest secret value the runtime hands to a function, in UTF-16 units. */
export const MAX_SECRET_VALUE_CHARS = 64 * 1024;
/** Secret reads one invocation may make (cached or not). */
export const MAX_SECRET_READS_PER_REQUEST = 1000;
/** KV key length in UTF-8 bytes (1 to this). */
export const MAX_KV_KEY_BYTES = 512;
/** Largest KV value. */
export const MAX_KV_VALUE_BYTES = 1024 * 1024;
/** Most keys one `list` returns. */
export const MAX_KV_LIST_LIMIT = 1000;
/** Longest `list` cursor. */
export const MAX_KV_CURSOR_CHARS = 1024;
/** KV operations one invocation may make. */
export const MAX_KV_OPS_PER_REQUEST = 256;

/** One KV operation as the worker forwards it (already checked against the limits). */
export type KvOperation =
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'put'; readonly key: string; readonly value: Uint8Array }
  | { readonly op: 'delete'; readonly key: string }
  | { readonly op: 'list'; readonly prefix: string; readonly limit: number; readonly cursor: string | null };

/** A KV answer: `get` → value (null: absent); `list` → keys and the next cursor; `put`/`delete` → nothing. */
export type KvAnswer =
  | { readonly ok: true; readonly value?: Uint8Array | null; readonly keys?: readonly string[]; readonly cursor?: string | null }
  | { readonly ok: false; readonly message: string };

/** A secret read that the worker answered from its cache, reported for the audit trail. */
export type CachedSecretRead = readonly [name: string, version: number, count: number];

export type GatewayToWorker =
  | { readonly t: 'load'; readonly prelude: string; readonly functions: readonly WorkerFunction[] }
  /**
   * `answerTo`: this invocation is the target of binding call `answerTo` of another invocation in
   * the same worker, decided and recorded by the gateway already. When it succeeds with a body of
   * one chunk, the worker hands that answer to the waiting call at once (the gateway's
   * `call-result`, which follows, is then dropped). Set only for a target without secrets: its
   * answer is exactly what the gateway would send (no redaction applies).
   */
  | { readonly t: 'invoke'; readonly id: number; readonly fn: string; readonly req: InvokeRequest; readonly answerTo?: number }
  /** Send the next chunk of a streamed body. */
  | { readonly t: 'pull'; readonly id: number }
  /** The client went away or the invocation is over: drop the rest of its body. */
  | { readonly t: 'cancel'; readonly id: number }
  | { readonly t: 'call-result'; readonly callId: number; readonly ok: true; readonly res: InvokeResponse }
  | { readonly t: 'call-result'; readonly callId: number; readonly ok: false; readonly code: string; readonly message: string }
  /**
   * The answer to a `secret` read. `cache: true` lets the worker keep the value for later reads of
   * the same function until a `secret-changed` or `secrets-policy-changed` arrives (the decision
   * depends on nothing but the policy set, the function and the secret).
   */
  | { readonly t: 'secret-result'; readonly callId: number; readonly ok: true; readonly value: string; readonly version: number; readonly cache: boolean }
  | { readonly t: 'secret-result'; readonly callId: number; readonly ok: false; readonly message: string }
  /** The current version of a secret changed: drop every cached copy. */
  | { readonly t: 'secret-changed'; readonly name: string }
  /** The policies were reloaded: drop every cached secret. */
  | { readonly t: 'secrets-policy-changed' }
  | ({ readonly t: 'kv-result'; readonly callId: number } & KvAnswer);

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
  | { readonly t: 'call'; readonly id: number; readonly callId: number; readonly binding: string; readonly op: 'fetch'; readonly payload: BindingCallPayload }
  /** Invocation `id` reads secret `name` (not in the worker's cache). */
  | { readonly t: 'secret'; readonly id: number; readonly callId: number; readonly name: string }
  /** Reads invocation `id` answered from the cache, sent before its result (for the audit trail). */
  | { readonly t: 'secret-reads'; readonly id: number; readonly reads: readonly CachedSecretRead[] }
  /** Invocation `id` runs a KV operation on its function's namespace. */
  | ({ readonly t: 'kv'; readonly id: number; readonly callId: number } & KvOperation)
  /**
   * Invocation `id` makes an outbound request with the global `fetch()`. The gateway's egress
   * guard decides and makes it; the answer is a `call-result`.
   */
  | { readonly t: 'egress'; readonly id: number; readonly callId: number; readonly payload: BindingCallPayload };

/**
 * Binding calls and outbound requests (`call` and `egress` messages) one invocation may make.
 * The sandbox refuses the next one in the isolate; the gateway treats a worker that sends more as
 * faulty, so a function cannot flood the audit chain (every attempt is an event) past this bound.
 */
export const MAX_CALLS_PER_INVOCATION = 32;

/** Methods an outbound request may use (the guard refuses `CONNECT` and `TRACE`). */
export const EGRESS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
/** Longest url of an outbound request. */
export const MAX_EGRESS_URL_CHARS = 8192;

/**
 * Most messages one frame may carry. Under load each side sends what it has ready in one write
 * (one system call and one wake-up of the other side instead of one per message).
 */
export const MAX_BATCH_MESSAGES = 256;

/** What crosses the channel: one message, or several sent in one write. */
export type Frame<M> = M | { readonly t: 'batch'; readonly m: readonly M[] };
