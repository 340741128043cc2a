/**
 * Batching of channel messages, used on both sides of the gateway ↔ worker channel.
 */
import { MAX_BATCH_MESSAGES, type Frame } from './protocol.js';

/**
 * Returns a `send` that queues messages and writes everything queued in one frame once per turn
 * of the event loop (`setImmediate`: after the I/O callbacks of this turn, so the requests one
 * read brought in travel together). Order is kept; frames hold at most
 * {@link MAX_BATCH_MESSAGES} messages.
 *
 * @example
 * ```ts
 * const send = createBatchedSender<WorkerToGateway>((frame) => process.send?.(frame));
 * send({ t: 'log', id: 1, level: 'info', message: 'hi' });
 * ```
 */
export function createBatchedSender<M>(write: (frame: Frame<M>) => void): (message: M) => void {
  let pending: M[] = [];
  const flush = (): void => {
    const out = pending;
    pending = [];
    for (let i = 0; i < out.length; i += MAX_BATCH_MESSAGES) {
      const part = out.length <= MAX_BATCH_MESSAGES ? out : out.slice(i, i + MAX_BATCH_MESSAGES);
      write(part.length === 1 ? (part[0] as M) : { t: 'batch', m: part });
    }
  };
  return (message: M): void => {
    pending.push(message);
    if (pending.length === 1) setImmediate(flush);
  };
}
