import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Options of {@link createPasswordVerifierPool}. */
export interface PasswordVerifierPoolOptions {
  /** Worker threads, each verifying one hash at a time: the bound on concurrent verifications. */
  readonly threads?: number;
  /** Verifications allowed to wait for a thread; beyond this a verification is refused at once. */
  readonly maxQueued?: number;
  /** A verification that takes longer than this counts as a mismatch and restarts its thread. */
  readonly timeoutMs?: number;
}

/** Outcome of one verification: `busy` when the queue was full and no hash was computed. */
export type PoolVerification = 'match' | 'mismatch' | 'busy';

/** argon2id verification off the event loop, with a bounded number of concurrent verifications. */
export interface PasswordVerifierPool {
  verify(password: string, hash: string): Promise<PoolVerification>;
  /** Verifications computed since start (matches and mismatches); for tests and operators. */
  readonly computed: number;
  close(): Promise<void>;
}

interface Job {
  readonly id: number;
  readonly password: string;
  readonly hash: string;
  readonly resolve: (v: PoolVerification) => void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Starts worker threads that verify argon2id hashes. Each thread handles one verification at a
 * time (argon2id with 19 MiB is CPU- and memory-bound), so `threads` bounds both; at most
 * `maxQueued` more wait. A thread that errs or hangs is replaced and its job answers mismatch:
 * a fault never turns into a successful login.
 *
 * @example
 * ```ts
 * const pool = createPasswordVerifierPool({ threads: 2 });
 * if ((await pool.verify(password, user.passwordHash)) === 'match') { ... }
 * ```
 */
export function createPasswordVerifierPool(options: PasswordVerifierPoolOptions = {}): PasswordVerifierPool {
  const threads = Math.max(1, options.threads ?? Math.min(2, Math.max(1, availableParallelism() - 1)));
  const maxQueued = options.maxQueued ?? 64;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const queue: Job[] = [];
  let nextId = 1;
  let computed = 0;
  let closed = false;

  const finish = (slot: Slot, outcome: PoolVerification) => {
    const job = slot.job;
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.job = undefined;
    slot.timer = undefined;
    slot.worker.unref();
    if (job !== undefined) {
      if (outcome !== 'busy') computed++;
      job.resolve(outcome);
    }
    pump();
  };

  const spawn = (slot?: Slot): Slot => {
    const worker = new Worker(new URL('./password-worker.js', import.meta.url));
    const s: Slot = slot ?? { worker, job: undefined, timer: undefined };
    s.worker = worker;
    worker.on('message', (message: unknown) => {
      // Decode the reply: anything but `{ id: <current job>, ok: true }` is a mismatch.
      const m = message as { id?: unknown; ok?: unknown } | null;
      if (s.job === undefined || m === null || typeof m !== 'object' || m.id !== s.job.id) return;
      finish(s, m.ok === true ? 'match' : 'mismatch');
    });
    const replace = () => {
      if (s.worker !== worker) return;
      finish(s, 'mismatch');
      if (!closed) spawn(s);
    };
    worker.on('error', replace);
    worker.on('exit', replace);
    // After the listeners: adding a 'message' listener refs the worker's port again. Idle
    // threads must not keep a process (a CLI command, a test) alive.
    worker.unref();
    return s;
  };

  const slots: Slot[] = Array.from({ length: threads }, () => spawn());

  const pump = () => {
    for (const slot of slots) {
      if (slot.job !== undefined) continue;
      const job = queue.shift();
      if (job === undefined) return;
      slot.job = job;
      // Referenced only while it works: a pending verification keeps the process alive, an idle thread does not.
      slot.worker.ref();
      slot.timer = setTimeout(() => {
        const stuck = slot.worker;
        finish(slot, 'mismatch');
        void stuck.terminate();
      }, timeoutMs);
      slot.timer.unref();
      slot.worker.postMessage({ id: job.id, password: job.password, hash: job.hash });
    }
  };

  return {
    verify(password, hash) {
      if (closed) return Promise.resolve('busy');
      const busy = slots.every((s) => s.job !== undefined);
      if (busy && queue.length >= maxQueued) return Promise.resolve('busy');
      return new Promise((resolve) => {
        queue.push({ id: nextId++, password, hash, resolve });
        pump();
      });
    },
    get computed() {
      return computed;
    },
    async close() {
      closed = true;
      for (const job of queue.splice(0)) job.resolve('busy');
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
