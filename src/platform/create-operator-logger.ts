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
export function createOperatorLogger(level: 'debug' | 'info' | 'warn' | 'error' | 'silent' = 'info', fd = 2): Logger {
  const base = pino({ level, base: null, timestamp: stdTimeFunctions.isoTime }, destination({ fd, sync: false }));
  const filter = (fields: LogRecord | undefined): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    if (fields === undefined) return out;
    for (const [k, v] of Object.entries(fields)) if (ALLOWED.has(k)) out[k] = v;
    return out;
  };
  return {
    debug: (msg, fields) => base.debug(filter(fields), msg),
    info: (msg, fields) => base.info(filter(fields), msg),
    warn: (msg, fields) => base.warn(filter(fields), msg),
    error: (msg, fields) => base.error(filter(fields), msg),
  };
}
