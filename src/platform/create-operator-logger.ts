import { pino, destination, stdTimeFunctions } from 'pino';
import type { LogRecord, Logger } from '../kernel/index.js';
import { logFields } from '../kernel/index.js';

const ALLOWED = new Set<string>(logFields);

/**
 * The operator log: JSON lines (pino) on stderr. Only fields from the closed vocabulary pass;
 * anything else is dropped before it reaches the sink.
 *
 * @example
 * ```ts
 * const logger = createOperatorLogger('info');
 * logger.info('listening', { address: 'https://127.0.0.1:8443' });
 * ```
 */
export function createOperatorLogger(level: 'debug' | 'info' | 'warn' | 'error' | 'silent' = 'info', fd = 2): Logger & { flush(): Promise<void> } {
  // Buffered: one write per 4 KiB instead of one per line (a syscall per request was a quarter
  // of the gateway's CPU). `flush()` writes the buffer synchronously (at shutdown).
  const sink = destination({ fd, sync: false, minLength: 4096 });
  const flushQuietly = () => {
    try {
      sink.flush();
    } catch {
      // the destination is not open yet; the periodic flush catches up
    }
  };
  // Lines reach the sink within 100 ms even when traffic is light.
  setInterval(flushQuietly, 100).unref();
  const base = pino({ level, base: null, timestamp: stdTimeFunctions.isoTime }, sink);
  const filter = (fields: LogRecord | undefined): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    if (fields === undefined) return out;
    for (const [k, v] of Object.entries(fields)) if (ALLOWED.has(k)) out[k] = v;
    return out;
  };
  return {
    debug: (msg, fields) => base.debug(filter(fields), msg),
    info: (msg, fields) => base.info(filter(fields), msg),
    // Warnings and errors are written at once: they may precede a crash.
    warn: (msg, fields) => {
      base.warn(filter(fields), msg);
      flushQuietly();
    },
    error: (msg, fields) => {
      base.error(filter(fields), msg);
      flushQuietly();
    },
    // Not flushSync: it retries a failed write forever, so a closed pipe (`palisade up | tee`, whose
    // tee the same Ctrl-C ended) hung the shutdown. An asynchronous flush, bounded in time.
    flush: () =>
      new Promise<void>((resolve) => {
        setTimeout(resolve, 1000).unref();
        try {
          sink.flush(() => resolve());
        } catch {
          resolve();
        }
      }),
  };
}
