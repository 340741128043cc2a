import type { ErrorCode } from './error-codes.js';
import { PalisadeError } from './palisade-error.js';

/** Where a diagnostic points: a file and, when known, a 1-based line and column. */
export interface SourceLocation {
  readonly file: string;
  readonly line?: number;
  readonly col?: number;
}

/**
 * One problem found by a validator. Validators collect these; boundaries throw.
 *
 * `path` is the dotted data path (`functions.orders.limits.cpuMs`), `message` is one lowercase
 * line with user input in backticks, `hint` says how to fix it.
 */
export interface Diagnostic {
  readonly code: ErrorCode;
  readonly severity: 'error' | 'warning';
  readonly path: string;
  readonly message: string;
  readonly hint?: string;
  readonly location?: SourceLocation;
}

/** The result of a validator: never throws, always lists everything it found. */
export interface ValidationResult<T> {
  readonly ok: boolean;
  readonly value?: T;
  readonly errors: readonly Diagnostic[];
  readonly warnings: readonly Diagnostic[];
}

/** Thrown by an `assertValid` at a boundary; carries every diagnostic. */
export class DiagnosticsError extends PalisadeError {
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[]) {
    const first = diagnostics[0];
    const code: ErrorCode = first?.code ?? 'PAL_INTERNAL';
    const summary =
      diagnostics.length === 1 && first !== undefined
        ? first.message
        : `${diagnostics.length} problems found`;
    super(code, summary, { expose: true });
    this.name = 'DiagnosticsError';
    this.diagnostics = diagnostics;
  }
}

/**
 * Formats a diagnostic as one line: `file:line:col  yaml.path  CODE: message`, then the hint.
 *
 * @example
 * ```ts
 * formatDiagnostic(d); // "palisade.yaml:7:5  functions.orders.segmnt  PAL_MANIFEST_UNKNOWN_KEY: ..."
 * ```
 */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  const loc = diagnostic.location;
  const where =
    loc === undefined
      ? ''
      : loc.line === undefined
        ? loc.file
        : `${loc.file}:${loc.line}:${loc.col ?? 1}`;
  const head = [where, diagnostic.path === '' ? '(root)' : diagnostic.path, `${diagnostic.code}: ${diagnostic.message}`]
    .filter((part) => part !== '')
    .join('  ');
  const label = diagnostic.severity === 'warning' ? 'warning ' : '';
  return diagnostic.hint === undefined ? `${label}${head}` : `${label}${head}\n    hint: ${diagnostic.hint}`;
}
