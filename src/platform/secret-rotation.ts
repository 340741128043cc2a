import { PalisadeError, createRequestId, type AuditEvent, type AuditSink, type Clock, type Logger } from '../kernel/index.js';
import type { Manifest } from '../manifest/index.js';
import { readWholeBody, type WorkerPool } from '../runtime/index.js';
import { ROTATION_LEASE_MS, runRotation, startRotationScheduler, type OpenedVault, type RotationOutcome, type RotationPorts, type RotationSchedule, type RotationScheduler } from '../secrets/index.js';
import type { VaultStore } from '../store/index.js';
import type { RotationReport } from './admin-endpoints.js';

/** The path a rotation function is invoked at (never routed: the platform calls it directly). */
export const ROTATION_PATH = '/_palisade/rotation';
/** Largest answer of a rotation function that is read (a `create` value is at most 64 KiB). */
const MAX_ROTATION_ANSWER_BYTES = 128 * 1024;
const TICK_MAX_MS = 60_000;
const TICK_MIN_MS = 1_000;

/** What {@link startSecretRotation} wires together. */
export interface SecretRotationDeps {
  readonly manifest: Manifest;
  readonly pool: WorkerPool;
  readonly vault: OpenedVault;
  readonly store: VaultStore;
  readonly audit: AuditSink;
  readonly logger: Logger;
  readonly clock: Clock;
  /** The origin rotation requests are addressed to (`https://127.0.0.1:8443`). */
  origin(): string;
}

/** Scheduled rotation of a node, and rotation on demand (the admin API). */
export interface SecretRotation {
  /** Claims and runs the rotation of `name` now; `PAL_SECRETS_ROTATION_UNAVAILABLE` when not configured or busy. */
  rotateNow(name: string, requestId: string): Promise<RotationReport>;
  /** Checks every schedule once now (tests). */
  tick(): Promise<readonly RotationOutcome[]>;
  stop(): void;
}

/** The scheduler's tick: a quarter of the shortest interval, between 1 s and 60 s. */
export function rotationTickMs(schedules: readonly RotationSchedule[]): number {
  const shortest = Math.min(...schedules.map((s) => s.everyMs));
  return Math.max(TICK_MIN_MS, Math.min(TICK_MAX_MS, Math.floor(shortest / 4)));
}

/**
 * Starts the rotation scheduler for every `secrets:` entry with `rotation` and returns the
 * on-demand path. Every outcome is one `secret-rotate` audit event (function, trigger, step,
 * result; never a value); a failure is also an operator log line `PAL_SECRETS_ROTATION_FAILED`.
 * A failed scheduled rotation keeps its claim, so it is retried once the lease ends (5 minutes).
 */
export function startSecretRotation(deps: SecretRotationDeps): SecretRotation {
  const { manifest, pool, vault, store, audit, logger, clock } = deps;
  const schedules: RotationSchedule[] = [];
  for (const s of manifest.secrets.values()) if (s.rotation !== undefined) schedules.push({ secret: s.name, function: s.rotation.function, everyMs: s.rotation.everyMs });

  const ports: RotationPorts = {
    async invokeRotationFunction(fn, body) {
      const result = await pool.invoke(fn, {
        method: 'POST',
        url: `${deps.origin()}${ROTATION_PATH}`,
        headers: [['content-type', 'application/json']],
        body: Buffer.from(JSON.stringify(body)),
        requestId: createRequestId(),
        principal: null,
      });
      return { status: result.status, body: await readWholeBody(result.body, MAX_ROTATION_ANSWER_BYTES) };
    },
    async stagePending(name, value) {
      try {
        const m = await vault.admin.stagePending(name, value);
        return { version: m.pendingVersion ?? 0 };
      } finally {
        value.fill(0);
      }
    },
    async promotePending(name) {
      const m = await vault.admin.promotePending(name);
      return { version: m.currentVersion ?? 0 };
    },
    async discardPending(name) {
      await vault.admin.discardPending(name);
    },
  };

  const record = async (outcome: RotationOutcome, trigger: 'schedule' | 'manual', requestId: string, started: number): Promise<void> => {
    const event: AuditEvent = {
      time: clock.now(),
      requestId,
      action: 'secret-rotate',
      outcome: outcome.ok ? 'allow' : 'error',
      reason: outcome.ok ? 'allowed' : 'function-error',
      status: 0,
      method: 'ROTATE',
      clientIp: '',
      function: outcome.function,
      durationMs: clock.now() - started,
      secret: { name: outcome.secret, ...(outcome.version === undefined ? {} : { version: outcome.version }) },
      ...(outcome.ok ? {} : { code: 'PAL_SECRETS_ROTATION_FAILED' as const }),
      rotation: { function: outcome.function, trigger, step: outcome.step, result: outcome.reason, ...(outcome.detail === undefined ? {} : { detail: outcome.detail.slice(0, 300) }) },
    };
    if (!outcome.ok) {
      logger.error(`rotation of secret \`${outcome.secret}\` failed; the current version is unchanged`, { requestId, code: 'PAL_SECRETS_ROTATION_FAILED', secretName: outcome.secret, function: outcome.function, action: outcome.step, reason: outcome.reason + (outcome.detail === undefined ? '' : `: ${outcome.detail.slice(0, 300)}`) });
    } else {
      logger.info(`secret \`${outcome.secret}\` rotated`, { requestId, secretName: outcome.secret, function: outcome.function });
    }
    try {
      await audit.append(event);
    } catch (error) {
      logger.error('an audit event could not be recorded', { requestId, action: 'secret-rotate', code: 'PAL_AUDIT_UNAVAILABLE', reason: error instanceof Error ? error.message : 'unknown' });
    }
  };

  const scheduler: RotationScheduler = startRotationScheduler(
    schedules,
    {
      ...ports,
      clock,
      claimRotation: (secret, now, everyMs, leaseMs) => store.claimSecretRotation(secret, now, everyMs, leaseMs),
      onOutcome: (outcome) => {
        // A rotation that completed frees its claim (it is no longer due anyway); a failed one keeps it until the lease ends: that is the retry back-off.
        if (outcome.ok) void store.releaseSecretRotation(outcome.secret).catch(() => undefined);
        void record(outcome, 'schedule', createRequestId(), clock.now());
      },
      onError: (secret, error) => logger.error('claiming a secret rotation failed; retrying at the next tick', { secretName: secret, code: 'PAL_STORE_UNAVAILABLE', reason: error instanceof Error ? error.message.slice(0, 200) : 'unknown' }),
    },
    schedules.length === 0 ? TICK_MAX_MS : rotationTickMs(schedules),
  );

  return {
    async rotateNow(name, requestId) {
      const schedule = schedules.find((s) => s.secret === name);
      if (schedule === undefined) throw new PalisadeError('PAL_SECRETS_ROTATION_UNAVAILABLE', `secret \`${name}\` has no rotation function in the manifest; send {"value": "…"} to rotate it by hand`, { status: 422, expose: true });
      // Due "now" (everyMs 0), but never while another rotation holds the claim.
      const started = clock.now();
      if (!(await store.claimSecretRotation(name, started, 0, ROTATION_LEASE_MS))) {
        throw new PalisadeError('PAL_SECRETS_ROTATION_UNAVAILABLE', `a rotation of secret \`${name}\` is running or holds its lease (or the secret does not exist or is deleted)`, { expose: true });
      }
      try {
        const outcome = await runRotation(name, schedule.function, ports);
        await record(outcome, 'manual', requestId, started);
        return { ok: outcome.ok, result: outcome.reason, step: outcome.step, ...(outcome.version === undefined ? {} : { version: outcome.version }) };
      } finally {
        await store.releaseSecretRotation(name).catch(() => undefined);
      }
    },
    tick: () => scheduler.tick(),
    stop: () => scheduler.stop(),
  };
}
