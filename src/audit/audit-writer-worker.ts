import { parentPort, workerData } from 'node:worker_threads';
import type { AuditEvent } from '../kernel/index.js';
import { ChainWriter, type ChainWriterOptions } from './chain-writer.js';

/** Messages from the gateway's thread to the writer. */
export type WriterRequest =
  | { readonly type: 'append'; readonly id: number; readonly events: readonly AuditEvent[] }
  | { readonly type: 'rotate'; readonly id: number }
  | { readonly type: 'close'; readonly id: number };

/** Answers from the writer. */
export type WriterReply =
  | { readonly type: 'ready'; readonly instance: string; readonly size: number }
  | { readonly type: 'open-failed'; readonly code: string; readonly message: string }
  | { readonly type: 'done'; readonly id: number; readonly lastSeq: number; readonly batchMs: number; readonly warnings: readonly string[]; readonly result?: unknown }
  | { readonly type: 'failed'; readonly id: number; readonly code: string; readonly message: string };

// The chain writer's home: the SQLite inserts and each commit's fsync run here, off the
// gateway's event loop. One writer per chain; the gateway's thread batches appends into it.
const port = parentPort;
if (port !== null) {
  const options = { ...(workerData as Omit<ChainWriterOptions, 'now'>), now: Date.now };
  let writer: ChainWriter | undefined;
  try {
    writer = new ChainWriter(options);
    port.postMessage({ type: 'ready', instance: writer.instance, size: writer.size } satisfies WriterReply);
  } catch (error) {
    port.postMessage({ type: 'open-failed', code: codeOf(error), message: messageOf(error) } satisfies WriterReply);
  }
  if (writer !== undefined) {
    const w = writer;
    const timer = setInterval(() => {
      try {
        w.checkpointIfDue();
      } catch {
        // The next append or tick retries; an unwritable log already refuses appends.
      }
    }, Math.max(100, Math.min(1000, options.checkpointEverySec * 500)));
    port.on('message', (msg: WriterRequest) => {
      const started = performance.now();
      try {
        if (msg.type === 'append') {
          const { lastSeq } = w.append(msg.events);
          port.postMessage({ type: 'done', id: msg.id, lastSeq, batchMs: performance.now() - started, warnings: w.takeWarnings() } satisfies WriterReply);
        } else if (msg.type === 'rotate') {
          const result = w.rotateKey();
          port.postMessage({ type: 'done', id: msg.id, lastSeq: w.size, batchMs: performance.now() - started, warnings: w.takeWarnings(), result } satisfies WriterReply);
        } else {
          clearInterval(timer);
          w.close();
          port.postMessage({ type: 'done', id: msg.id, lastSeq: w.size, batchMs: performance.now() - started, warnings: w.takeWarnings() } satisfies WriterReply);
          port.close();
        }
      } catch (error) {
        port.postMessage({ type: 'failed', id: msg.id, code: codeOf(error), message: messageOf(error) } satisfies WriterReply);
      }
    });
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('PAL_') ? code : 'PAL_AUDIT_UNAVAILABLE';
}

function messageOf(error: unknown): string {
  const base = error instanceof Error ? error.message : 'unknown';
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${base}${cause}`.slice(0, 500);
}
