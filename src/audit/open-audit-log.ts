import { Worker } from 'node:worker_threads';
import { PalisadeError, isPalisadeError, type AuditEvent, type AuditSink, type ErrorCode, type Logger } from '../kernel/index.js';
import type { WriterReply, WriterRequest } from './audit-writer-worker.js';
import type { ChainWriterOptions } from './chain-writer.js';

/** Options of {@link openAuditLog}. */
export interface AuditLogOptions {
  /** The `.palisade/` directory. */
  readonly stateDir: string;
  /**
   * `sync` (default): `append` resolves once the event is committed with `synchronous=FULL`.
   * `async`: `append` resolves at once and the event is written later; weaker (a crash loses
   * queued events), reported by `palisade scan`.
   */
  readonly mode: 'sync' | 'async';
  readonly checkpointEvery: number;
  readonly checkpointEverySec: number;
  readonly witnessPath?: string;
  readonly logger: Logger;
  /** Events waiting for a commit beyond which `append` refuses (503). Default 50,000. */
  readonly maxQueue?: number;
}

/** The audit chain as the gateway sees it. */
export interface AuditLog extends AuditSink {
  readonly mode: 'sync' | 'async';
  readonly instance: string;
  /** Batches committed and their slowest commit (ms), for operators and benchmarks. */
  stats(): { readonly batches: number; readonly events: number; readonly maxBatchMs: number; readonly failures: number };
  /** Retires the signing key and starts a new one (see `docs/audit.md`). */
  rotateKey(): Promise<{ readonly retired: string; readonly active: string }>;
  /** Writes what is queued, signs the tail and stops the writer. */
  close(): Promise<void>;
}

interface Pending {
  readonly event: AuditEvent;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

const MAX_BATCH = 4096;
const noop = (): void => undefined;

function unavailable(message: string, code: ErrorCode = 'PAL_AUDIT_UNAVAILABLE'): PalisadeError {
  return new PalisadeError(code, message);
}

/**
 * Opens the audit chain at `stateDir/audit.db` with its writer in a worker thread and returns
 * an {@link AuditSink}. Appends that arrive while a commit is in flight are grouped into the
 * next transaction (group commit): one fsync covers many events, and the gateway's event loop
 * never waits on the disk.
 *
 * Fail closed: in `sync` mode an append whose commit fails rejects with `PAL_AUDIT_UNAVAILABLE`
 * (the gateway answers 503); the next append tries again, so service resumes by itself once
 * the log is writable.
 *
 * @example
 * ```ts
 * const audit = await openAuditLog({ stateDir: '.palisade', mode: 'sync', checkpointEvery: 1000, checkpointEverySec: 60, logger });
 * await audit.append(event); // durable when this resolves
 * ```
 */
export async function openAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  const maxQueue = options.maxQueue ?? 50_000;
  const data: Omit<ChainWriterOptions, 'now'> = {
    stateDir: options.stateDir,
    mode: options.mode,
    checkpointEvery: options.checkpointEvery,
    checkpointEverySec: options.checkpointEverySec,
    ...(options.witnessPath === undefined ? {} : { witnessPath: options.witnessPath }),
  };
  const worker = new Worker(new URL('./audit-writer-worker.js', import.meta.url), { workerData: data });
  const ready = await new Promise<Extract<WriterReply, { type: 'ready' }>>((resolve, reject) => {
    const fail = (error: Error): void => reject(isPalisadeError(error) ? error : new PalisadeError('PAL_AUDIT_UNAVAILABLE', `the audit writer did not start: ${error.message}`, { expose: true }));
    worker.once('error', fail);
    worker.once('message', (msg: WriterReply) => {
      worker.off('error', fail);
      if (msg.type === 'ready') resolve(msg);
      else if (msg.type === 'open-failed') reject(new PalisadeError(msg.code.startsWith('PAL_AUDIT_') ? (msg.code as ErrorCode) : 'PAL_AUDIT_UNAVAILABLE', msg.message, { expose: true }));
      else reject(unavailable('the audit writer answered out of turn'));
    });
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });

  let queue: Pending[] = [];
  let inFlight: Pending[] | undefined;
  let nextId = 1;
  let closed = false;
  let dead: Error | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let failing = false;
  const counters = { batches: 0, events: 0, maxBatchMs: 0, failures: 0 };
  const control = new Map<number, { resolve: (r: WriterReply) => void }>();

  const failAll = (items: readonly Pending[], error: Error): void => {
    for (const p of items) p.reject(error);
  };

  const stopped = (why: string): void => {
    if (dead !== undefined) return;
    // The writer thread is gone: nothing more can be recorded, so every append is refused.
    dead = unavailable(`the audit writer stopped: ${why.slice(0, 200)}`);
    options.logger.error('audit writer stopped; refusing requests', { code: 'PAL_AUDIT_UNAVAILABLE', reason: why.slice(0, 300) });
    if (inFlight !== undefined) failAll(inFlight, dead);
    failAll(queue, dead);
    inFlight = undefined;
    queue = [];
    for (const c of control.values()) c.resolve({ type: 'failed', id: 0, code: 'PAL_AUDIT_UNAVAILABLE', message: why });
    control.clear();
  };
  worker.on('error', (error) => stopped(error.message));
  worker.on('exit', (code) => {
    if (!closed) stopped(`exited with code ${code}`);
  });

  const flush = (): void => {
    if (inFlight !== undefined || queue.length === 0 || dead !== undefined || retryTimer !== undefined) return;
    inFlight = queue.length <= MAX_BATCH ? queue : queue.slice(0, MAX_BATCH);
    queue = queue.length <= MAX_BATCH ? [] : queue.slice(MAX_BATCH);
    worker.postMessage({ type: 'append', id: 0, events: inFlight.map((p) => p.event) } satisfies WriterRequest);
  };

  worker.on('message', (msg: WriterReply) => {
    if (msg.type !== 'done' && msg.type !== 'failed') return;
    if (msg.id !== 0) {
      control.get(msg.id)?.resolve(msg);
      control.delete(msg.id);
      return;
    }
    const batch = inFlight ?? [];
    inFlight = undefined;
    if (msg.type === 'done') {
      if (failing) options.logger.info('audit log writable again', { code: 'PAL_AUDIT_UNAVAILABLE' });
      failing = false;
      counters.batches++;
      counters.events += batch.length;
      counters.maxBatchMs = Math.max(counters.maxBatchMs, msg.batchMs);
      for (const w of msg.warnings) options.logger.warn(w, { code: 'PAL_AUDIT_UNAVAILABLE' });
      for (const p of batch) p.resolve();
    } else {
      counters.failures++;
      if (!failing) options.logger.error('audit log cannot record; refusing requests until it can', { code: 'PAL_AUDIT_UNAVAILABLE', reason: msg.message });
      failing = true;
      if (options.mode === 'sync') {
        failAll(batch, unavailable('audit unavailable'));
      } else {
        // Async mode keeps the events queued in memory and retries; the queue bound still holds.
        queue = [...batch, ...queue];
        retryTimer = setTimeout(() => {
          retryTimer = undefined;
          flush();
        }, 500);
        retryTimer.unref();
        return;
      }
    }
    flush();
  });

  const call = (type: 'rotate' | 'close'): Promise<WriterReply> =>
    new Promise((resolve) => {
      const id = nextId++;
      control.set(id, { resolve });
      worker.postMessage({ type, id } satisfies WriterRequest);
    });

  const waitIdle = async (): Promise<void> => {
    while ((inFlight !== undefined || queue.length > 0) && dead === undefined) {
      if (retryTimer !== undefined) break;
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  return {
    mode: options.mode,
    instance: ready.instance,
    append(event) {
      if (closed) return Promise.reject(unavailable('audit log closed'));
      if (dead !== undefined) return Promise.reject(dead);
      if (queue.length >= maxQueue) return Promise.reject(unavailable('audit queue full'));
      if (options.mode === 'async') {
        queue.push({ event, resolve: noop, reject: noop });
        flush();
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        queue.push({ event, resolve, reject });
        flush();
      });
    },
    stats: () => ({ ...counters }),
    async rotateKey() {
      await waitIdle();
      const r = await call('rotate');
      if (r.type !== 'done') throw unavailable(r.type === 'failed' ? r.message : 'rotation failed');
      return r.result as { retired: string; active: string };
    },
    async close() {
      if (closed) return;
      closed = true;
      await waitIdle();
      clearTimeout(retryTimer);
      if (queue.length > 0) {
        options.logger.error('audit events still queued at shutdown were lost', { code: 'PAL_AUDIT_UNAVAILABLE', count: queue.length });
        failAll(queue, unavailable('audit log closed'));
      }
      if (dead === undefined) {
        const r = await call('close');
        if (r.type === 'failed') options.logger.error('audit log did not close cleanly', { code: 'PAL_AUDIT_UNAVAILABLE', reason: r.message });
      }
      await worker.terminate();
    },
  };
}
