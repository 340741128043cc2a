import type { ServerResponse } from 'node:http';
import type { FunctionBodyStream } from './ports.js';

/** A connection that accepts no bytes for this long while a body is being sent is closed. */
export const DEFAULT_SEND_TIMEOUT_MS = 10_000;

/**
 * Writes a streamed function body to the client with backpressure: the next chunk is pulled from
 * the worker only once the socket took the previous one, so a slow reader holds at most a chunk
 * or two in the gateway. A client that reads nothing for `sendTimeoutMs` is disconnected and the
 * worker told to drop the rest. Never throws, never rejects.
 *
 * The status line and headers (with `content-length` when the length is known) must have been
 * written already.
 *
 * @example
 * ```ts
 * res.writeHead(200, { 'content-length': String(body.byteLength) });
 * await sendStreamedBody(res, body);
 * ```
 */
export async function sendStreamedBody(res: ServerResponse, body: FunctionBodyStream, sendTimeoutMs = DEFAULT_SEND_TIMEOUT_MS): Promise<void> {
  // Threat: slow-read exhaustion (a client that opens many responses and never reads them).
  let closed = false;
  const onClose = () => {
    closed = true;
  };
  res.once('close', onClose);
  res.on('error', () => undefined);
  try {
    for await (const chunk of body) {
      if (closed || res.destroyed) break;
      if (!res.write(chunk)) {
        const drained = await waitForDrain(res, sendTimeoutMs);
        if (!drained) break;
      }
    }
    if (!closed && !res.destroyed) {
      res.end();
      return;
    }
  } catch {
    // The worker failed mid-body: the length promised cannot be met; cut the connection so the
    // client sees a truncated response rather than a wrong one.
  } finally {
    res.off('close', onClose);
  }
  body.cancel();
  res.destroy();
}

function waitForDrain(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const timer = setTimeout(() => done(false), ms);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
