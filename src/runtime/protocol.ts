/**
 * Messages between the gateway and a worker process over the IPC channel (structured clone,
 * `serialization: 'advanced'`). Every field is data; nothing executable crosses.
 */

import type { FunctionLimits } from '../manifest/index.js';

/** A function as a worker receives it. */
export interface WorkerFunction {
  readonly name: string;
  readonly code: string;
  readonly limits: FunctionLimits;
  readonly bindingsJson: string;
}

/** A request as the isolate receives it. */
export interface InvokeRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array | null;
  readonly requestId: string;
}

/** A response as the isolate produced it, already checked for shape and size. */
export interface InvokeResponse {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array;
}

/** Why an invocation failed, from a closed vocabulary. */
export type InvokeFailure = 'threw' | 'cpu-limit' | 'timeout' | 'memory-limit' | 'too-large' | 'bad-response' | 'unknown-function';

export type GatewayToWorker =
  | { readonly t: 'load'; readonly prelude: string; readonly functions: readonly WorkerFunction[] }
  | { readonly t: 'invoke'; readonly id: number; readonly fn: string; readonly req: InvokeRequest };

export type WorkerToGateway =
  | { readonly t: 'ready'; readonly coldStartMs: Readonly<Record<string, number>> }
  | { readonly t: 'load-failed'; readonly fn: string; readonly message: string }
  | { readonly t: 'result'; readonly id: number; readonly ok: true; readonly res: InvokeResponse; readonly cpuMs: number; readonly coldStartMs?: number }
  | { readonly t: 'result'; readonly id: number; readonly ok: false; readonly failure: InvokeFailure; readonly detail: string; readonly cpuMs: number }
  | { readonly t: 'log'; readonly fn: string; readonly requestId: string; readonly level: string; readonly message: string };
