import { DiagnosticsError, formatDiagnostic, isPalisadeError, type ErrorCode } from '../kernel/index.js';

/** Exit codes: tool failure, deny or failed verification, invalid input. */
export const exitCodes = { ok: 0, failure: 1, denied: 2, invalidInput: 3 } as const;

/** Where a command writes; injected so commands can be tested without a terminal. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** The process's own stdout and stderr. */
export const processIo: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** A parsed command line for one command. */
export interface CommandContext {
  readonly args: readonly string[];
  readonly flags: Readonly<Record<string, string | boolean | undefined>>;
  /** Values of options declared `multiple`. */
  readonly multi: Readonly<Record<string, readonly string[] | undefined>>;
  readonly io: CliIo;
  readonly debug: boolean;
  readonly json: boolean;
}

/** One CLI command. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly help: string;
  readonly options: Readonly<Record<string, { readonly type: 'string' | 'boolean'; readonly multiple?: boolean; readonly short?: string; readonly description: string }>>;
  run(ctx: CommandContext): Promise<number>;
}

const INVALID_INPUT_PREFIXES = ['PAL_MANIFEST_', 'PAL_POLICY_SYNTAX', 'PAL_POLICY_INVALID', 'PAL_POLICY_DUPLICATE_ID', 'PAL_POLICY_FILE_NOT_FOUND', 'PAL_POLICY_TEST_INVALID', 'PAL_CLI_', 'PAL_AUDIT_KEYS_INVALID', 'PAL_RUNTIME_BUILD_FAILED', 'PAL_PROJECT_EXISTS', 'PAL_IDENTITY_KEY_NOT_FOUND', 'PAL_IDENTITY_USER_NOT_FOUND', 'PAL_IDENTITY_INVALID_ACCOUNT', 'PAL_SECRETS_INVALID_NAME', 'PAL_SECRETS_NOT_FOUND', 'PAL_SECRETS_INVALID_STATE', 'PAL_SECRETS_VALUE_INVALID', 'PAL_SECRETS_KV_TOO_LARGE'];

const DENIED: readonly ErrorCode[] = ['PAL_IDENTITY_LOGIN_FAILED', 'PAL_IDENTITY_THROTTLED', 'PAL_AUDIT_CHAIN_BROKEN', 'PAL_SECRETS_DECRYPT_FAILED', 'PAL_SECRETS_KEY_MISMATCH'];

/** Maps an error to the exit code the CLI contract promises. */
export function exitCodeFor(code: ErrorCode): number {
  if (DENIED.includes(code)) return exitCodes.denied;
  return INVALID_INPUT_PREFIXES.some((p) => code.startsWith(p)) ? exitCodes.invalidInput : exitCodes.failure;
}

/**
 * Prints an error as `CODE: message` (and each diagnostic with location and hint); the stack
 * only with `--debug`. Returns the exit code.
 */
export function reportError(error: unknown, io: CliIo, debug: boolean, json: boolean): number {
  if (json) {
    const payload = error instanceof DiagnosticsError
      ? { ok: false, code: error.code, errors: error.diagnostics }
      : isPalisadeError(error) ? { ok: false, code: error.code, message: error.message } : { ok: false, code: 'PAL_INTERNAL', message: 'unexpected error' };
    io.out(JSON.stringify(payload, null, 2));
  } else if (error instanceof DiagnosticsError) {
    for (const d of error.diagnostics) io.err(formatDiagnostic(d));
    io.err(`${error.diagnostics.length} problem${error.diagnostics.length === 1 ? '' : 's'} found`);
  } else if (isPalisadeError(error)) {
    io.err(`error ${error.code}: ${error.message}`);
  } else {
    io.err('error PAL_INTERNAL: unexpected error (run with --debug for details)');
  }
  if (debug && error instanceof Error) io.err(error.stack ?? String(error));
  if (debug && error instanceof Error && error.cause instanceof Error) io.err(`cause: ${error.cause.stack ?? error.cause.message}`);
  return isPalisadeError(error) ? exitCodeFor(error.code) : exitCodes.failure;
}
