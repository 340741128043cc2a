import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PalisadeError, type ErrorCode } from '../kernel/index.js';
import type { FunctionSpec, SegmentSpec } from '../manifest/index.js';
import { isolatedVmLocation, packageRoot, permissionFlag } from './package-paths.js';
import type { GatewayToWorker, InvokeFailure, InvokeRequest, InvokeResponse, WorkerFunction, WorkerToGateway } from './protocol.js';

/** A function's console line, tagged with its function and request id. */
export interface FunctionLogLine {
  readonly fn: string;
  readonly requestId: string;
  readonly level: string;
  readonly message: string;
}

/** Events the pool reports to its owner (for logs and, later, audit and detection). */
export interface WorkerPoolEvents {
  onFunctionLog?(line: FunctionLogLine): void;
  onWorkerExit?(info: { segment: string; pid: number; code: number | null; signal: string | null; inFlight: number; lastError: string }): void;
  onWorkerReady?(info: { segment: string; pid: number; coldStartMs: Readonly<Record<string, number>> }): void;
}

/** What the pool needs to run a segment's functions. */
export interface WorkerPoolOptions {
  readonly prelude: string;
  readonly segments: readonly SegmentSpec[];
  readonly functions: readonly FunctionSpec[];
  /** Bundled code by function name. */
  readonly bundles: ReadonlyMap<string, string>;
  readonly events?: WorkerPoolEvents;
  /** How long `start()` waits for every worker to load. */
  readonly startTimeoutMs?: number;
}

/** The result of a successful invocation. */
export interface FunctionResult extends InvokeResponse {
  readonly cpuMs: number;
  readonly coldStartMs?: number;
}

/** Runs functions in supervised worker processes. */
export interface WorkerPool {
  /** Spawns every worker and resolves once all loaded their functions (or rejects with why not). */
  start(): Promise<void>;
  /** Invokes a function; throws a {@link PalisadeError} with a `PAL_RUNTIME_*` code on failure. */
  invoke(fn: string, req: InvokeRequest): Promise<FunctionResult>;
  /** Live worker pids by segment; for tests and operators. */
  pids(): Readonly<Record<string, readonly number[]>>;
  /** Stops every worker. */
  close(): Promise<void>;
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
/** Extra time the gateway grants beyond a function's own timeout before it kills the worker. */
const HARD_DEADLINE_GRACE_MS = 1000;
const READY_WAIT_MS = 2000;

/**
 * Node flags for a worker: the permission model as a second layer under the isolates. No file
 * writes, no child processes, no worker threads; reads only of palisade's own code.
 */
export function workerExecArgv(): string[] {
  // isolated-vm wherever npm put it (hoisted or nested), resolved like Node's own resolver does.
  const reads = [join(packageRoot, 'dist', '*'), ...isolatedVmLocation().readPaths, join(packageRoot, 'package.json')];
  // One flag per path: Node 20 reads only the first entry of a comma-separated list.
  return [permissionFlag(), '--allow-addons', ...reads.map((r) => `--allow-fs-read=${r}`), '--no-node-snapshot', '--disable-warning=ExperimentalWarning', '--disable-warning=SecurityWarning'];
}

interface Pending {
  readonly resolve: (r: FunctionResult) => void;
  readonly reject: (e: PalisadeError) => void;
  readonly timer: NodeJS.Timeout;
  readonly fn: string;
}

class Worker {
  child: ChildProcess | undefined;
  ready = false;
  readonly pending = new Map<number, Pending>();
  restarts = 0;
  startedAt = 0;
  constructor(readonly segment: string) {}
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
  const functionsBySegment = new Map<string, WorkerFunction[]>();
  const segmentOf = new Map<string, FunctionSpec>();
  for (const fn of options.functions) {
    const code = options.bundles.get(fn.name);
    if (code === undefined) throw new PalisadeError('PAL_INTERNAL', `no bundle for function \`${fn.name}\``);
    const list = functionsBySegment.get(fn.segment) ?? [];
    list.push({ name: fn.name, code, limits: fn.limits, bindingsJson: JSON.stringify(bindingsEnv(fn)) });
    functionsBySegment.set(fn.segment, list);
    segmentOf.set(fn.name, fn);
  }
  const workers = new Map<string, Worker[]>();
  for (const seg of options.segments) {
    if (!functionsBySegment.has(seg.name)) continue;
    workers.set(seg.name, Array.from({ length: seg.workers }, () => new Worker(seg.name)));
  }
  let nextId = 1;
  let closing = false;
  const readyWaiters = new Set<() => void>();

  const spawn = (worker: Worker): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = fork(WORKER_SCRIPT, [], {
        execArgv: workerExecArgv(),
        serialization: 'advanced',
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        env: {},
      });
      worker.child = child;
      worker.ready = false;
      worker.startedAt = Date.now();
      let settled = false;
      // Keep the tail of stderr: a V8 abort explains itself there ("heap out of memory").
      let stderrTail = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4096);
      });
      child.on('message', (message: WorkerToGateway) => {
        switch (message.t) {
          case 'ready':
            worker.ready = true;
            events.onWorkerReady?.({ segment: worker.segment, pid: child.pid ?? 0, coldStartMs: message.coldStartMs });
            for (const w of readyWaiters) w();
            settled = true;
            resolve();
            break;
          case 'load-failed':
            settled = true;
            reject(new PalisadeError('PAL_RUNTIME_BUILD_FAILED', `function \`${message.fn}\` failed to load: ${message.message.toLowerCase()}`, { expose: true }));
            child.kill('SIGKILL');
            break;
          case 'log':
            events.onFunctionLog?.({ fn: message.fn, requestId: message.requestId, level: message.level, message: message.message });
            break;
          case 'result': {
            const p = worker.pending.get(message.id);
            if (p === undefined) return;
            worker.pending.delete(message.id);
            clearTimeout(p.timer);
            if (message.ok) {
              p.resolve({ ...message.res, cpuMs: message.cpuMs, ...(message.coldStartMs === undefined ? {} : { coldStartMs: message.coldStartMs }) });
            } else {
              p.reject(new PalisadeError(FAILURE_CODES[message.failure], CLIENT_MESSAGES[message.failure], { cause: new Error(message.detail), expose: true }));
            }
            break;
          }
        }
      });
      child.on('exit', (code, signal) => {
        worker.ready = false;
        const inFlight = worker.pending.size;
        for (const [id, p] of worker.pending) {
          clearTimeout(p.timer);
          worker.pending.delete(id);
          p.reject(new PalisadeError('PAL_RUNTIME_WORKER_CRASHED', 'the function worker stopped while handling the request', { expose: true }));
        }
        events.onWorkerExit?.({ segment: worker.segment, pid: child.pid ?? 0, code, signal, inFlight, lastError: summariseStderr(stderrTail) });
        if (!settled) {
          settled = true;
          reject(new PalisadeError('PAL_RUNTIME_UNAVAILABLE', `worker for segment \`${worker.segment}\` exited during start (code ${String(code)})`));
          return;
        }
        if (!closing) scheduleRestart(worker);
      });
      const fns = functionsBySegment.get(worker.segment) ?? [];
      const load: GatewayToWorker = { t: 'load', prelude: options.prelude, functions: fns };
      child.send(load);
    });

  const scheduleRestart = (worker: Worker): void => {
    // Back off when a worker keeps dying; reset once it stayed up for a while.
    if (Date.now() - worker.startedAt > 10_000) worker.restarts = 0;
    const delay = Math.min(5000, 50 * 2 ** worker.restarts);
    worker.restarts++;
    setTimeout(() => {
      if (!closing) spawn(worker).catch(() => scheduleRestart(worker));
    }, delay).unref();
  };

  const pick = (segment: string): Worker | undefined => {
    let best: Worker | undefined;
    for (const w of workers.get(segment) ?? []) {
      if (!w.ready) continue;
      if (best === undefined || w.pending.size < best.pending.size) best = w;
    }
    return best;
  };

  const waitForReady = (segment: string, ms: number): Promise<Worker | undefined> =>
    new Promise((resolve) => {
      const check = () => {
        const w = pick(segment);
        if (w !== undefined) {
          done(w);
        }
      };
      const done = (w: Worker | undefined) => {
        clearTimeout(timer);
        readyWaiters.delete(check);
        resolve(w);
      };
      const timer = setTimeout(() => done(undefined), ms);
      readyWaiters.add(check);
    });

  return {
    async start() {
      const all = [...workers.values()].flat();
      const timeout = options.startTimeoutMs ?? 30_000;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.all(all.map((w) => spawn(w))),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new PalisadeError('PAL_RUNTIME_UNAVAILABLE', `workers did not start within ${timeout} ms`)), timeout);
          }),
        ]);
      } catch (error) {
        await this.close();
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },

    async invoke(fn, req) {
      const spec = segmentOf.get(fn);
      if (spec === undefined) throw new PalisadeError('PAL_INTERNAL', `unknown function \`${fn}\``);
      if (closing) throw new PalisadeError('PAL_RUNTIME_UNAVAILABLE', 'the runtime is shutting down', { expose: true });
      const worker = pick(spec.segment) ?? (await waitForReady(spec.segment, READY_WAIT_MS));
      const child = worker?.child;
      if (worker === undefined || child === undefined) throw new PalisadeError('PAL_RUNTIME_UNAVAILABLE', 'the function worker is not ready', { expose: true });
      const id = nextId++;
      return new Promise<FunctionResult>((resolve, reject) => {
        // Backstop: a worker wedged in native code does not answer its own deadline.
        const timer = setTimeout(() => {
          worker.pending.delete(id);
          reject(new PalisadeError('PAL_RUNTIME_TIMEOUT', CLIENT_MESSAGES.timeout, { expose: true }));
          child.kill('SIGKILL');
        }, spec.limits.timeoutMs + HARD_DEADLINE_GRACE_MS);
        worker.pending.set(id, { resolve, reject, timer, fn });
        const message: GatewayToWorker = { t: 'invoke', id, fn, req };
        child.send(message);
      });
    },

    pids() {
      const out: Record<string, number[]> = {};
      for (const [segment, list] of workers) out[segment] = list.filter((w) => w.ready && w.child?.pid !== undefined).map((w) => w.child?.pid ?? 0);
      return out;
    },

    async close() {
      closing = true;
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

function bindingsEnv(fn: FunctionSpec): Record<string, unknown> {
  const env: Record<string, unknown> = {};
  for (const [name, binding] of Object.entries(fn.bindings)) env[name] = binding.value;
  return env;
}
