import { fork, type ChildProcess } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { isPalisadeError, PalisadeError, type ErrorCode } from '../kernel/index.js';
import { type FunctionLimits, type FunctionSpec, type SegmentSpec } from '../manifest/index.js';
import { collectBody } from './collect-body.js';
import { runBindingCall, type BindingCallAnswer, type BindingCallEvent, type CallAuthorizer, type CallerIdentity } from './binding-calls.js';
import { isolatedVmLocation, packageRoot, permissionFlag } from './package-paths.js';
import { createBatchedSender } from './batched-sender.js';
import { parseWorkerFrame } from './parse-worker-message.js';
import type { NetworkIsolation } from './network-namespace.js';
import { BODY_CHUNK_BYTES, MAX_CALLS_PER_INVOCATION, type BindingCallPayload, type Frame, type GatewayToWorker, type InvokeFailure, type InvokePrincipal, type InvokeRequest, type KvAnswer, type KvOperation, type WorkerFunction, type WorkerToGateway } from './protocol.js';
import { SecretRedactor } from './redact-secrets.js';
import type { KvResolver, SecretResolver } from './secret-ports.js';
import { runSecretRead, type SecretAuthorizer, type SecretReadEvent } from './secret-reads.js';

/** A function's console line, tagged (by the gateway, never by the worker) with its function and request id. */
export interface FunctionLogLine {
  readonly fn: string;
  readonly requestId: string;
  readonly level: string;
  readonly message: string;
}

/** Events the pool reports to its owner (for logs and, later, audit and detection). */
export interface WorkerPoolEvents {
  onFunctionLog?(line: FunctionLogLine): void;
  /** A worker process exited while the pool was serving (not during `close()`); it is restarted. */
  onWorkerExit?(info: { segment: string; pid: number; code: number | null; signal: string | null; inFlight: number; lastError: string }): void;
  onWorkerReady?(info: { segment: string; pid: number; coldStartMs: Readonly<Record<string, number>> }): void;
  /** A worker broke the protocol and was killed (`PAL_RUNTIME_WORKER_FAULT`). */
  onWorkerFault?(info: { segment: string; pid: number; why: string }): void;
  /** A segment's workers keep failing to load; restarts are backed off (`PAL_RUNTIME_LOAD_FAILING`). */
  onLoadFailing?(info: { segment: string; fn: string; message: string; failures: number; retryInMs: number }): void;
  /** A binding call was decided (allowed or refused). */
  onBindingCall?(event: BindingCallEvent): void;
  /**
   * A secret read was decided (allowed or refused), or reads answered from a cache were reported.
   * For reads the gateway answers, the value is handed out only after this resolves: a rejection
   * refuses the read (the audit trail could not record it).
   */
  onSecretRead?(event: SecretReadEvent): void | Promise<void>;
}

/** A function as the pool takes it: `concurrency` and `queue` default to the manifest defaults. */
export type PoolFunctionSpec = Omit<FunctionSpec, 'limits'> & { readonly limits: Omit<FunctionLimits, 'concurrency' | 'queue'> & Partial<Pick<FunctionLimits, 'concurrency' | 'queue'>> };

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_QUEUE = 64;

/** What the pool needs to run a segment's functions. */
export interface WorkerPoolOptions {
  readonly prelude: string;
  readonly segments: readonly SegmentSpec[];
  readonly functions: readonly PoolFunctionSpec[];
  /** Bundled code by function name. */
  readonly bundles: ReadonlyMap<string, string>;
  readonly events?: WorkerPoolEvents;
  /**
   * How long `start()` waits for every worker to load, and how long any worker process (a restart
   * too) may take to answer its load before it counts as a failed load and is replaced (default
   * 120 s: start-up never fails because a machine is busy).
   */
  readonly startTimeoutMs?: number;
  /** The worker script; tests substitute a misbehaving one. */
  readonly workerScript?: string;
  /** The policy decision on each binding call (Cedar `callFunction`), after the manifest grant. */
  readonly authorizeCall?: CallAuthorizer;
  /** Where `env.secrets.get(name)` reads from; absent: every read is refused (`unavailable`). */
  readonly secrets?: SecretResolver;
  /** The policy decision on each secret read (Cedar `readSecret`), after the manifest grant. */
  readonly authorizeSecret?: SecretAuthorizer;
  /** Where `env.kv` lives; absent: every KV operation fails. */
  readonly kv?: KvResolver;
  /**
   * Makes an outbound request of a function (the global `fetch()`), through the egress guard.
   * Absent: every outbound request fails. Called for every attempt, also of functions without
   * any egress grant (the handler refuses and records those).
   */
  readonly egress?: EgressHandler;
  /**
   * Start each worker in an empty network namespace (`unshare --net`, see
   * {@link probeNetworkIsolation}); absent: workers share the gateway's network namespace.
   */
  readonly networkIsolation?: NetworkIsolation;
}

/** The invocation an outbound request belongs to, from the gateway's own table. */
export interface EgressCaller {
  readonly fn: string;
  readonly requestId: string;
  readonly principal: InvokePrincipal | null;
  readonly chain: readonly string[];
  /** When the invocation's own deadline passes (ms since epoch). */
  readonly deadline: number;
}

/**
 * Answers one outbound request of a function; never rejects. `signal` aborts when the invocation
 * ends (its result, its deadline, or its worker gone).
 */
export type EgressHandler = (caller: EgressCaller, payload: BindingCallPayload, signal: AbortSignal) => Promise<BindingCallAnswer>;

/** The rest of a response body, pulled from the worker chunk by chunk as the reader asks. */
export interface BodyStream extends AsyncIterable<Uint8Array> {
  /** Total length in bytes; undefined when unknown in advance (a redacted body: sent without `content-length`). */
  readonly byteLength: number | undefined;
  /** Stops the transfer; the worker drops the rest. */
  cancel(): void;
}

/** The result of a successful invocation. */
export interface FunctionResult {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The whole body when it fits one message, otherwise a stream. */
  readonly body: Uint8Array | BodyStream;
  readonly cpuMs: number;
  readonly coldStartMs?: number;
}

/** Who is calling, for invocations that are binding calls of another function. */
export interface InvokeOptions {
  /** The functions earlier in the call chain, outermost first. */
  readonly chain?: readonly string[];
}

/** Runs functions in supervised worker processes. */
export interface WorkerPool {
  /** Spawns every worker and resolves once all loaded their functions (or rejects with why not). */
  start(): Promise<void>;
  /** Invokes a function; throws a {@link PalisadeError} with a `PAL_RUNTIME_*` code on failure. */
  invoke(fn: string, req: InvokeRequest, options?: InvokeOptions): Promise<FunctionResult>;
  /** Live worker pids by segment; for tests and operators. */
  pids(): Readonly<Record<string, readonly number[]>>;
  /** Every worker pid, ready or not; for tests. */
  allPids(): readonly number[];
  /**
   * The policies changed (a reload): every worker drops its cached secrets, so that the next read
   * of each is decided again.
   */
  secretsPolicyChanged(): void;
  /** Stops every worker. */
  close(): Promise<void>;
}

/** A {@link PalisadeError} that tells the client when to retry (`Retry-After`). */
export class RuntimeRetryLater extends PalisadeError {
  readonly retryAfterSec: number;
  constructor(code: ErrorCode, message: string, retryAfterSec: number) {
    super(code, message, { expose: true });
    this.retryAfterSec = retryAfterSec;
  }
}

const WORKER_SCRIPT = join(packageRoot, 'dist', 'src', 'runtime', 'worker-main.js');
const FAILURE_CODES: Readonly<Record<InvokeFailure, ErrorCode>> = {
  threw: 'PAL_RUNTIME_FUNCTION_THREW',
  'bad-response': 'PAL_RUNTIME_FUNCTION_THREW',
  'unknown-function': 'PAL_INTERNAL',
  'cpu-limit': 'PAL_RUNTIME_CPU_LIMIT',
  timeout: 'PAL_RUNTIME_TIMEOUT',
  'memory-limit': 'PAL_RUNTIME_MEMORY_LIMIT',
  'too-large': 'PAL_RUNTIME_RESPONSE_TOO_LARGE',
};
const CLIENT_MESSAGES: Readonly<Record<InvokeFailure, string>> = {
  threw: 'the function failed',
  'bad-response': 'the function returned an invalid response',
  'unknown-function': 'internal error',
  'cpu-limit': 'the function exceeded its cpu limit',
  timeout: 'the function did not respond in time',
  'memory-limit': 'the function exceeded its memory limit',
  'too-large': 'the function response is too large',
};
/**
 * Extra time beyond a function's own timeout before the gateway kills its worker. The worker
 * enforces every limit itself first (and leaves by itself when an isolate will not stop), so
 * this backstop fires only for a worker whose main thread is wedged.
 */
const BACKSTOP_GRACE_MS = 10_000;
/** A worker that does not answer a body pull within this long is faulty. */
const PULL_TIMEOUT_MS = 15_000;
/** Consecutive load failures after which restarts back off to the slow lane and operators are told. */
const BREAKER_FAILURES = 3;
const MAX_BACKOFF_MS = 30_000;
/**
 * How long all of a function's isolates in a worker must have been busy before requests overflow
 * to the segment's next worker. Fast requests wait for the first worker instead (it turns them
 * over in well under this); slow ones (waiting on I/O, or CPU-heavy) spread.
 */
export const OVERFLOW_AFTER_MS = 20;
/** Longest a request waits for a free isolate: its own timeout, but never less than 10 s. */
export const queueWaitMs = (timeoutMs: number): number => Math.max(timeoutMs, 10_000);

/**
 * Node flags for a worker: the permission model as a second layer under the isolates. No file
 * writes, no child processes, no worker threads; reads only of palisade's own code.
 * `--no-node-snapshot`: isolated-vm requires it on Node >= 20 (its README).
 */
export function workerExecArgv(): string[] {
  // isolated-vm wherever npm put it (hoisted or nested), resolved like Node's own resolver does.
  const reads = [join(packageRoot, 'dist', '*'), ...isolatedVmLocation().readPaths, join(packageRoot, 'package.json')];
  // One flag per path: Node 20 reads only the first entry of a comma-separated list.
  return [permissionFlag(), '--allow-addons', ...reads.map((r) => `--allow-fs-read=${r}`), '--no-node-snapshot', '--disable-warning=ExperimentalWarning', '--disable-warning=SecurityWarning'];
}

/** An invocation the gateway sent to a worker: the table binding calls and logs are checked against. */
interface Invocation {
  readonly id: number;
  readonly fn: string;
  readonly spec: FunctionSpec;
  readonly requestId: string;
  readonly principal: InvokePrincipal | null;
  readonly chain: readonly string[];
  readonly worker: Worker;
  readonly deadline: number;
  /** When it was sent to the worker (`Date.now()`). */
  readonly sentAt: number;
  state: 'running' | 'streaming';
  readonly resolve: (r: FunctionResult) => void;
  readonly reject: (e: PalisadeError) => void;
  readonly timer: NodeJS.Timeout;
  readonly calls: Set<number>;
  /** Binding calls and outbound requests made so far (bounded by {@link MAX_CALLS_PER_INVOCATION}). */
  attempts: number;
  /** Aborted when the invocation ends: cancels its outbound requests (created on the first one). */
  egress?: AbortController;
  stream?: PulledBody;
}

interface Job {
  readonly fn: string;
  readonly spec: FunctionSpec;
  readonly req: InvokeRequest;
  readonly chain: readonly string[];
  readonly resolve: (r: FunctionResult) => void;
  readonly reject: (e: PalisadeError) => void;
  timer?: NodeJS.Timeout;
  /** The binding call this job answers (its caller's worker and call id), for the same-worker path. */
  readonly via?: { readonly worker: Worker; readonly callId: number };
}

class Worker {
  child: ChildProcess | undefined;
  /** Queues a message for `child`; what one turn of the loop queued goes in one write. */
  send: ((message: GatewayToWorker) => void) | undefined;
  state: 'idle' | 'starting' | 'ready' | 'gone' = 'idle';
  readonly invocations = new Map<number, Invocation>();
  readonly running = new Map<string, number>();
  maxId = 0;
  crashes = 0;
  loadFailures = 0;
  lastLoadFailure: { fn: string; message: string } | undefined;
  startedAt = 0;
  /**
   * Cache entries this worker was allowed (`fn\0name\0version` → deciding policy ids): the only
   * cached reads it may report.
   */
  readonly cacheGrants = new Map<string, readonly string[]>();
  /** Settles the first start of this worker (for `start()`). */
  onFirstOutcome: ((error?: PalisadeError) => void) | undefined;
  constructor(readonly segment: string) {}
  /**
   * Whether every isolate of `fn` here has been busy for a while: its oldest running invocation
   * was sent more than {@link OVERFLOW_AFTER_MS} ago. Invocations are kept in the order they
   * were sent, so the first running one of `fn` is the oldest.
   */
  stalled(fn: string, now: number): boolean {
    for (const inv of this.invocations.values()) {
      if (inv.fn === fn && inv.state === 'running') return now - inv.sentAt > OVERFLOW_AFTER_MS;
    }
    return false;
  }
}

/** The body of a streamed result: first chunk in hand, the rest pulled on demand. */
class PulledBody implements BodyStream {
  readonly byteLength: number;
  #received: number;
  #first: Uint8Array | undefined;
  #waiting: { resolve: (c: Uint8Array) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  #failed: Error | undefined;
  #done = false;
  // Two buffers of its own, used in turn: a chunk arrives as a view into the channel's read
  // buffer (which may hold many messages, so a slow reader would pin them all); it is copied into
  // one of these. The reader takes the next chunk only after it handed the previous one to the
  // socket, so the buffer written two chunks ago is free again. No per-chunk allocation.
  readonly #buffers: [Uint8Array | undefined, Uint8Array | undefined] = [undefined, undefined];
  #turn = 0;
  constructor(
    first: Uint8Array,
    size: number,
    private readonly pull: () => void,
    private readonly finish: (cancelled: boolean) => void,
    private readonly timeout: () => void,
  ) {
    this.byteLength = size;
    this.#first = first;
    this.#received = first.byteLength;
  }
  get expectingChunk(): boolean {
    return this.#waiting !== undefined;
  }
  /** A chunk arrived; false when it was not asked for or overflows the announced size (a fault). */
  deliver(data: Uint8Array): boolean {
    const w = this.#waiting;
    if (w === undefined || data.byteLength === 0 || this.#received + data.byteLength > this.byteLength) return false;
    this.#waiting = undefined;
    clearTimeout(w.timer);
    this.#received += data.byteLength;
    if (this.#received === this.byteLength) this.#end(false);
    const slot = this.#turn;
    this.#turn = 1 - slot;
    let buffer = this.#buffers[slot];
    if (buffer === undefined || buffer.byteLength < data.byteLength) buffer = this.#buffers[slot] = new Uint8Array(BODY_CHUNK_BYTES);
    buffer.set(data);
    w.resolve(buffer.subarray(0, data.byteLength));
    return true;
  }
  fail(error: Error): void {
    this.#failed ??= error;
    const w = this.#waiting;
    this.#waiting = undefined;
    if (w !== undefined) {
      clearTimeout(w.timer);
      w.reject(error);
    }
    this.#done = true;
  }
  cancel(): void {
    if (this.#done) return;
    this.fail(new PalisadeError('PAL_RUNTIME_UNAVAILABLE', 'the transfer was cancelled'));
    this.finish(true);
  }
  #end(cancelled: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.finish(cancelled);
  }
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    try {
      if (this.#first !== undefined) {
        const first = this.#first;
        this.#first = undefined;
        if (first.byteLength > 0) yield first;
        if (this.#received === this.byteLength) this.#end(false);
      }
      while (this.#received < this.byteLength) {
        if (this.#failed !== undefined) throw this.#failed;
        const next = new Promise<Uint8Array>((resolve, reject) => {
          this.#waiting = { resolve, reject, timer: setTimeout(() => this.timeout(), PULL_TIMEOUT_MS) };
        });
        this.pull();
        yield await next;
      }
    } finally {
      // A reader that stops early (return/throw) cancels the rest.
      if (this.#received < this.byteLength) this.cancel();
    }
  }
}

/**
 * Reads a whole result body, at most `maxBytes`.
 *
 * @example
 * ```ts
 * const bytes = await readWholeBody((await pool.invoke('hello', req)).body, 1 << 20);
 * ```
 */
export async function readWholeBody(body: Uint8Array | BodyStream, maxBytes: number): Promise<Uint8Array> {
  if (body instanceof Uint8Array) {
    if (body.byteLength > maxBytes) throw new PalisadeError('PAL_RUNTIME_RESPONSE_TOO_LARGE', 'the function response is too large', { expose: true });
    return body;
  }
  if (body.byteLength !== undefined && body.byteLength > maxBytes) {
    body.cancel();
    throw new PalisadeError('PAL_RUNTIME_RESPONSE_TOO_LARGE', 'the function response is too large', { expose: true });
  }
  return collectBody(body, maxBytes);
}

/** A streamed body passed through a function's redactor: its length is unknown until the end. */
class RedactedBody implements BodyStream {
  readonly byteLength = undefined;
  constructor(
    private readonly inner: BodyStream,
    private readonly redactor: SecretRedactor,
  ) {}
  cancel(): void {
    this.inner.cancel();
  }
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.redactor.redactStream(this.inner)[Symbol.asyncIterator]();
  }
}

/**
 * Creates the pool. Each segment gets its own worker processes: two segments never share one.
 *
 * @example
 * ```ts
 * const pool = createWorkerPool({ prelude, segments, functions, bundles });
 * await pool.start();
 * const res = await pool.invoke('orders', { method: 'GET', url, headers: [], body: null, requestId });
 * ```
 */
export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const events = options.events ?? {};
  const script = options.workerScript ?? WORKER_SCRIPT;
  const functionsBySegment = new Map<string, WorkerFunction[]>();
  const specs = new Map<string, FunctionSpec>();
  for (const given of options.functions) {
    const fn: FunctionSpec = { ...given, limits: { ...given.limits, concurrency: given.limits.concurrency ?? DEFAULT_CONCURRENCY, queue: given.limits.queue ?? DEFAULT_QUEUE } };
    const code = options.bundles.get(fn.name);
    if (code === undefined) throw new PalisadeError('PAL_INTERNAL', `no bundle for function \`${fn.name}\``);
    const list = functionsBySegment.get(fn.segment) ?? [];
    const values: Record<string, unknown> = {};
    const services: string[] = [];
    for (const [name, binding] of Object.entries(fn.bindings)) {
      if (binding.type === 'service') services.push(name);
      else values[name] = binding.value;
    }
    list.push({ name: fn.name, code, limits: fn.limits, bindingsJson: JSON.stringify(values), services, secrets: fn.secrets ?? [], kv: fn.kv === true });
    functionsBySegment.set(fn.segment, list);
    specs.set(fn.name, fn);
  }
  const workers = new Map<string, Worker[]>();
  for (const seg of options.segments) {
    if (!functionsBySegment.has(seg.name)) continue;
    workers.set(seg.name, Array.from({ length: seg.workers }, () => new Worker(seg.name)));
  }
  const queues = new Map<string, Job[]>();
  // Redaction costs only functions that are granted a secret.
  const redactors = new Map<string, SecretRedactor>();
  const grantedBy = new Map<string, string[]>();
  for (const fn of specs.values()) {
    if ((fn.secrets ?? []).length === 0) continue;
    redactors.set(fn.name, new SecretRedactor());
    for (const name of fn.secrets ?? []) grantedBy.set(name, [...(grantedBy.get(name) ?? []), fn.name]);
  }
  const learn = (fn: string, name: string, value: string): void => redactors.get(fn)?.setValue(name, value);
  /** Loads the current value of `name` into the redactor of every function granted it. */
  const refreshRedaction = async (name: string): Promise<void> => {
    const fns = grantedBy.get(name);
    if (fns === undefined || options.secrets === undefined) return;
    const current = await options.secrets.read(name, { use: false }).catch(() => undefined);
    if (current !== undefined) for (const fn of fns) learn(fn, name, current.value);
  };
  // Moves whenever a cached secret answer would become wrong: a policy reload (all) or a change of one secret.
  let policyGeneration = 0;
  const secretChanges = new Map<string, number>();
  const generation = (name: string): number => policyGeneration * 1_000_003 + (secretChanges.get(name) ?? 0);
  const broadcast = (message: GatewayToWorker): void => {
    for (const list of workers.values()) for (const w of list) post(w, message);
  };
  const unsubscribe = options.secrets?.onChange((name) => {
    secretChanges.set(name, (secretChanges.get(name) ?? 0) + 1);
    broadcast({ t: 'secret-changed', name });
    void refreshRedaction(name);
  });
  // Start-up is staggered: at most this many workers boot and load at once, so a busy machine
  // slows start-up down instead of failing it, and a booting worker (which cannot yet notice that
  // the gateway died) gets a core quickly.
  const maxStarting = Math.max(2, availableParallelism());
  const spawnQueue: Worker[] = [];
  let starting = 0;
  let nextId = 1;
  let closing = false;

  const post = (worker: Worker, message: GatewayToWorker): void => {
    const child = worker.child;
    if (child === undefined || worker.state === 'gone' || !child.connected) return;
    worker.send?.(message);
  };

  /** The writer of one child's frames. Messages queued for a child that is gone by then are dropped. */
  const frameWriter = (worker: Worker, child: ChildProcess) => (frame: Frame<GatewayToWorker>): void => {
    if (worker.child !== child || worker.state === 'gone' || !child.connected) return;
    try {
      child.send(frame, (error) => {
        // INVARIANT: a failed send takes the worker out of rotation at once; it never throws.
        if (error) gone(worker, child, `send failed: ${error.message}`);
      });
    } catch (error) {
      gone(worker, child, `send failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  /**
   * Takes a worker out of rotation: every pending invocation gets 503 at once and the process is
   * killed. Idempotent per child. The restart happens in exactly one place: the child's 'exit'.
   */
  const gone = (worker: Worker, child: ChildProcess, why: string, code: ErrorCode = 'PAL_RUNTIME_WORKER_CRASHED'): void => {
    if (worker.child !== child || worker.state === 'gone') return;
    worker.state = 'gone';
    const message = code === 'PAL_RUNTIME_WORKER_FAULT' ? 'the function worker misbehaved and was restarted' : 'the function worker stopped while handling the request';
    for (const inv of worker.invocations.values()) {
      clearTimeout(inv.timer);
      inv.egress?.abort();
      const error = new PalisadeError(code, message, { expose: true, cause: new Error(why) });
      if (inv.state === 'running') inv.reject(error);
      else inv.stream?.fail(error);
    }
    worker.invocations.clear();
    worker.running.clear();
    worker.onFirstOutcome?.(new PalisadeError('PAL_RUNTIME_UNAVAILABLE', `worker for segment \`${worker.segment}\` stopped during start: ${why}`));
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // Work waiting for this segment may fit on a sibling now.
    drainSegment(worker.segment);
  };

  const fault = (worker: Worker, child: ChildProcess, why: string): void => {
    if (worker.child !== child || worker.state === 'gone') return;
    events.onWorkerFault?.({ segment: worker.segment, pid: child.pid ?? 0, why });
    gone(worker, child, `protocol fault: ${why}`, 'PAL_RUNTIME_WORKER_FAULT');
  };

  const spawn = (worker: Worker): void => {
    worker.state = 'starting';
    if (starting >= maxStarting) {
      spawnQueue.push(worker);
      return;
    }
    starting++;
    let counted = true;
    const uncount = () => {
      if (!counted) return;
      counted = false;
      starting--;
      const next = spawnQueue.shift();
      if (next !== undefined && !closing) spawn(next);
    };
    const netns = options.networkIsolation?.on === true ? options.networkIsolation : undefined;
    // Under `unshare --net` the executable is unshare, which execs node in place (same pid, same
    // inherited IPC fd): fork runs `<execPath> <execArgv…> <script>`.
    const child = fork(script, [], {
      ...(netns === undefined ? {} : { execPath: netns.unshare }),
      execArgv: netns === undefined ? workerExecArgv() : ['--net', '--', process.execPath, ...workerExecArgv()],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: {},
    });
    worker.child = child;
    worker.send = createBatchedSender(frameWriter(worker, child));
    worker.startedAt = Date.now();
    child.once('exit', uncount);
    child.once('message', uncount);
    // Keep the tail of stderr: a V8 abort explains itself there ("heap out of memory").
    let stderrTail = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4096);
    });
    child.stderr?.on('error', () => undefined);
    child.on('error', (error) => {
      gone(worker, child, `process error: ${error.message}`);
      // A process that never started (fork failed) emits no 'exit': restart from here instead.
      if (child.pid === undefined) {
        uncount();
        if (worker.child === child) scheduleRestart(worker);
      }
    });
    child.on('disconnect', () => gone(worker, child, 'channel closed'));
    child.on('message', (raw: unknown) => {
      // INVARIANT: nothing a worker sends is read before the schema accepted it (every message
      // of a batch, before any of them is acted on).
      const messages = parseWorkerFrame(raw);
      if (messages === undefined) return fault(worker, child, 'malformed message');
      for (const message of messages) {
        if (worker.child !== child || worker.state === 'gone') return;
        onMessage(worker, child, message);
      }
    });
    child.on('exit', (code, signal) => {
      const inFlight = worker.invocations.size;
      gone(worker, child, `exited (code ${String(code)}, signal ${String(signal)})`);
      // During close() the pool ends its workers itself: that is no crash to report.
      if (!closing) events.onWorkerExit?.({ segment: worker.segment, pid: child.pid ?? 0, code, signal, inFlight, lastError: summariseStderr(stderrTail) });
      if (worker.child === child) scheduleRestart(worker);
    });
    const fns = functionsBySegment.get(worker.segment) ?? [];
    post(worker, { t: 'load', prelude: options.prelude, functions: fns });
    // A worker that never answers its load (hung, or its message lost) must not hold the segment
    // forever: past the deadline it is a failed load like any other (backoff, then the breaker).
    const loadMs = options.startTimeoutMs ?? 120_000;
    const loadDeadline = setTimeout(() => {
      if (worker.child !== child || worker.state !== 'starting') return;
      worker.loadFailures++;
      worker.lastLoadFailure = { fn: fns[0]?.name ?? worker.segment, message: `the worker did not finish loading within ${loadMs} ms` };
      gone(worker, child, `no answer to load within ${loadMs} ms`);
    }, loadMs);
    loadDeadline.unref();
    child.once('exit', () => clearTimeout(loadDeadline));
  };

  /** The one place a worker is restarted, with backoff; repeated load failures open the breaker. */
  const scheduleRestart = (worker: Worker): void => {
    if (closing) return;
    worker.state = 'idle';
    let delay: number;
    if (worker.lastLoadFailure !== undefined) {
      delay = Math.min(MAX_BACKOFF_MS, 200 * 2 ** (worker.loadFailures - 1));
      if (worker.loadFailures >= BREAKER_FAILURES) {
        events.onLoadFailing?.({ segment: worker.segment, fn: worker.lastLoadFailure.fn, message: worker.lastLoadFailure.message, failures: worker.loadFailures, retryInMs: delay });
      }
    } else {
      // Back off when a worker keeps dying; reset once it stayed up for a while.
      if (Date.now() - worker.startedAt > 10_000) worker.crashes = 0;
      delay = Math.min(5000, 50 * 2 ** worker.crashes);
      worker.crashes++;
    }
    setTimeout(() => {
      if (!closing && worker.state === 'idle') spawn(worker);
    }, delay).unref();
  };

  const breakerOpen = (segment: string): boolean => (workers.get(segment) ?? []).every((w) => w.state !== 'ready' && w.loadFailures >= BREAKER_FAILURES);

  const onMessage = (worker: Worker, child: ChildProcess, message: WorkerToGateway): void => {
    switch (message.t) {
      case 'ready': {
        if (worker.state !== 'starting') return fault(worker, child, 'unexpected ready');
        const expected = new Set((functionsBySegment.get(worker.segment) ?? []).map((f) => f.name));
        if (Object.keys(message.coldStartMs).some((k) => !expected.has(k))) return fault(worker, child, 'ready names unknown functions');
        worker.state = 'ready';
        worker.loadFailures = 0;
        worker.lastLoadFailure = undefined;
        events.onWorkerReady?.({ segment: worker.segment, pid: child.pid ?? 0, coldStartMs: message.coldStartMs });
        worker.onFirstOutcome?.();
        drainSegment(worker.segment);
        return;
      }
      case 'load-failed': {
        if (worker.state !== 'starting') return fault(worker, child, 'unexpected load-failed');
        worker.loadFailures++;
        worker.lastLoadFailure = { fn: message.fn, message: message.message };
        worker.onFirstOutcome?.(new PalisadeError('PAL_RUNTIME_BUILD_FAILED', `function \`${message.fn}\` failed to load: ${message.message.toLowerCase()}`, { expose: true }));
        // Killed here; restarted (with backoff) by the 'exit' handler only.
        gone(worker, child, `function \`${message.fn}\` failed to load`);
        return;
      }
      case 'log': {
        const inv = worker.invocations.get(message.id);
        if (inv === undefined) {
          // A line that raced its own result is dropped; an id never sent to this worker is a lie.
          if (message.id > worker.maxId) fault(worker, child, 'log for an unknown invocation');
          return;
        }
        const redactor = redactors.get(inv.fn);
        events.onFunctionLog?.({ fn: inv.fn, requestId: inv.requestId, level: message.level, message: redactor === undefined ? message.message : redactor.redactText(message.message) });
        return;
      }
      case 'result': {
        const inv = worker.invocations.get(message.id);
        if (inv === undefined || inv.state !== 'running') return fault(worker, child, 'result for an unknown invocation');
        clearTimeout(inv.timer);
        worker.running.set(inv.fn, (worker.running.get(inv.fn) ?? 1) - 1);
        inv.calls.clear();
        inv.egress?.abort();
        const redactor = redactors.get(inv.fn);
        if (!message.ok) {
          worker.invocations.delete(inv.id);
          const detail = redactor === undefined ? message.detail : redactor.redactText(message.detail);
          inv.reject(new PalisadeError(FAILURE_CODES[message.failure], CLIENT_MESSAGES[message.failure], { cause: new Error(detail), expose: true }));
        } else if (message.body.byteLength > message.size || message.size > inv.spec.limits.maxResponseBytes || (message.body.byteLength < message.size && message.body.byteLength === 0)) {
          worker.invocations.delete(inv.id);
          inv.reject(new PalisadeError('PAL_RUNTIME_WORKER_FAULT', 'the function worker misbehaved and was restarted', { expose: true }));
          fault(worker, child, 'result size inconsistent');
        } else {
          // Copied out of the channel's read buffer (see 'chunk').
          const first = copyBytes(message.body);
          const headers = redactor === undefined ? message.headers : redactor.redactHeaders(message.headers);
          const base = { status: message.status, headers, cpuMs: message.cpuMs, ...(message.coldStartMs === undefined ? {} : { coldStartMs: message.coldStartMs }) };
          if (first.byteLength === message.size) {
            worker.invocations.delete(inv.id);
            inv.resolve({ ...base, body: redactor === undefined ? first : redactor.redactBytes(first) });
          } else {
            inv.state = 'streaming';
            inv.stream = new PulledBody(
              first,
              message.size,
              () => post(worker, { t: 'pull', id: inv.id }),
              (cancelled) => {
                worker.invocations.delete(inv.id);
                if (cancelled) post(worker, { t: 'cancel', id: inv.id });
              },
              () => fault(worker, child, 'no answer to a body pull'),
            );
            inv.resolve({ ...base, body: redactor?.active === true ? new RedactedBody(inv.stream, redactor) : inv.stream });
          }
        }
        drain(inv.fn);
        return;
      }
      case 'chunk': {
        const inv = worker.invocations.get(message.id);
        // Copied out: the chunk is a view into the channel's read buffer, which may hold many
        // messages; a slow reader would otherwise pin all of them.
        if (inv?.stream === undefined || !inv.stream.deliver(message.data)) return fault(worker, child, 'unexpected body chunk');
        return;
      }
      case 'call': {
        const inv = worker.invocations.get(message.id);
        if (inv === undefined || inv.state !== 'running' || inv.calls.has(message.callId)) return fault(worker, child, 'binding call for an unknown invocation');
        // The sandbox stops at the same bound: more is a worker that lies (and would flood the audit chain).
        if (++inv.attempts > MAX_CALLS_PER_INVOCATION) return fault(worker, child, 'more binding calls and outbound requests than one invocation may make');
        inv.calls.add(message.callId);
        void handleCall(worker, inv, message.callId, message.binding, message.payload);
        return;
      }
      case 'secret': {
        const inv = worker.invocations.get(message.id);
        if (inv === undefined || inv.state !== 'running' || inv.calls.has(message.callId)) return fault(worker, child, 'secret read for an unknown invocation');
        inv.calls.add(message.callId);
        void handleSecret(worker, inv, message.callId, message.name);
        return;
      }
      case 'secret-reads': {
        const inv = worker.invocations.get(message.id);
        if (inv === undefined || inv.state !== 'running') return fault(worker, child, 'cached secret reads for an unknown invocation');
        // Only reads of entries this worker was given for this very function count; anything else is a lie.
        const grants: Array<readonly string[]> = [];
        for (const [name, version] of message.reads) {
          const policyIds = worker.cacheGrants.get(`${inv.fn}\0${name}\0${version}`);
          if (policyIds === undefined) return fault(worker, child, 'cached secret read never granted');
          grants.push(policyIds);
        }
        message.reads.forEach(([name, version, count], i) => {
          void Promise.resolve(events.onSecretRead?.({ fn: inv.fn, requestId: inv.requestId, secret: name, version, allowed: true, reason: 'allowed', policyIds: grants[i] ?? [], cached: true, count, chain: inv.chain })).catch(() => undefined);
        });
        return;
      }
      case 'egress': {
        const inv = worker.invocations.get(message.id);
        if (inv === undefined || inv.state !== 'running' || inv.calls.has(message.callId)) return fault(worker, child, 'outbound request for an unknown invocation');
        // A function without any grant reaches the handler too: it refuses and records the attempt.
        if (++inv.attempts > MAX_CALLS_PER_INVOCATION) return fault(worker, child, 'more binding calls and outbound requests than one invocation may make');
        inv.calls.add(message.callId);
        void handleEgress(worker, inv, message.callId, message.payload);
        return;
      }
      case 'kv': {
        const inv = worker.invocations.get(message.id);
        if (inv === undefined || inv.state !== 'running' || inv.calls.has(message.callId)) return fault(worker, child, 'kv operation for an unknown invocation');
        // The worker refuses KV to functions without the grant before anything is sent.
        if (inv.spec.kv !== true) return fault(worker, child, 'kv operation of a function without the grant');
        inv.calls.add(message.callId);
        const { t: _t, id: _id, callId, ...op } = message;
        void handleKv(worker, inv, callId, op as KvOperation);
        return;
      }
    }
  };

  const handleCall = async (worker: Worker, inv: Invocation, callId: number, binding: string, payload: BindingCallPayload): Promise<void> => {
    // Identity comes from the gateway's own table, never from the worker's message.
    const caller: CallerIdentity = { fn: inv.fn, segment: inv.spec.segment, requestId: inv.requestId, principal: inv.principal, chain: inv.chain, deadline: inv.deadline, bindings: inv.spec.bindings };
    const answer = await runBindingCall({ caller, binding, payload, invoke: (fn, req, opts) => invoke(fn, req, opts, { worker, callId }), now: () => Date.now(), ...(options.authorizeCall === undefined ? {} : { authorize: options.authorizeCall }), events });
    // Cancelled: the invocation ended (or its worker went) while the call was in flight.
    if (!inv.calls.delete(callId) || worker.invocations.get(inv.id) !== inv) return;
    post(worker, answer.ok ? { t: 'call-result', callId, ok: true, res: answer.res } : { t: 'call-result', callId, ok: false, code: answer.code, message: answer.message });
  };

  const handleSecret = async (worker: Worker, inv: Invocation, callId: number, name: string): Promise<void> => {
    const answer = await runSecretRead({
      fn: inv.fn,
      granted: inv.spec.secrets ?? [],
      requestId: inv.requestId,
      principal: inv.principal,
      chain: inv.chain,
      name,
      resolver: options.secrets,
      authorize: options.authorizeSecret,
      now: () => Date.now(),
      generation,
      record: (event) => events.onSecretRead?.(event),
      learn,
    });
    if (!inv.calls.delete(callId) || worker.invocations.get(inv.id) !== inv) return;
    if (!answer.ok) return post(worker, { t: 'secret-result', callId, ok: false, message: answer.message });
    if (answer.cache) worker.cacheGrants.set(`${inv.fn}\0${name}\0${answer.version}`, answer.policyIds);
    post(worker, { t: 'secret-result', callId, ok: true, value: answer.value, version: answer.version, cache: answer.cache });
  };

  const handleEgress = async (worker: Worker, inv: Invocation, callId: number, payload: BindingCallPayload): Promise<void> => {
    let answer: BindingCallAnswer;
    if (options.egress === undefined) answer = { ok: false, code: 'PAL_EGRESS_NOT_GRANTED', message: 'outbound requests are not available on this node' };
    else {
      if (inv.egress === undefined) {
        inv.egress = new AbortController();
        // One listener per outbound request in flight, and there may be as many as the budget.
        setMaxListeners(MAX_CALLS_PER_INVOCATION + 1, inv.egress.signal);
      }
      // Identity comes from the gateway's own table, never from the worker's message.
      const caller: EgressCaller = { fn: inv.fn, requestId: inv.requestId, principal: inv.principal, chain: inv.chain, deadline: inv.deadline };
      try {
        answer = await options.egress(caller, payload, inv.egress.signal);
      } catch {
        answer = { ok: false, code: 'PAL_INTERNAL', message: 'the outbound request failed' };
      }
    }
    if (!inv.calls.delete(callId) || worker.invocations.get(inv.id) !== inv) return;
    post(worker, answer.ok ? { t: 'call-result', callId, ok: true, res: answer.res } : { t: 'call-result', callId, ok: false, code: answer.code, message: answer.message });
  };

  const handleKv = async (worker: Worker, inv: Invocation, callId: number, op: KvOperation): Promise<void> => {
    let answer: KvAnswer;
    if (options.kv === undefined) answer = { ok: false, message: 'kv is not available on this node' };
    else {
      try {
        const space = options.kv.namespace(inv.fn);
        switch (op.op) {
          case 'get':
            answer = { ok: true, value: await space.get(op.key) };
            break;
          case 'put':
            await space.put(op.key, op.value);
            answer = { ok: true };
            break;
          case 'delete':
            await space.delete(op.key);
            answer = { ok: true };
            break;
          case 'list': {
            const page = await space.list({ prefix: op.prefix, limit: op.limit, ...(op.cursor === null ? {} : { cursor: op.cursor }) });
            answer = { ok: true, keys: page.keys.slice(0, op.limit), cursor: page.cursor ?? null };
            break;
          }
        }
      } catch (error) {
        // Sanitised: the store's detail stays in the gateway; the code names the condition.
        const code = isPalisadeError(error) ? error.code : 'PAL_INTERNAL';
        answer = { ok: false, message: `kv ${op.op} failed (${code})` };
      }
    }
    if (!inv.calls.delete(callId) || worker.invocations.get(inv.id) !== inv) return;
    post(worker, { t: 'kv-result', callId, ...answer });
  };

  /** Functions with a pending re-check for overflow (see {@link pick}). */
  const overflowChecks = new Set<string>();

  /**
   * The worker for the next request of `fn`: the first ready worker of the segment (its primary)
   * while it has a free isolate; a later one only when every worker before it is not ready or
   * stalled on `fn` (all its isolates busy for {@link OVERFLOW_AFTER_MS}). Concentrating fast
   * traffic on one process keeps its JIT and caches warm and lets one channel write carry several
   * requests; spreading it over two workers cost about twice the CPU per request. When the answer
   * is "wait" only because the primary is not stalled yet, the queue is looked at again once it
   * could be.
   */
  const pick = (segment: string, fn: string, concurrency: number): Worker | undefined => {
    const now = Date.now();
    let waitedOnBusy = false;
    for (const w of workers.get(segment) ?? []) {
      if (w.state !== 'ready') continue;
      if ((w.running.get(fn) ?? 0) < concurrency) {
        if (!waitedOnBusy) return w;
        // A free isolate behind a busy worker that is not stalled yet: check again soon.
        if (!overflowChecks.has(fn)) {
          overflowChecks.add(fn);
          setTimeout(() => {
            overflowChecks.delete(fn);
            drain(fn);
          }, OVERFLOW_AFTER_MS + 1).unref();
        }
        return undefined;
      }
      if (!w.stalled(fn, now)) waitedOnBusy = true;
    }
    return undefined;
  };

  const dispatch = (worker: Worker, job: Job): void => {
    const id = nextId++;
    worker.maxId = id;
    const { spec } = job;
    const timer = setTimeout(() => {
      // Last resort: the worker did not answer its own deadline (its main thread is wedged).
      const child = worker.child;
      if (child !== undefined) gone(worker, child, `invocation of \`${job.fn}\` overran its deadline by ${BACKSTOP_GRACE_MS} ms`, 'PAL_RUNTIME_TIMEOUT');
    }, spec.limits.timeoutMs + BACKSTOP_GRACE_MS);
    timer.unref();
    const inv: Invocation = {
      id,
      fn: job.fn,
      spec,
      requestId: job.req.requestId,
      principal: job.req.principal ?? null,
      chain: job.chain,
      worker,
      deadline: Date.now() + spec.limits.timeoutMs,
      sentAt: Date.now(),
      state: 'running',
      resolve: job.resolve,
      reject: job.reject,
      timer,
      calls: new Set(),
      attempts: 0,
    };
    worker.invocations.set(id, inv);
    worker.running.set(job.fn, (worker.running.get(job.fn) ?? 0) + 1);
    // Same-worker path: the caller waits in this very process, and the target's answer needs no
    // redaction (no secrets), so the worker may hand it over itself. The call was decided and
    // recorded here already; the worker could read both isolates' traffic anyway.
    const answerTo = job.via !== undefined && job.via.worker === worker && !redactors.has(job.fn) ? job.via.callId : undefined;
    post(worker, answerTo === undefined ? { t: 'invoke', id, fn: job.fn, req: job.req } : { t: 'invoke', id, fn: job.fn, req: job.req, answerTo });
  };

  const tryDispatch = (job: Job): boolean => {
    const w = pick(job.spec.segment, job.fn, job.spec.limits.concurrency);
    if (w === undefined) return false;
    dispatch(w, job);
    return true;
  };

  const drain = (fn: string): void => {
    const q = queues.get(fn);
    while (q !== undefined && q.length > 0) {
      const job = q[0] as Job;
      if (!tryDispatch(job)) return;
      q.shift();
      clearTimeout(job.timer);
    }
  };

  const drainSegment = (segment: string): void => {
    for (const f of functionsBySegment.get(segment) ?? []) drain(f.name);
  };

  const invoke = (fn: string, req: InvokeRequest, opts: InvokeOptions = {}, via?: Job['via']): Promise<FunctionResult> => {
    const spec = specs.get(fn);
    if (spec === undefined) return Promise.reject(new PalisadeError('PAL_INTERNAL', `unknown function \`${fn}\``));
    if (closing) return Promise.reject(new PalisadeError('PAL_RUNTIME_UNAVAILABLE', 'the runtime is shutting down', { expose: true }));
    return new Promise<FunctionResult>((resolve, reject) => {
      const job: Job = { fn, spec, req, chain: opts.chain ?? [], resolve, reject, ...(via === undefined ? {} : { via }) };
      const q = queues.get(fn) ?? [];
      // FIFO: a new request never overtakes one already waiting.
      if (q.length === 0 && tryDispatch(job)) return;
      if (breakerOpen(spec.segment)) {
        reject(new RuntimeRetryLater('PAL_RUNTIME_LOAD_FAILING', 'the function is unavailable', Math.ceil(MAX_BACKOFF_MS / 1000)));
        return;
      }
      if (q.length >= spec.limits.queue) {
        reject(new RuntimeRetryLater('PAL_RUNTIME_BUSY', 'the function is busy; retry later', 1));
        return;
      }
      // Waiting is bounded, and does not count toward the invocation's own deadline.
      job.timer = setTimeout(() => {
        const i = q.indexOf(job);
        if (i >= 0) q.splice(i, 1);
        reject(new RuntimeRetryLater('PAL_RUNTIME_BUSY', 'the function is busy; retry later', 1));
      }, queueWaitMs(spec.limits.timeoutMs));
      job.timer.unref();
      q.push(job);
      queues.set(fn, q);
    });
  };

  return {
    async start() {
      // Redaction knows every granted value before the first request (reads refresh it later).
      await Promise.all([...grantedBy.keys()].map((name) => refreshRedaction(name)));
      const all = [...workers.values()].flat();
      const timeout = options.startTimeoutMs ?? 120_000;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.all(
            all.map(
              (w) =>
                new Promise<void>((resolve, reject) => {
                  w.onFirstOutcome = (error) => {
                    w.onFirstOutcome = undefined;
                    if (error === undefined) resolve();
                    else reject(error);
                  };
                  spawn(w);
                }),
            ),
          ),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new PalisadeError('PAL_RUNTIME_UNAVAILABLE', `workers did not load within ${timeout} ms`)), timeout);
          }),
        ]);
      } catch (error) {
        await this.close();
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },

    invoke: (fn, req, opts) => invoke(fn, req, opts),

    secretsPolicyChanged() {
      policyGeneration++;
      broadcast({ t: 'secrets-policy-changed' });
    },

    pids() {
      const out: Record<string, number[]> = {};
      for (const [segment, list] of workers) out[segment] = list.filter((w) => w.state === 'ready' && w.child?.pid !== undefined).map((w) => w.child?.pid ?? 0);
      return out;
    },

    allPids() {
      return [...workers.values()].flat().flatMap((w) => (w.child?.pid !== undefined && w.child.exitCode === null && w.child.signalCode === null ? [w.child.pid] : []));
    },

    async close() {
      closing = true;
      unsubscribe?.();
      for (const [fn, q] of queues) {
        for (const job of q.splice(0)) {
          clearTimeout(job.timer);
          job.reject(new PalisadeError('PAL_RUNTIME_UNAVAILABLE', 'the runtime is shutting down', { expose: true }));
        }
        queues.delete(fn);
      }
      const exits: Array<Promise<void>> = [];
      for (const w of [...workers.values()].flat()) {
        const child = w.child;
        if (child === undefined || child.exitCode !== null || child.signalCode !== null) continue;
        exits.push(
          new Promise<void>((resolve) => {
            const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            if (child.connected) child.disconnect();
            else child.kill('SIGKILL');
          }),
        );
      }
      await Promise.all(exits);
    },
  };
}

function summariseStderr(tail: string): string {
  const lines = tail.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return (lines.find((l) => /FATAL|out of memory|Error/i.test(l)) ?? lines.at(-1) ?? '').slice(0, 300);
}

/** A copy in memory of its own (`Buffer#slice` would be a view). */
function copyBytes(view: Uint8Array): Uint8Array {
  const out = new Uint8Array(view.byteLength);
  out.set(view);
  return out;
}
