import type { LogRecord } from './log-fields.js';

/** The operator log port. Fields come from the closed vocabulary in `log-fields.ts`. */
export interface Logger {
  debug(msg: string, fields?: LogRecord): void;
  info(msg: string, fields?: LogRecord): void;
  warn(msg: string, fields?: LogRecord): void;
  error(msg: string, fields?: LogRecord): void;
}

/** A logger that drops everything; for tests and benchmarks. */
export const silentLogger: Logger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });
