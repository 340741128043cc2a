/**
 * Scheduled secret rotation, in the shape of AWS Secrets Manager's rotation functions: the
 * platform drives four steps through a function the operator names, and the new value becomes
 * current only when that function's own test of it passes.
 *
 *   create  the function answers `{ "value": "…" }`: a new value, staged as `pending`
 *   set     the function configures the downstream system (a database user, an API) to accept it
 *   test    the function proves the pending value works (logs in with it, calls the API)
 *   finish  the platform promotes `pending` to `current`; the old `current` becomes `previous`
 *
 * Any failure (a non-2xx answer, a thrown error, a malformed `create` answer, a time-out)
 * discards the pending version, leaves `current` in place and reports the failure: a rotation can
 * never leave a secret without a working current value.
 */
import { PalisadeError } from '../kernel/index.js';

/** The steps a rotation function is asked to run. `finish` is the platform's own. */
export const rotationSteps = ['create', 'set', 'test', 'finish'] as const;
/** One rotation step. */
export type RotationStep = (typeof rotationSteps)[number];

/** Closed vocabulary of rotation outcomes. */
export type RotationReason =
  | 'rotated'
  | 'step-failed'
  | 'bad-create-response'
  | 'function-error'
  | 'stage-failed'
  | 'promote-failed'
  | 'already-running';

/** What the orchestrator needs: the function runner and the vault's staging operations. */
export interface RotationPorts {
  /**
   * Runs the rotation function once with a JSON body; resolves with its status and body.
   * Rejects when the function could not run (crashed, limit, time-out).
   */
  invokeRotationFunction(fn: string, body: RotationRequestBody): Promise<{ readonly status: number; readonly body: Uint8Array }>;
  /** Stores `value` as the secret's `pending` version (replacing an older pending one). */
  stagePending(name: string, value: Uint8Array): Promise<{ readonly version: number }>;
  /** Makes `pending` the `current` version; the former current becomes `previous`. */
  promotePending(name: string): Promise<{ readonly version: number }>;
  /** Drops the pending version, if any. */
  discardPending(name: string): Promise<void>;
}

/** The JSON body a rotation function receives. `pending` is present for `set` and `test`. */
export interface RotationRequestBody {
  readonly step: Exclude<RotationStep, 'finish'>;
  readonly secret: string;
  readonly version?: number;
  readonly pending?: string;
}

/** The result of one rotation, for the audit record and the operator; never holds a value. */
export interface RotationOutcome {
  readonly secret: string;
  readonly function: string;
  readonly ok: boolean;
  readonly reason: RotationReason;
  /** The step that failed, or `finish` when the rotation completed. */
  readonly step: RotationStep;
  /** The version promoted (ok) or discarded (failed after staging). */
  readonly version?: number;
  /** Operator detail: the failing status or error code; never a value. */
  readonly detail?: string;
}

/** Largest new value a `create` step may return, in bytes of UTF-8. */
export const MAX_ROTATED_VALUE_BYTES = 64 * 1024;

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * Reads a `create` answer: exactly `{ "value": "<non-empty string>" }`. Anything else is refused,
 * so a function that echoes a request or returns an error page never becomes a secret.
 */
export function parseCreateResponse(body: Uint8Array): string | undefined {
  if (body.byteLength === 0 || body.byteLength > MAX_ROTATED_VALUE_BYTES + 64) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(body));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const keys = Object.keys(parsed);
  if (keys.length !== 1 || keys[0] !== 'value') return undefined;
  const value = (parsed as { value: unknown }).value;
  if (typeof value !== 'string' || value.length === 0 || encoder.encode(value).byteLength > MAX_ROTATED_VALUE_BYTES) return undefined;
  return value;
}

const running = new Set<string>();

/**
 * Runs one rotation of `secret` through `fn`. Never rejects: every failure is an outcome.
 * Two rotations of the same secret never overlap in one process (the second reports
 * `already-running`); across processes the caller claims the rotation atomically first.
 *
 * @example
 * ```ts
 * const outcome = await runRotation('db-url', 'rotate-db', ports);
 * if (!outcome.ok) alert(outcome);
 * ```
 */
export async function runRotation(secret: string, fn: string, ports: RotationPorts): Promise<RotationOutcome> {
  if (running.has(secret)) return { secret, function: fn, ok: false, reason: 'already-running', step: 'create' };
  running.add(secret);
  try {
    return await rotate(secret, fn, ports);
  } finally {
    running.delete(secret);
  }
}

async function rotate(secret: string, fn: string, ports: RotationPorts): Promise<RotationOutcome> {
  const base = { secret, function: fn } as const;
  let created: { status: number; body: Uint8Array };
  try {
    created = await ports.invokeRotationFunction(fn, { step: 'create', secret });
  } catch (error) {
    return { ...base, ok: false, reason: 'function-error', step: 'create', detail: describe(error) };
  }
  if (created.status < 200 || created.status > 299) return { ...base, ok: false, reason: 'step-failed', step: 'create', detail: `status ${created.status}` };
  const value = parseCreateResponse(created.body);
  if (value === undefined) return { ...base, ok: false, reason: 'bad-create-response', step: 'create', detail: 'the answer must be exactly {"value": "<non-empty string>"}' };

  let version: number;
  try {
    version = (await ports.stagePending(secret, encoder.encode(value))).version;
  } catch (error) {
    return { ...base, ok: false, reason: 'stage-failed', step: 'create', detail: describe(error) };
  }

  const fail = async (step: RotationStep, reason: RotationReason, detail: string): Promise<RotationOutcome> => {
    // INVARIANT: a failed rotation leaves `current` as it was; the pending value is dropped.
    try {
      await ports.discardPending(secret);
    } catch (error) {
      detail = `${detail}; discarding the pending version failed too: ${describe(error)}`;
    }
    return { ...base, ok: false, reason, step, version, detail };
  };

  for (const step of ['set', 'test'] as const) {
    let answer: { status: number };
    try {
      answer = await ports.invokeRotationFunction(fn, { step, secret, version, pending: value });
    } catch (error) {
      return fail(step, 'function-error', describe(error));
    }
    if (answer.status < 200 || answer.status > 299) return fail(step, 'step-failed', `status ${answer.status}`);
  }

  try {
    const promoted = await ports.promotePending(secret);
    return { ...base, ok: true, reason: 'rotated', step: 'finish', version: promoted.version };
  } catch (error) {
    return fail('finish', 'promote-failed', describe(error));
  }
}

function describe(error: unknown): string {
  if (error instanceof PalisadeError) return error.code;
  return error instanceof Error ? error.name : 'unknown error';
}
