/**
 * Runs scheduled rotations: every secret whose manifest entry names a rotation function and an
 * interval is rotated when its interval has passed since it last became current.
 *
 * Claiming is the store's job and is atomic (one `UPDATE … WHERE due RETURNING`), so two nodes on
 * one store, or a tick that overlaps a manual rotation, never rotate the same secret twice.
 */
import type { Clock } from '../kernel/index.js';
import { runRotation, type RotationOutcome, type RotationPorts } from './run-rotation.js';

/** One secret with a rotation schedule. */
export interface RotationSchedule {
  readonly secret: string;
  readonly function: string;
  readonly everyMs: number;
}

/** What the scheduler needs besides the rotation ports. */
export interface RotationSchedulerDeps extends RotationPorts {
  /**
   * Atomically claims the secret's rotation when it is due (its current version is older than
   * `everyMs`, or it has never rotated and was created longer ago than that) and no other claim
   * younger than `leaseMs` holds it. Resolves true for exactly one of concurrent callers.
   */
  claimRotation(secret: string, now: number, everyMs: number, leaseMs: number): Promise<boolean>;
  readonly clock: Clock;
  onOutcome(outcome: RotationOutcome): void;
  onError(secret: string, error: unknown): void;
}

/** A running scheduler. */
export interface RotationScheduler {
  /** Checks every schedule once now; resolves when the due rotations have ended. */
  tick(): Promise<readonly RotationOutcome[]>;
  stop(): void;
}

/** How long a claim protects a rotation in progress from a second node. */
export const ROTATION_LEASE_MS = 5 * 60_000;

/**
 * Starts checking `schedules` every `intervalMs` (unref'd: it never keeps a process alive).
 *
 * @example
 * ```ts
 * const scheduler = startRotationScheduler([{ secret: 'db-url', function: 'rotate-db', everyMs: 30 * 86_400_000 }], deps, 60_000);
 * ```
 */
export function startRotationScheduler(schedules: readonly RotationSchedule[], deps: RotationSchedulerDeps, intervalMs: number): RotationScheduler {
  let ticking: Promise<readonly RotationOutcome[]> | undefined;
  const tick = (): Promise<readonly RotationOutcome[]> => {
    // One tick at a time: a slow rotation function must not pile ticks up.
    ticking ??= runDue(schedules, deps).finally(() => {
      ticking = undefined;
    });
    return ticking;
  };
  const timer = schedules.length === 0 ? undefined : setInterval(() => void tick(), intervalMs);
  timer?.unref();
  return {
    tick,
    stop() {
      if (timer !== undefined) clearInterval(timer);
    },
  };
}

async function runDue(schedules: readonly RotationSchedule[], deps: RotationSchedulerDeps): Promise<readonly RotationOutcome[]> {
  const outcomes: RotationOutcome[] = [];
  for (const schedule of schedules) {
    let claimed = false;
    try {
      claimed = await deps.claimRotation(schedule.secret, deps.clock.now(), schedule.everyMs, ROTATION_LEASE_MS);
    } catch (error) {
      deps.onError(schedule.secret, error);
      continue;
    }
    if (!claimed) continue;
    const outcome = await runRotation(schedule.secret, schedule.function, deps);
    outcomes.push(outcome);
    deps.onOutcome(outcome);
  }
  return outcomes;
}
