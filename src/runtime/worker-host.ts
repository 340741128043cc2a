/**
 * The body of a worker process (loaded by `worker-main.ts` once the parent-death guard is in
 * place): hosts the isolates of one segment and talks only over the IPC channel.
 *
 * INVARIANT: no isolate ever runs in the gateway process; a V8 abort here kills only this worker.
 */
import { compilePrelude, FunctionSandbox, SparePool, type BindingCallOutcome, type SandboxHost, type SecretOutcome } from './function-sandbox.js';
import { createBatchedSender } from './batched-sender.js';
import { BODY_CHUNK_BYTES, MAX_SECRET_READS_PER_REQUEST, type CachedSecretRead, type Frame, type GatewayToWorker, type KvAnswer, type WorkerToGateway } from './protocol.js';

const leave = (code: number): never => process.exit(code);
const vanish = (): void => {
  process.kill(process.pid, 'SIGKILL');
};
// Nothing here may throw into the void: an unexpected error ends the worker, which the gateway restarts.
process.on('uncaughtException', () => leave(70));
process.on('unhandledRejection', () => leave(70));

// Everything ready in one turn of the loop goes in one write (results of several isolates).
const send = createBatchedSender<WorkerToGateway>((frame) => {
  if (!process.connected) return;
  process.send?.(frame, undefined, undefined, (error) => {
    if (error) vanish();
  });
});

const sandboxes = new Map<string, FunctionSandbox>();
/** Unsent body tails of finished invocations, pulled chunk by chunk by the gateway. */
const bodies = new Map<number, { data: Uint8Array; offset: number; timer: NodeJS.Timeout }>();
/** Bodies the gateway never pulls are dropped after this long. */
const BODY_IDLE_MS = 60_000;
/** Binding calls awaiting the gateway's answer. */
const calls = new Map<number, { id: number; resolve: (o: BindingCallOutcome) => void }>();
let nextCall = 1;
/** Invocations running here, so that their binding calls can be cancelled when they end. */
const running = new Set<number>();
/** Secret reads and KV operations awaiting the gateway's answer (their ids share `nextCall`). */
const pending = new Map<number, { id: number; settle: (message: GatewayToWorker) => void; cancel: () => void }>();

/**
 * Secrets the gateway allowed this worker to keep, per function and name. Emptied (and the epoch
 * moved, which empties every isolate's own copy at its next request) when the gateway says a
 * secret changed or the policies were reloaded.
 */
const secretCache = new Map<string, Map<string, { value: string; version: number }>>();
let secretEpoch = 0;
/** Reads answered from a cache, per invocation: `name\0version` → count; reported before the result. */
const cachedReads = new Map<number, Map<string, number>>();

function countCachedRead(id: number, name: string, version: number, count = 1): void {
  let reads = cachedReads.get(id);
  if (reads === undefined) cachedReads.set(id, (reads = new Map()));
  const key = `${name}\0${version}`;
  reads.set(key, Math.min(MAX_SECRET_READS_PER_REQUEST, (reads.get(key) ?? 0) + count));
}

/** Sends the cached reads of invocation `id` (before its result, so the gateway still holds it). */
function reportCachedReads(id: number): void {
  const reads = cachedReads.get(id);
  cachedReads.delete(id);
  if (reads === undefined) return;
  const all: CachedSecretRead[] = [];
  for (const [key, count] of reads) {
    const cut = key.indexOf('\0');
    all.push([key.slice(0, cut), Number(key.slice(cut + 1)), count]);
  }
  for (let i = 0; i < all.length; i += 64) send({ t: 'secret-reads', id, reads: all.slice(i, i + 64) });
}

function readSecret(id: number, fn: string, name: string): Promise<SecretOutcome> {
  if (!running.has(id)) return Promise.resolve({ ok: false, message: 'the request ended' });
  const hit = secretCache.get(fn)?.get(name);
  if (hit !== undefined) {
    countCachedRead(id, name, hit.version);
    return Promise.resolve({ ok: true, value: hit.value, version: hit.version, cache: true, epoch: secretEpoch });
  }
  return new Promise<SecretOutcome>((resolve) => {
    const callId = nextCall++;
    const epochAtSend = secretEpoch;
    pending.set(callId, {
      id,
      settle: (message) => {
        if (message.t !== 'secret-result') return resolve({ ok: false, message: 'secret read failed' });
        if (!message.ok) return resolve({ ok: false, message: message.message });
        // A change or policy reload while the read was in flight: use the value once, keep nothing.
        const cache = message.cache && epochAtSend === secretEpoch;
        if (cache) {
          let forFn = secretCache.get(fn);
          if (forFn === undefined) secretCache.set(fn, (forFn = new Map()));
          forFn.set(name, { value: message.value, version: message.version });
        }
        resolve({ ok: true, value: message.value, version: message.version, cache, epoch: secretEpoch });
      },
      cancel: () => resolve({ ok: false, message: 'the request ended' }),
    });
    send({ t: 'secret', id, callId, name });
  });
}

const host: SandboxHost = {
  log: (id, level, message) => send({ t: 'log', id, level, message }),
  call: (id, binding, payload) =>
    new Promise<BindingCallOutcome>((resolve) => {
      if (!running.has(id)) return resolve({ ok: false, message: 'the request ended' });
      const callId = nextCall++;
      calls.set(callId, { id, resolve });
      send({ t: 'call', id, callId, binding, op: 'fetch', payload });
    }),
  egress: (id, payload) =>
    new Promise<BindingCallOutcome>((resolve) => {
      if (!running.has(id)) return resolve({ ok: false, message: 'the request ended' });
      const callId = nextCall++;
      calls.set(callId, { id, resolve });
      send({ t: 'egress', id, callId, payload });
    }),
  secret: readSecret,
  secretEpoch: () => secretEpoch,
  kv: (id, op) =>
    new Promise<KvAnswer>((resolve) => {
      if (!running.has(id)) return resolve({ ok: false, message: 'the request ended' });
      const callId = nextCall++;
      pending.set(callId, {
        id,
        settle: (message) => {
          if (message.t !== 'kv-result') return resolve({ ok: false, message: 'kv operation failed' });
          const { t: _t, callId: _c, ...answer } = message;
          resolve(answer);
        },
        cancel: () => resolve({ ok: false, message: 'the request ended' }),
      });
      send({ t: 'kv', id, callId, ...op });
    }),
  stuck: () => {
    // An isolate that does not stop when disposed; the result was answered already. Leave so
    // that the gateway restarts a clean worker (its siblings keep serving meanwhile).
    setTimeout(vanish, 100);
  },
};

let spares: SparePool | undefined;

/** What a worker itself (Node, the prelude, buffers) may use on top of its isolates' heaps. */
const WORKER_BASE_RSS_BYTES = 256 * 1024 * 1024;
/** How often the worker's resident memory is checked against its ceiling. */
const RSS_CHECK_MS = 100;

/**
 * Threat: a function that outgrows its heap limit. V8's limit is enforced by the isolate, but
 * isolated-vm 7 (Node 24) lets a heap run far past it inside one long builtin (a 1e9-element
 * `Array.prototype.fill`), and memory outside the heaps (log buffers, copies) is not counted
 * there at all. So the worker watches its own resident set from the main thread, which stays
 * free while isolates run, and leaves at once when it passes its ceiling: the base plus every
 * function's `memoryMb` times its `concurrency`. The gateway answers 503 and restarts it.
 */
function guardWorkerMemory(functions: Extract<GatewayToWorker, { t: 'load' }>['functions']): void {
  let ceiling = WORKER_BASE_RSS_BYTES;
  // Each function's isolates, plus the bodies a worker may hold for readers (finished responses
  // of up to maxResponseBytes, pulled as clients read: one per running or queued request).
  for (const fn of functions) {
    const concurrency = fn.limits.concurrency ?? 1;
    ceiling += (fn.limits.memoryMb * 1024 * 1024 + fn.limits.maxResponseBytes) * concurrency + fn.limits.maxResponseBytes * (fn.limits.queue ?? 0);
  }
  setInterval(() => {
    if (process.memoryUsage.rss() > ceiling) vanish();
  }, RSS_CHECK_MS).unref();
}

async function load(message: Extract<GatewayToWorker, { t: 'load' }>): Promise<void> {
  guardWorkerMemory(message.functions);
  const prelude = await compilePrelude(message.prelude);
  spares = new SparePool(prelude);
  const coldStartMs: Record<string, number> = {};
  for (const fn of message.functions) {
    const sandbox = new FunctionSandbox(fn, spares, host);
    try {
      coldStartMs[fn.name] = await sandbox.warm();
    } catch (error) {
      send({ t: 'load-failed', fn: fn.name, message: (error instanceof Error ? error.message : String(error)).slice(0, 2000) });
      return;
    }
    sandboxes.set(fn.name, sandbox);
  }
  send({ t: 'ready', coldStartMs });
}

async function invoke(message: Extract<GatewayToWorker, { t: 'invoke' }>): Promise<void> {
  const { id } = message;
  const sandbox = sandboxes.get(message.fn);
  if (sandbox === undefined) {
    send({ t: 'result', id, ok: false, failure: 'unknown-function', detail: `no function \`${message.fn}\` in this worker`, cpuMs: 0 });
    return;
  }
  running.add(id);
  const result = await sandbox.invoke(id, message.req);
  running.delete(id);
  // Binding calls still pending when the invocation ends are cancelled.
  for (const [callId, c] of calls) {
    if (c.id !== id) continue;
    calls.delete(callId);
    c.resolve({ ok: false, message: 'the request ended' });
  }
  for (const [callId, p] of pending) {
    if (p.id !== id) continue;
    pending.delete(callId);
    p.cancel();
  }
  // Reads the isolate answered from its own copy (returned with the result), then the worker's.
  for (const [name, version, count] of result.secretReads ?? []) countCachedRead(id, name, version, count);
  reportCachedReads(id);
  if (!result.ok) {
    send({ t: 'result', id, ok: false, failure: result.failure, detail: result.detail, cpuMs: result.cpuMs });
    return;
  }
  const body = result.res.body;
  const first = body.byteLength <= BODY_CHUNK_BYTES ? body : body.subarray(0, BODY_CHUNK_BYTES);
  // The target of a binding call made in this worker: its caller gets the answer now, not after
  // two more trips through the gateway (which decided and recorded the call before sending this).
  if (message.answerTo !== undefined && first.byteLength === body.byteLength) {
    const c = calls.get(message.answerTo);
    if (c !== undefined) {
      calls.delete(message.answerTo);
      c.resolve({ ok: true, res: { status: result.res.status, headers: result.res.headers, body } });
    }
  }
  if (first.byteLength < body.byteLength) {
    bodies.set(id, { data: body, offset: first.byteLength, timer: setTimeout(() => bodies.delete(id), BODY_IDLE_MS).unref() });
  }
  send({
    t: 'result',
    id,
    ok: true,
    status: result.res.status,
    headers: result.res.headers,
    size: body.byteLength,
    body: first,
    cpuMs: result.cpuMs,
    ...(result.coldStartMs === undefined ? {} : { coldStartMs: result.coldStartMs }),
  });
}

function pull(id: number): void {
  const b = bodies.get(id);
  if (b === undefined) return;
  const end = Math.min(b.data.byteLength, b.offset + BODY_CHUNK_BYTES);
  const data = b.data.subarray(b.offset, end);
  b.offset = end;
  if (end >= b.data.byteLength) {
    clearTimeout(b.timer);
    bodies.delete(id);
  } else {
    b.timer.refresh();
  }
  send({ t: 'chunk', id, data });
}

process.on('message', (frame: Frame<GatewayToWorker>) => {
  if (frame.t === 'batch') for (const message of frame.m) receive(message);
  else receive(frame);
});

function receive(message: GatewayToWorker): void {
  switch (message.t) {
    case 'load':
      void load(message);
      break;
    case 'invoke':
      void invoke(message);
      break;
    case 'pull':
      pull(message.id);
      break;
    case 'cancel': {
      const b = bodies.get(message.id);
      if (b !== undefined) clearTimeout(b.timer);
      bodies.delete(message.id);
      break;
    }
    case 'call-result': {
      const c = calls.get(message.callId);
      if (c === undefined) break;
      calls.delete(message.callId);
      c.resolve(message.ok ? { ok: true, res: message.res } : { ok: false, message: message.message });
      break;
    }
    case 'secret-result':
    case 'kv-result': {
      const p = pending.get(message.callId);
      if (p === undefined) break;
      pending.delete(message.callId);
      p.settle(message);
      break;
    }
    case 'secret-changed':
      for (const forFn of secretCache.values()) forFn.delete(message.name);
      secretEpoch++;
      break;
    case 'secrets-policy-changed':
      secretCache.clear();
      secretEpoch++;
      break;
  }
}
