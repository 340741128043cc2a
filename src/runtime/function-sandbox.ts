import { createHash, randomBytes } from 'node:crypto';
import ivm from './load-isolated-vm.js';
import type { InvokeFailure, InvokeRequest, InvokeResponse, WorkerFunction } from './protocol.js';

/** Outcome of one invocation inside the sandbox. */
export type SandboxResult =
  | { readonly ok: true; readonly res: InvokeResponse; readonly cpuMs: number; readonly coldStartMs?: number }
  | { readonly ok: false; readonly failure: InvokeFailure; readonly detail: string; readonly cpuMs: number };

/** Receives the function's `console` output. */
export type SandboxLog = (fn: string, requestId: string, level: string, message: string) => void;

/** A compiled prelude: its source and V8 code cache, shared by every isolate of a worker. */
export interface PreludeScript {
  readonly code: string;
  readonly cachedData: ivm.ExternalCopy<ArrayBuffer> | undefined;
}

interface Warm {
  readonly isolate: ivm.Isolate;
  readonly context: ivm.Context;
}

interface Live extends Warm {
  readonly run: ivm.Reference;
  readonly fireTimer: ivm.Reference;
  readonly dropTimers: ivm.Reference;
}

const PRELUDE_FILENAME = 'palisade:prelude';
const DIGESTS: Readonly<Record<string, string>> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
const MAX_TIMERS_PER_REQUEST = 1000;
const MAX_LOG_LINES_PER_REQUEST = 200;

/** Compiles the prelude once to get a V8 code cache for every later isolate. */
export async function compilePrelude(code: string): Promise<PreludeScript> {
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  try {
    const script = await isolate.compileScript(code, { filename: PRELUDE_FILENAME, produceCachedData: true });
    return { code, cachedData: (script as ivm.Script & ivm.CachedDataResult).cachedData };
  } finally {
    isolate.dispose();
  }
}

/** Creates an isolate with the prelude evaluated, ready to receive a function. */
export async function createWarmIsolate(prelude: PreludeScript, memoryMb: number): Promise<Warm> {
  const isolate = new ivm.Isolate({ memoryLimit: memoryMb });
  try {
    const context = await isolate.createContext();
    const script = await isolate.compileScript(prelude.code, {
      filename: PRELUDE_FILENAME,
      ...(prelude.cachedData === undefined ? {} : { cachedData: prelude.cachedData }),
    });
    await script.run(context, { timeout: 1000 });
    return { isolate, context };
  } catch (error) {
    if (!isolate.isDisposed) isolate.dispose();
    throw error;
  }
}

/**
 * Keeps one pre-warmed isolate per memory size, so a cold start pays only for the function
 * module, not for the prelude.
 */
export class SparePool {
  readonly #prelude: PreludeScript;
  readonly #spares = new Map<number, Promise<Warm>>();

  constructor(prelude: PreludeScript) {
    this.#prelude = prelude;
  }

  /**
   * Takes a warm isolate of the given memory size. The caller calls `refill` once its function
   * has booted, so warming the replacement does not compete with the cold start it serves.
   */
  async take(memoryMb: number): Promise<Warm> {
    const spare = this.#spares.get(memoryMb);
    this.#spares.delete(memoryMb);
    return spare === undefined ? createWarmIsolate(this.#prelude, memoryMb) : spare.catch(() => createWarmIsolate(this.#prelude, memoryMb));
  }

  /** Resolves once a spare of the given size is warm (starting one if needed). */
  async whenReady(memoryMb: number): Promise<void> {
    this.refill(memoryMb);
    await this.#spares.get(memoryMb)?.catch(() => undefined);
  }

  /** Starts warming a spare of the given size unless one is there. */
  refill(memoryMb: number): void {
    if (this.#spares.has(memoryMb)) return;
    const p = new Promise<void>((r) => setImmediate(r)).then(() => createWarmIsolate(this.#prelude, memoryMb));
    p.catch(() => this.#spares.delete(memoryMb));
    this.#spares.set(memoryMb, p);
  }

  /** Disposes every spare. */
  async close(): Promise<void> {
    const spares = [...this.#spares.values()];
    this.#spares.clear();
    for (const s of spares) {
      const warm = await s.catch(() => undefined);
      if (warm !== undefined && !warm.isolate.isDisposed) warm.isolate.dispose();
    }
  }
}

/**
 * One function's isolate inside a worker. Invocations are serialised: one request at a time per
 * isolate, so CPU accounting and timers belong to exactly one request.
 */
export class FunctionSandbox {
  readonly #fn: WorkerFunction;
  readonly #spares: SparePool;
  readonly #log: SandboxLog;
  #live: Live | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  // Per-request state the host callbacks consult.
  #requestId = '';
  #timers = new Map<number, NodeJS.Timeout>();
  #logLines = 0;
  #timerCount = 0;

  constructor(fn: WorkerFunction, spares: SparePool, log: SandboxLog) {
    this.#fn = fn;
    this.#spares = spares;
    this.#log = log;
  }

  /** Creates the isolate now (at load) so a broken module fails the deployment, not a request. */
  async warm(): Promise<number> {
    const start = performance.now();
    await this.#ensure();
    return performance.now() - start;
  }

  /** Runs one request; never throws. */
  invoke(req: InvokeRequest): Promise<SandboxResult> {
    const next = this.#tail.then(() => this.#invokeNow(req));
    this.#tail = next.catch(() => undefined);
    return next;
  }

  /** Disposes the isolate. */
  dispose(): void {
    this.#recycle();
  }

  async #ensure(): Promise<{ live: Live; coldStartMs?: number }> {
    if (this.#live !== undefined && !this.#live.isolate.isDisposed) return { live: this.#live };
    const start = performance.now();
    const warm = await this.#spares.take(this.#fn.limits.memoryMb);
    try {
      const take = (name: string) => warm.context.evalClosure(`const f = globalThis.${name}; delete globalThis.${name}; return f;`, [], { result: { reference: true } });
      const install = await take('__palisade_install');
      const boot = await take('__palisade_boot');
      await install.apply(undefined, this.#hostCallbacks(), { timeout: 1000 });
      // The module runs in a closure: nothing it declares lands on the global object.
      const mod = await warm.context.evalClosure(
        `const module = { exports: {} }; const exports = module.exports;\n${this.#fn.code}\n;return module.exports;`,
        [],
        { result: { reference: true }, timeout: Math.max(this.#fn.limits.cpuMs, 1000), filename: `function:${this.#fn.name}` },
      );
      const api = (await boot.apply(undefined, [mod.derefInto(), this.#fn.bindingsJson, this.#fn.limits.maxResponseBytes], { result: { reference: true }, timeout: 1000 })) as ivm.Reference<Record<string, unknown>>;
      const error = await api.get('error', { copy: true }) as unknown;
      if (typeof error === 'string') throw new Error(error);
      this.#live = {
        ...warm,
        run: await api.get('run', { reference: true }),
        fireTimer: await api.get('fireTimer', { reference: true }),
        dropTimers: await api.get('dropTimers', { reference: true }),
      };
      const coldStartMs = performance.now() - start;
      this.#spares.refill(this.#fn.limits.memoryMb);
      return { live: this.#live, coldStartMs };
    } catch (error) {
      if (!warm.isolate.isDisposed) warm.isolate.dispose();
      throw error;
    }
  }

  async #invokeNow(req: InvokeRequest): Promise<SandboxResult> {
    let ensured: { live: Live; coldStartMs?: number };
    try {
      ensured = await this.#ensure();
    } catch (error) {
      return { ok: false, failure: 'threw', detail: `module failed to load: ${describe(error)}`, cpuMs: 0 };
    }
    const { live } = ensured;
    const { cpuMs, timeoutMs } = this.#fn.limits;
    this.#requestId = req.requestId;
    this.#logLines = 0;
    this.#timerCount = 0;
    const cpuStart = live.isolate.cpuTime;
    const usedMs = () => (live.isolate.isDisposed ? cpuMs : Number(live.isolate.cpuTime - cpuStart) / 1e6);
    let verdict: 'cpu-limit' | 'timeout' | undefined;
    const kill = (why: 'cpu-limit' | 'timeout') => {
      verdict ??= why;
      if (!live.isolate.isDisposed) live.isolate.dispose();
    };
    // The CPU limit does not cover time spent awaiting the host, so a wall-clock deadline too.
    const wall = setTimeout(() => kill('timeout'), timeoutMs);
    let cpuTimer: NodeJS.Timeout | undefined;
    const checkCpu = () => {
      const used = usedMs();
      if (used > cpuMs) kill('cpu-limit');
      else cpuTimer = setTimeout(checkCpu, Math.max(1, cpuMs - used));
    };
    cpuTimer = setTimeout(checkCpu, cpuMs);
    try {
      // isolated-vm's `timeout` is wall time (isolated-vm issue #108), so it is only a backstop at
      // the wall limit: CPU is enforced by the cpuTime watchdog above, which a busy machine
      // cannot trip for a function that is merely waiting for a core.
      const out = (await live.run.apply(undefined, [toIsolateRequest(req)], {
        arguments: { copy: true },
        result: { promise: true, copy: true },
        timeout: timeoutMs,
      })) as unknown;
      const cpu = usedMs();
      if (verdict !== undefined) return this.#limitFailure(verdict, cpu);
      if (cpu > cpuMs) {
        this.#recycle();
        return this.#limitFailure('cpu-limit', cpu);
      }
      return this.#checkOutput(out, cpu, ensured.coldStartMs);
    } catch (error) {
      const cpu = usedMs();
      if (verdict !== undefined) return this.#limitFailure(verdict, cpu);
      const message = describe(error);
      if (/memory limit/i.test(message) || live.isolate.isDisposed) {
        this.#recycle();
        return { ok: false, failure: 'memory-limit', detail: 'isolate exceeded its memory limit', cpuMs: cpu };
      }
      if (/timed out/i.test(message)) {
        this.#recycle();
        return this.#limitFailure(cpu > cpuMs ? 'cpu-limit' : 'timeout', cpu);
      }
      return { ok: false, failure: 'threw', detail: message, cpuMs: cpu };
    } finally {
      clearTimeout(wall);
      if (cpuTimer !== undefined) clearTimeout(cpuTimer);
      this.#endRequest(live);
    }
  }

  #limitFailure(verdict: 'cpu-limit' | 'timeout', cpuMs: number): SandboxResult {
    this.#recycle();
    const detail = verdict === 'timeout' ? `no response within ${this.#fn.limits.timeoutMs} ms` : `used more than ${this.#fn.limits.cpuMs} ms of cpu`;
    return { ok: false, failure: verdict, detail, cpuMs };
  }

  #checkOutput(out: unknown, cpuMs: number, coldStartMs: number | undefined): SandboxResult {
    // INVARIANT: nothing from the isolate is trusted; its answer is checked field by field.
    if (out === null || typeof out !== 'object') return { ok: false, failure: 'bad-response', detail: 'dispatcher returned no result', cpuMs };
    const o = out as { ok?: unknown; kind?: unknown; message?: unknown; response?: unknown };
    if (o.ok !== true) {
      const kind = o.kind === 'too-large' ? 'too-large' : 'threw';
      return { ok: false, failure: kind, detail: typeof o.message === 'string' ? o.message.slice(0, 2000) : 'function failed', cpuMs };
    }
    const r = o.response as { status?: unknown; headers?: unknown; body?: unknown } | undefined;
    const status = r?.status;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
      return { ok: false, failure: 'bad-response', detail: `invalid status \`${String(status)}\``, cpuMs };
    }
    if (!Array.isArray(r?.headers) || !r.headers.every((h: unknown) => Array.isArray(h) && h.length === 2 && typeof h[0] === 'string' && typeof h[1] === 'string')) {
      return { ok: false, failure: 'bad-response', detail: 'invalid headers', cpuMs };
    }
    if (!(r?.body instanceof ArrayBuffer)) return { ok: false, failure: 'bad-response', detail: 'invalid body', cpuMs };
    if (r.body.byteLength > this.#fn.limits.maxResponseBytes) return { ok: false, failure: 'too-large', detail: 'response too large', cpuMs };
    const res: InvokeResponse = { status, headers: r.headers as Array<[string, string]>, body: new Uint8Array(r.body) };
    return coldStartMs === undefined ? { ok: true, res, cpuMs } : { ok: true, res, cpuMs, coldStartMs };
  }

  #endRequest(live: Live): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    // One cross-isolate call saved per request when the function set no timers.
    if (this.#timerCount > 0 && !live.isolate.isDisposed) live.dropTimers.applyIgnored(undefined, []);
    this.#requestId = '';
  }

  #recycle(): void {
    const live = this.#live;
    this.#live = undefined;
    if (live !== undefined && !live.isolate.isDisposed) live.isolate.dispose();
  }

  /**
   * Host callbacks handed to the isolate. Each one validates its input and never throws: a host
   * exception would carry a host stack trace into the isolate.
   */
  #hostCallbacks(): ivm.Callback[] {
    const log = new ivm.Callback(
      (level: unknown, message: unknown) => {
        if (this.#requestId === '' || this.#logLines >= MAX_LOG_LINES_PER_REQUEST) return;
        this.#logLines++;
        const lvl = level === 'debug' || level === 'warn' || level === 'error' ? level : 'info';
        this.#log(this.#fn.name, this.#requestId, lvl, String(message).slice(0, 8192));
      },
      { ignored: true },
    );
    const random = new ivm.Callback((n: unknown) => {
      const size = typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65536 ? n : 0;
      return Uint8Array.from(randomBytes(size)).buffer;
    });
    const digest = new ivm.Callback((name: unknown, data: unknown) => {
      const algorithm = typeof name === 'string' ? DIGESTS[name] : undefined;
      if (algorithm === undefined) return 'digest: unsupported algorithm';
      if (!(data instanceof ArrayBuffer)) return 'digest: data must be an ArrayBuffer';
      return Uint8Array.from(createHash(algorithm).update(new Uint8Array(data)).digest()).buffer;
    });
    const setTimer = new ivm.Callback(
      (id: unknown, delay: unknown) => {
        const live = this.#live;
        if (live === undefined || this.#requestId === '' || typeof id !== 'number' || this.#timerCount >= MAX_TIMERS_PER_REQUEST) return;
        this.#timerCount++;
        const ms = typeof delay === 'number' && Number.isFinite(delay) ? Math.min(Math.max(0, delay), this.#fn.limits.timeoutMs) : 0;
        const handle = setTimeout(() => {
          this.#timers.delete(id);
          if (!live.isolate.isDisposed) live.fireTimer.apply(undefined, [id], { timeout: this.#fn.limits.timeoutMs }).catch(() => undefined);
        }, ms);
        this.#timers.set(id, handle);
      },
      { ignored: true },
    );
    const clearTimer = new ivm.Callback(
      (id: unknown) => {
        if (typeof id !== 'number') return;
        const handle = this.#timers.get(id);
        if (handle !== undefined) clearTimeout(handle);
        this.#timers.delete(id);
      },
      { ignored: true },
    );
    return [log, random, digest, setTimer, clearTimer];
  }
}

/**
 * The exact bytes of a body in a fresh ArrayBuffer. What arrives over IPC is a Node Buffer: a
 * view into the whole message, whose `.slice()` is another view. `.buffer` of either would hand
 * the isolate every byte of the underlying memory, so copy through the Uint8Array constructor.
 */
export function exactBodyBuffer(body: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(body.byteLength);
  copy.set(body);
  return copy.buffer;
}

function toIsolateRequest(req: InvokeRequest): Record<string, unknown> {
  // INVARIANT: buffers are copied into the isolate at their exact length, never shared.
  return {
    method: req.method,
    url: req.url,
    headers: req.headers.map(([k, v]) => [k, v]),
    body: req.body === null ? null : exactBodyBuffer(req.body),
    requestId: req.requestId,
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 2000);
  return String(error).slice(0, 2000);
}
