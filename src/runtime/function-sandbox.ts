import { createHash, randomBytes } from 'node:crypto';
import ivm from './load-isolated-vm.js';
import {
  MAX_BINDING_BODY_BYTES,
  MAX_CALLS_PER_INVOCATION,
  MAX_KV_CURSOR_CHARS,
  MAX_KV_KEY_BYTES,
  MAX_KV_LIST_LIMIT,
  MAX_KV_OPS_PER_REQUEST,
  MAX_KV_VALUE_BYTES,
  EGRESS_METHODS,
  MAX_EGRESS_URL_CHARS,
  MAX_LOG_MESSAGE_CHARS,
  MAX_RESPONSE_HEADER_BYTES,
  MAX_RESPONSE_HEADERS,
  MAX_SECRET_NAME_CHARS,
  MAX_SECRET_READS_PER_REQUEST,
  type BindingCallPayload,
  type KvAnswer,
  type KvOperation,
  type InvokeFailure,
  type InvokeRequest,
  type InvokeResponse,
  type WorkerFunction,
} from './protocol.js';

/** Outcome of one invocation inside the sandbox. */
export type SandboxResult = (
  | { readonly ok: true; readonly res: InvokeResponse; readonly cpuMs: number; readonly coldStartMs?: number }
  | { readonly ok: false; readonly failure: InvokeFailure; readonly detail: string; readonly cpuMs: number }
) & {
  /** Secret reads the isolate answered from its own copy: `[name, version, count]`, checked against the grant. */
  readonly secretReads?: ReadonlyArray<readonly [string, number, number]>;
};

/** What a binding call answers to the isolate: a response, or a sanitised error message. */
export type BindingCallOutcome = { readonly ok: true; readonly res: InvokeResponse } | { readonly ok: false; readonly message: string };

/** What a secret read answers to the isolate. `epoch`: the worker's secret epoch when it answered. */
export type SecretOutcome = { readonly ok: true; readonly value: string; readonly version: number; readonly cache: boolean; readonly epoch: number } | { readonly ok: false; readonly message: string };

/** What the sandbox needs from the worker around it. */
export interface SandboxHost {
  /** A console line of invocation `id`. */
  log(id: number, level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  /** A binding call of invocation `id`; never rejects. */
  call(id: number, binding: string, payload: BindingCallPayload): Promise<BindingCallOutcome>;
  /** An isolate did not stop after it was disposed (stuck in native code): the worker must go. */
  stuck(fn: string): void;
  /** A secret read of invocation `id` of `fn` (from the worker's cache or the gateway); never rejects. */
  secret?(id: number, fn: string, name: string): Promise<SecretOutcome>;
  /** A KV operation of invocation `id`; never rejects. */
  kv?(id: number, op: KvOperation): Promise<KvAnswer>;
  /** An outbound request (the global `fetch()`) of invocation `id`; never rejects. */
  egress?(id: number, payload: BindingCallPayload): Promise<BindingCallOutcome>;
  /** The worker's secret epoch: it moves whenever cached secrets become invalid. */
  secretEpoch?(): number;
}

/** A compiled prelude: its source and V8 code cache, shared by every isolate of a worker. */
export interface PreludeScript {
  readonly code: string;
  readonly cachedData: ivm.ExternalCopy<ArrayBuffer> | undefined;
}

interface Warm {
  readonly isolate: ivm.Isolate;
  readonly context: ivm.Context;
}

const PRELUDE_FILENAME = 'palisade:prelude';
const DIGESTS: Readonly<Record<string, string>> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
const MAX_TIMERS_PER_REQUEST = 1000;
/** Console lines one invocation may write; the isolate stops calling the host after that. */
export const MAX_LOG_LINES_PER_REQUEST = 200;
/** Console bytes one invocation may write. */
export const MAX_LOG_BYTES_PER_REQUEST = 64 * 1024;
/** Wall time to evaluate the prelude or a function module at load: generous, so a busy machine never fails a start. */
export const LOAD_TIMEOUT_MS = 30_000;
/**
 * Extra CPU the first invocation of a fresh isolate may use, on top of `limits.cpuMs`: lazy
 * compilation and the warm-up of the function's code paths are not the request's fault.
 */
export const FIRST_CALL_CPU_ALLOWANCE_MS = 250;
/** How long a disposed isolate may take to stop before the worker gives up on itself. */
const STUCK_AFTER_DISPOSE_MS = 2000;

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
    await script.run(context, { timeout: LOAD_TIMEOUT_MS });
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

  /** Takes a warm isolate of the given memory size and starts warming its replacement. */
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

/** One isolate of a function, running at most one invocation at a time. */
class Slot {
  /** The invocation running now (0: none). Host callbacks act only for it. */
  current = 0;
  calls = 0;
  readonly timers = new Map<number, NodeJS.Timeout>();
  timerCount = 0;
  logLines = 0;
  logBytes = 0;
  bindingCalls = 0;
  secretReads = 0;
  kvOps = 0;
  run!: ivm.Reference;
  fireTimer!: ivm.Reference;
  dropTimers!: ivm.Reference;
  deliverCall!: ivm.Reference;
  constructor(readonly isolate: ivm.Isolate, readonly context: ivm.Context) {}
}

/**
 * The isolates of one function inside a worker: up to `limits.concurrency` of them, each running
 * one invocation at a time, so CPU accounting, timers and logs belong to exactly one request.
 * The gateway never sends more than `concurrency` invocations of a function to one worker; more
 * would wait here, outside any deadline.
 */
export class FunctionSandbox {
  readonly #fn: WorkerFunction;
  readonly #spares: SparePool;
  readonly #host: SandboxHost;
  readonly #services: readonly string[];
  readonly #secrets: ReadonlySet<string>;
  readonly #kv: boolean;
  readonly #concurrency: number;
  readonly #idle: Slot[] = [];
  #size = 0;
  readonly #waiters: Array<() => void> = [];

  /** `host` may also be a bare log callback (in-process use without the call channel). */
  constructor(fn: WorkerFunction, spares: SparePool, host: SandboxHost | ((...args: never[]) => void)) {
    this.#fn = fn;
    this.#spares = spares;
    this.#services = fn.services ?? [];
    this.#secrets = new Set(fn.secrets ?? []);
    this.#kv = fn.kv === true;
    this.#concurrency = fn.limits.concurrency ?? 1;
    this.#host =
      typeof host === 'function'
        ? { log: () => undefined, call: async () => ({ ok: false, message: 'no call channel' }), stuck: () => undefined }
        : host;
  }

  /** Creates the first isolate now (at load) so a broken module fails the deployment, not a request. */
  async warm(): Promise<number> {
    const start = performance.now();
    const slot = await this.#create();
    this.#idle.push(slot);
    return performance.now() - start;
  }

  /** Runs one request as invocation `id` (1 when omitted); never throws. */
  async invoke(idOrReq: number | InvokeRequest, maybeReq?: InvokeRequest): Promise<SandboxResult> {
    const id = typeof idOrReq === 'number' ? idOrReq : 1;
    const req = typeof idOrReq === 'number' ? (maybeReq as InvokeRequest) : idOrReq;
    let slot: Slot;
    let coldStartMs: number | undefined;
    try {
      const acquired = await this.#acquire();
      slot = acquired.slot;
      coldStartMs = acquired.coldStartMs;
    } catch (error) {
      return { ok: false, failure: 'threw', detail: `module failed to load: ${describe(error)}`, cpuMs: 0 };
    }
    const result = await this.#run(slot, id, req);
    if (coldStartMs !== undefined && result.ok) return { ...result, coldStartMs };
    return result;
  }

  /** Disposes every isolate. */
  dispose(): void {
    for (const s of this.#idle.splice(0)) if (!s.isolate.isDisposed) s.isolate.dispose();
  }

  async #acquire(): Promise<{ slot: Slot; coldStartMs?: number }> {
    for (;;) {
      const idle = this.#idle.pop();
      if (idle !== undefined && !idle.isolate.isDisposed) return { slot: idle };
      if (idle !== undefined) {
        this.#size--;
        continue;
      }
      if (this.#size < this.#concurrency) {
        const start = performance.now();
        this.#size++;
        try {
          return { slot: await this.#create(false), coldStartMs: performance.now() - start };
        } catch (error) {
          this.#size--;
          throw error;
        }
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #release(slot: Slot): void {
    if (slot.isolate.isDisposed) this.#size--;
    else this.#idle.push(slot);
    this.#waiters.shift()?.();
  }

  async #create(count = true): Promise<Slot> {
    if (count) this.#size++;
    const warm = await this.#spares.take(this.#fn.limits.memoryMb);
    try {
      const slot = new Slot(warm.isolate, warm.context);
      const take = (name: string) => warm.context.evalClosure(`const f = globalThis.${name}; delete globalThis.${name}; return f;`, [], { result: { reference: true } });
      const install = await take('__palisade_install');
      const boot = await take('__palisade_boot');
      await install.apply(undefined, this.#hostCallbacks(slot), { timeout: LOAD_TIMEOUT_MS });
      // The module runs in a closure: nothing it declares lands on the global object.
      const mod = await warm.context.evalClosure(`const module = { exports: {} }; const exports = module.exports;\n${this.#fn.code}\n;return module.exports;`, [], {
        result: { reference: true },
        timeout: LOAD_TIMEOUT_MS,
        filename: `function:${this.#fn.name}`,
      });
      const limits = {
        maxResponseBytes: this.#fn.limits.maxResponseBytes,
        maxHeaders: MAX_RESPONSE_HEADERS,
        maxHeaderBytes: MAX_RESPONSE_HEADER_BYTES,
        maxLogLines: MAX_LOG_LINES_PER_REQUEST,
        maxLogBytes: MAX_LOG_BYTES_PER_REQUEST,
        maxSecretReads: MAX_SECRET_READS_PER_REQUEST,
      };
      const grants = { secrets: this.#secrets.size > 0, kv: this.#kv };
      const api = (await boot.apply(undefined, [mod.derefInto(), this.#fn.bindingsJson, new ivm.ExternalCopy([...this.#services]).copyInto(), new ivm.ExternalCopy(limits).copyInto(), new ivm.ExternalCopy(grants).copyInto()], {
        result: { reference: true },
        timeout: LOAD_TIMEOUT_MS,
      })) as ivm.Reference<Record<string, unknown>>;
      const error = (await api.get('error', { copy: true })) as unknown;
      if (typeof error === 'string') throw new Error(error);
      slot.run = await api.get('run', { reference: true });
      slot.fireTimer = await api.get('fireTimer', { reference: true });
      slot.dropTimers = await api.get('dropTimers', { reference: true });
      slot.deliverCall = await api.get('deliverCall', { reference: true });
      this.#spares.refill(this.#fn.limits.memoryMb);
      return slot;
    } catch (error) {
      if (count) this.#size--;
      if (!warm.isolate.isDisposed) warm.isolate.dispose();
      throw error;
    }
  }

  async #run(slot: Slot, id: number, req: InvokeRequest): Promise<SandboxResult> {
    const { timeoutMs } = this.#fn.limits;
    // INVARIANT: the deadline starts here, when the invocation runs, never while it waited.
    const cpuLimit = this.#fn.limits.cpuMs + (slot.calls === 0 ? FIRST_CALL_CPU_ALLOWANCE_MS : 0);
    slot.calls++;
    slot.current = id;
    slot.logLines = 0;
    slot.logBytes = 0;
    slot.timerCount = 0;
    slot.bindingCalls = 0;
    slot.secretReads = 0;
    slot.kvOps = 0;
    const isolate = slot.isolate;
    const cpuStart = isolate.cpuTime;
    const usedMs = () => (isolate.isDisposed ? cpuLimit : Number(isolate.cpuTime - cpuStart) / 1e6);
    let verdict: 'cpu-limit' | 'timeout' | undefined;
    let stuckTimer: NodeJS.Timeout | undefined;
    let settled = false;
    let answer: ((r: SandboxResult) => void) | undefined;
    const kill = (why: 'cpu-limit' | 'timeout') => {
      verdict ??= why;
      if (!isolate.isDisposed) isolate.dispose();
      // An isolate inside a long native builtin (a huge string or JSON build) does not see the
      // termination at once. Answer now; if it still has not stopped, the worker leaves.
      stuckTimer ??= setTimeout(() => {
        if (settled) return;
        answer?.(this.#limitFailure(why, usedMs()));
        this.#host.stuck(this.#fn.name);
      }, STUCK_AFTER_DISPOSE_MS);
    };
    // One timer per invocation watches both limits: it first fires when the CPU budget could be
    // spent, then re-arms for whichever limit is nearer.
    const startedAt = performance.now();
    let watchdog: NodeJS.Timeout | undefined;
    const watch = () => {
      const used = usedMs();
      if (used > cpuLimit) return kill('cpu-limit');
      const left = timeoutMs - (performance.now() - startedAt);
      if (left <= 0) return kill('timeout');
      watchdog = setTimeout(watch, Math.max(1, Math.min(cpuLimit - used, left)));
    };
    watchdog = setTimeout(watch, Math.min(cpuLimit, timeoutMs));
    const running = (async (): Promise<SandboxResult> => {
      try {
        // isolated-vm's `timeout` is wall time (isolated-vm issue #108), so it is only a backstop
        // at the wall limit: CPU is enforced by the cpuTime watchdog above, which a busy machine
        // cannot trip for a function that is merely waiting for a core.
        const out = (await slot.run.apply(undefined, [toIsolateRequest(req, this.#host.secretEpoch?.() ?? 0)], {
          arguments: { copy: true },
          result: { promise: true, copy: true },
          timeout: timeoutMs,
        })) as unknown;
        const cpu = usedMs();
        if (verdict !== undefined) return this.#limitFailure(verdict, cpu, slot);
        if (cpu > cpuLimit) return this.#limitFailure('cpu-limit', cpu, slot);
        const checked = checkOutput(out, cpu, this.#fn.limits.maxResponseBytes);
        const reads = this.#secrets.size === 0 ? [] : memoReads(out, this.#secrets);
        return reads.length === 0 ? checked : { ...checked, secretReads: reads };
      } catch (error) {
        const cpu = usedMs();
        if (verdict !== undefined) return this.#limitFailure(verdict, cpu, slot);
        const message = describe(error);
        if (/memory limit/i.test(message) || isolate.isDisposed) {
          dispose(slot);
          return { ok: false, failure: 'memory-limit', detail: 'isolate exceeded its memory limit', cpuMs: cpu };
        }
        if (/timed out/i.test(message)) return this.#limitFailure(cpu > cpuLimit ? 'cpu-limit' : 'timeout', cpu, slot);
        return { ok: false, failure: 'threw', detail: message, cpuMs: cpu };
      }
    })();
    try {
      return await new Promise<SandboxResult>((resolve) => {
        answer = resolve;
        running.then(resolve, (error: unknown) => resolve({ ok: false, failure: 'threw', detail: describe(error), cpuMs: 0 }));
      });
    } finally {
      settled = true;
      if (watchdog !== undefined) clearTimeout(watchdog);
      if (stuckTimer !== undefined) clearTimeout(stuckTimer);
      this.#endInvocation(slot);
    }
  }

  #limitFailure(verdict: 'cpu-limit' | 'timeout', cpuMs: number, slot?: Slot): SandboxResult {
    if (slot !== undefined) dispose(slot);
    const detail = verdict === 'timeout' ? `no response within ${this.#fn.limits.timeoutMs} ms` : `used more than ${this.#fn.limits.cpuMs} ms of cpu`;
    return { ok: false, failure: verdict, detail, cpuMs };
  }

  #endInvocation(slot: Slot): void {
    for (const t of slot.timers.values()) clearTimeout(t);
    slot.timers.clear();
    // One cross-isolate call saved per request when the function set no timers.
    if (slot.timerCount > 0 && !slot.isolate.isDisposed) slot.dropTimers.applyIgnored(undefined, []);
    slot.current = 0;
    this.#release(slot);
  }

  /**
   * Host callbacks handed to the isolate. Each one validates its input and never throws: a host
   * exception would carry a host stack trace into the isolate. Each acts only for the invocation
   * running in its own isolate now.
   */
  #hostCallbacks(slot: Slot): ivm.Callback[] {
    const log = new ivm.Callback(
      (level: unknown, message: unknown) => {
        // The isolate counts too and stops calling; this is the check it cannot skip.
        if (slot.current === 0 || slot.logLines >= MAX_LOG_LINES_PER_REQUEST || slot.logBytes >= MAX_LOG_BYTES_PER_REQUEST) return;
        const text = typeof message === 'string' ? message.slice(0, MAX_LOG_MESSAGE_CHARS) : '';
        slot.logLines++;
        slot.logBytes += text.length;
        const lvl = level === 'debug' || level === 'warn' || level === 'error' ? level : 'info';
        this.#host.log(slot.current, lvl, text);
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
        if (slot.current === 0 || typeof id !== 'number' || slot.timerCount >= MAX_TIMERS_PER_REQUEST) return;
        slot.timerCount++;
        const ms = typeof delay === 'number' && Number.isFinite(delay) ? Math.min(Math.max(0, delay), this.#fn.limits.timeoutMs) : 0;
        const handle = setTimeout(() => {
          slot.timers.delete(id);
          if (!slot.isolate.isDisposed) slot.fireTimer.apply(undefined, [id], { timeout: this.#fn.limits.timeoutMs }).catch(() => undefined);
        }, ms);
        slot.timers.set(id, handle);
      },
      { ignored: true },
    );
    const clearTimer = new ivm.Callback(
      (id: unknown) => {
        if (typeof id !== 'number') return;
        const handle = slot.timers.get(id);
        if (handle !== undefined) clearTimeout(handle);
        slot.timers.delete(id);
      },
      { ignored: true },
    );
    // The call channel: env.NAME.fetch() → worker → gateway and back. The answer goes in through
    // `deliverCall(id, { status, headers, body } | { error })`, a copy; nothing host-side crosses.
    const call = new ivm.Callback(
      (callId: unknown, binding: unknown, method: unknown, url: unknown, headers: unknown, body: unknown) => {
        const invocation = slot.current;
        if (invocation === 0 || typeof callId !== 'number') return;
        const deliver = (answer: Record<string, unknown>) => {
          if (slot.current !== invocation || slot.isolate.isDisposed) return;
          slot.deliverCall.apply(undefined, [callId, new ivm.ExternalCopy(answer).copyInto()], { timeout: this.#fn.limits.timeoutMs }).catch(() => undefined);
        };
        const refuse = (message: string) => deliver({ error: message });
        if (typeof binding !== 'string' || !this.#services.includes(binding)) return refuse('no such binding');
        if (++slot.bindingCalls > MAX_CALLS_PER_INVOCATION) return refuse(`at most ${MAX_CALLS_PER_INVOCATION} binding calls per request`);
        if (typeof method !== 'string' || typeof url !== 'string' || url.length > 8192) return refuse('invalid request');
        if (!Array.isArray(headers) || headers.length > MAX_RESPONSE_HEADERS || !headers.every((h: unknown) => Array.isArray(h) && h.length === 2 && typeof h[0] === 'string' && typeof h[1] === 'string')) {
          return refuse('invalid request headers');
        }
        if (body !== null && !(body instanceof ArrayBuffer)) return refuse('invalid request body');
        if (body instanceof ArrayBuffer && body.byteLength > MAX_BINDING_BODY_BYTES) return refuse('request body too large');
        void this.#host
          .call(invocation, binding, { method: method.toUpperCase(), url, headers: headers as Array<[string, string]>, body: body === null ? null : new Uint8Array(body) })
          .then((outcome) => (outcome.ok ? deliver({ status: outcome.res.status, headers: outcome.res.headers.map(([k, v]) => [k, v]), body: exactBodyBuffer(outcome.res.body) }) : refuse(outcome.message)));
      },
      { ignored: true },
    );
    // Secrets: the isolate asks for a name; the worker answers from its cache or asks the gateway,
    // which checks the grant and the policy and records the read. Ungranted names go to the
    // gateway too (a denial is recorded), but never more than the per-request budget.
    const secret = new ivm.Callback(
      (callId: unknown, name: unknown) => {
        const invocation = slot.current;
        if (invocation === 0 || typeof callId !== 'number') return;
        const deliver = (answer: Record<string, unknown>) => {
          if (slot.current !== invocation || slot.isolate.isDisposed) return;
          slot.deliverCall.apply(undefined, [callId, new ivm.ExternalCopy(answer).copyInto()], { timeout: this.#fn.limits.timeoutMs }).catch(() => undefined);
        };
        if (this.#host.secret === undefined) return deliver({ error: 'secrets are not available here' });
        if (typeof name !== 'string' || name.length > MAX_SECRET_NAME_CHARS) return deliver({ error: 'invalid secret name' });
        if (++slot.secretReads > MAX_SECRET_READS_PER_REQUEST) return deliver({ error: `at most ${MAX_SECRET_READS_PER_REQUEST} secret reads per request` });
        void this.#host.secret(invocation, this.#fn.name, name).then((o) => deliver(o.ok ? { value: o.value, version: o.version, cache: o.cache, epoch: o.epoch } : { error: o.message }));
      },
      { ignored: true },
    );
    const kv = new ivm.Callback(
      (callId: unknown, op: unknown, key: unknown, value: unknown, prefix: unknown, limit: unknown, cursor: unknown) => {
        const invocation = slot.current;
        if (invocation === 0 || typeof callId !== 'number') return;
        const deliver = (answer: Record<string, unknown>) => {
          if (slot.current !== invocation || slot.isolate.isDisposed) return;
          slot.deliverCall.apply(undefined, [callId, new ivm.ExternalCopy(answer).copyInto()], { timeout: this.#fn.limits.timeoutMs }).catch(() => undefined);
        };
        if (!this.#kv || this.#host.kv === undefined) return deliver({ error: 'kv is not granted to this function' });
        if (++slot.kvOps > MAX_KV_OPS_PER_REQUEST) return deliver({ error: `at most ${MAX_KV_OPS_PER_REQUEST} kv operations per request` });
        const operation = checkKvOperation(op, key, value, prefix, limit, cursor);
        if (typeof operation === 'string') return deliver({ error: operation });
        void this.#host.kv(invocation, operation).then((a) => {
          if (!a.ok) return deliver({ error: a.message });
          if (operation.op === 'get') return deliver({ value: a.value === null || a.value === undefined ? null : exactBodyBuffer(a.value) });
          if (operation.op === 'list') return deliver({ keys: [...(a.keys ?? [])], cursor: a.cursor ?? null });
          return deliver({});
        });
      },
      { ignored: true },
    );
    // Outbound requests: the global `fetch()` → worker → gateway, where the egress guard checks
    // the grants and the policy, makes the request and records it. Answered like a binding call.
    // INVARIANT: a function without any egress grant is not refused here but at the gateway, so
    // that every attempt is decided and audited in one place (bounded by the same call budget).
    const egress = new ivm.Callback(
      (callId: unknown, method: unknown, url: unknown, headers: unknown, body: unknown) => {
        const invocation = slot.current;
        if (invocation === 0 || typeof callId !== 'number') return;
        const deliver = (answer: Record<string, unknown>) => {
          if (slot.current !== invocation || slot.isolate.isDisposed) return;
          slot.deliverCall.apply(undefined, [callId, new ivm.ExternalCopy(answer).copyInto()], { timeout: this.#fn.limits.timeoutMs }).catch(() => undefined);
        };
        const refuse = (message: string) => deliver({ error: message });
        if (this.#host.egress === undefined) return refuse('outbound requests are not available here');
        if (++slot.bindingCalls > MAX_CALLS_PER_INVOCATION) return refuse(`at most ${MAX_CALLS_PER_INVOCATION} outbound requests and binding calls per request`);
        if (typeof method !== 'string' || !(EGRESS_METHODS as readonly string[]).includes(method.toUpperCase())) return refuse('method not allowed');
        if (typeof url !== 'string' || url.length === 0 || url.length > MAX_EGRESS_URL_CHARS) return refuse('invalid url');
        if (!Array.isArray(headers) || headers.length > MAX_RESPONSE_HEADERS || !headers.every((h: unknown) => Array.isArray(h) && h.length === 2 && typeof h[0] === 'string' && typeof h[1] === 'string' && h[0].length + h[1].length <= MAX_RESPONSE_HEADER_BYTES)) {
          return refuse('invalid request headers');
        }
        if (body !== null && !(body instanceof ArrayBuffer)) return refuse('invalid request body');
        if (body instanceof ArrayBuffer && body.byteLength > MAX_BINDING_BODY_BYTES) return refuse('request body too large');
        void this.#host
          .egress(invocation, { method: method.toUpperCase(), url, headers: headers as Array<[string, string]>, body: body === null ? null : new Uint8Array(body) })
          .then((outcome) => (outcome.ok ? deliver({ status: outcome.res.status, headers: outcome.res.headers.map(([k, v]) => [k, v]), body: exactBodyBuffer(outcome.res.body) }) : refuse(outcome.message)));
      },
      { ignored: true },
    );
    return [log, random, digest, setTimer, clearTimer, call, secret, kv, egress];
  }
}

/** The isolate's own-copy reads, as data: only granted names, integer versions, counts within the per-request budget. */
function memoReads(out: unknown, granted: ReadonlySet<string>): Array<readonly [string, number, number]> {
  const list = out !== null && typeof out === 'object' ? (out as { secretReads?: unknown }).secretReads : undefined;
  if (!Array.isArray(list)) return [];
  const reads: Array<readonly [string, number, number]> = [];
  for (const r of list.slice(0, 64) as unknown[]) {
    if (!Array.isArray(r) || r.length !== 3) continue;
    const [name, version, count] = r as [unknown, unknown, unknown];
    if (typeof name !== 'string' || !granted.has(name) || !Number.isSafeInteger(version) || (version as number) < 0 || !Number.isSafeInteger(count) || (count as number) < 1) continue;
    reads.push([name, version as number, Math.min(count as number, MAX_SECRET_READS_PER_REQUEST)]);
  }
  return reads;
}

function dispose(slot: Slot): void {
  if (!slot.isolate.isDisposed) slot.isolate.dispose();
}

function checkOutput(out: unknown, cpuMs: number, maxResponseBytes: number): SandboxResult {
  // INVARIANT: nothing from the isolate is trusted; its answer is checked field by field.
  if (out === null || typeof out !== 'object') return { ok: false, failure: 'bad-response', detail: 'dispatcher returned no result', cpuMs };
  const o = out as { ok?: unknown; kind?: unknown; message?: unknown; response?: unknown };
  if (o.ok !== true) {
    const kind = o.kind === 'too-large' ? 'too-large' : o.kind === 'bad-response' ? 'bad-response' : 'threw';
    return { ok: false, failure: kind, detail: typeof o.message === 'string' ? o.message.slice(0, 2000) : 'function failed', cpuMs };
  }
  const r = o.response as { status?: unknown; headers?: unknown; body?: unknown } | undefined;
  const status = r?.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
    return { ok: false, failure: 'bad-response', detail: `invalid status \`${String(status)}\``, cpuMs };
  }
  const headers = r?.headers;
  if (!Array.isArray(headers) || headers.length > MAX_RESPONSE_HEADERS) return { ok: false, failure: 'bad-response', detail: 'too many headers', cpuMs };
  let headerBytes = 0;
  for (const h of headers as unknown[]) {
    if (!Array.isArray(h) || h.length !== 2 || typeof h[0] !== 'string' || typeof h[1] !== 'string') return { ok: false, failure: 'bad-response', detail: 'invalid headers', cpuMs };
    headerBytes += h[0].length + h[1].length;
  }
  if (headerBytes > MAX_RESPONSE_HEADER_BYTES) return { ok: false, failure: 'bad-response', detail: 'headers too large', cpuMs };
  const body = r?.body;
  if (!(body instanceof ArrayBuffer) || (body as ArrayBuffer & { resizable?: boolean }).resizable === true) return { ok: false, failure: 'bad-response', detail: 'invalid body', cpuMs };
  if (body.byteLength > maxResponseBytes) return { ok: false, failure: 'too-large', detail: 'response too large', cpuMs };
  return { ok: true, res: { status, headers: headers as Array<[string, string]>, body: new Uint8Array(body) }, cpuMs };
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

/** Checks a KV operation from the isolate against the limits (the isolate checked too); a string is why not. */
function checkKvOperation(op: unknown, key: unknown, value: unknown, prefix: unknown, limit: unknown, cursor: unknown): KvOperation | string {
  const keyOk = (k: unknown): k is string => typeof k === 'string' && k.length > 0 && k.length <= MAX_KV_KEY_BYTES && Buffer.byteLength(k, 'utf8') <= MAX_KV_KEY_BYTES;
  switch (op) {
    case 'get':
    case 'delete':
      return keyOk(key) ? { op, key } : `a key must be 1 to ${MAX_KV_KEY_BYTES} bytes`;
    case 'put':
      if (!keyOk(key)) return `a key must be 1 to ${MAX_KV_KEY_BYTES} bytes`;
      if (!(value instanceof ArrayBuffer)) return 'a value must be bytes';
      if (value.byteLength > MAX_KV_VALUE_BYTES) return `a value must be at most ${MAX_KV_VALUE_BYTES} bytes`;
      return { op, key, value: new Uint8Array(value) };
    case 'list':
      if (typeof prefix !== 'string' || Buffer.byteLength(prefix, 'utf8') > MAX_KV_KEY_BYTES) return `a prefix must be at most ${MAX_KV_KEY_BYTES} bytes`;
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_KV_LIST_LIMIT) return `limit must be 1 to ${MAX_KV_LIST_LIMIT}`;
      if (cursor !== null && (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > MAX_KV_CURSOR_CHARS)) return 'invalid cursor';
      return { op, prefix, limit, cursor };
    default:
      return 'unknown kv operation';
  }
}

function toIsolateRequest(req: InvokeRequest, secretEpoch: number): Record<string, unknown> {
  // INVARIANT: buffers are copied into the isolate at their exact length, never shared.
  const p = req.principal ?? null;
  return {
    method: req.method,
    url: req.url,
    headers: req.headers.map(([k, v]) => [k, v]),
    body: req.body === null ? null : exactBodyBuffer(req.body),
    requestId: req.requestId,
    secretEpoch,
    principal: p === null ? null : { type: p.type, id: p.id, issuer: p.issuer, roles: [...p.roles], mfa: p.mfa, authMethod: p.authMethod },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 2000);
  return String(error).slice(0, 2000);
}
