import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isPalisadeError } from '../kernel/index.js';
import { packageRoot } from './package-paths.js';
import { SHAPES, WELL_FORMED } from './test-fixtures/forged-shapes.js';
import type { BindingCallPayload } from './protocol.js';
import { createWorkerPool, RuntimeRetryLater, type EgressCaller, type PoolFunctionSpec, type WorkerPool } from './worker-pool.js';

// The gateway's side of the boundary against a worker that lies (an escaped isolate owns it).
const FORGING_WORKER = join(packageRoot, 'dist', 'src', 'runtime', 'test-fixtures', 'forging-worker.js');
const LIMITS = { memoryMb: 64, cpuMs: 50, timeoutMs: 1000, maxResponseBytes: 1 << 20, concurrency: 2, queue: 8 };

const crashes: unknown[] = [];
const onCrash = (error: unknown) => crashes.push(error);
process.on('unhandledRejection', onCrash);
process.on('uncaughtException', onCrash);
after(() => {
  process.off('unhandledRejection', onCrash);
  process.off('uncaughtException', onCrash);
});

// A forging worker loads in well under a second; a load unanswered for 20 s counts as failed
// (rarely, on a loaded machine, a restarted worker has been seen never to answer its load).
function forgingPool(bindings: PoolFunctionSpec['bindings'] = {}, events: Parameters<typeof createWorkerPool>[0]['events'] = {}, workers = 1): WorkerPool {
  const fn: PoolFunctionSpec = { name: 'f', source: '', segment: 'default', limits: LIMITS, bindings };
  return createWorkerPool({ prelude: '', segments: [{ name: 'default', workers }], functions: [fn], bundles: new Map([['f', '']]), workerScript: FORGING_WORKER, startTimeoutMs: 20_000, events });
}

type Asked = { caller: EgressCaller; payload: BindingCallPayload };

/** A pool of forging workers whose egress handler records each time it is asked, and refuses. */
function egressPool(asked: Asked[]): WorkerPool {
  const fn: PoolFunctionSpec = { name: 'f', source: '', segment: 'default', limits: LIMITS, bindings: {} };
  return createWorkerPool({
    prelude: '',
    segments: [{ name: 'default', workers: 1 }],
    functions: [fn],
    bundles: new Map([['f', '']]),
    workerScript: FORGING_WORKER,
    egress: async (caller, payload) => {
      asked.push({ caller, payload });
      return { ok: false, code: 'PAL_EGRESS_NOT_GRANTED', message: 'no' };
    },
  });
}

const call = (pool: WorkerPool, shape: string) => pool.invoke('f', { method: 'GET', url: `https://localhost/${shape}`, headers: [], body: null, requestId: `r-${shape}` });

/** Live child processes of this process (the gateway here), from the kernel's view. */
function childPids(): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([pid, comm]) => Number(pid) > 0 && comm !== 'ps')
      .map(([pid]) => Number(pid));
  } catch {
    return [];
  }
}

describe('worker → gateway messages are untrusted', () => {
  test('every malformed shape is a worker fault: 503 for its request, the worker replaced, the gateway untouched', async () => {
    const shapes = Object.keys(SHAPES).filter((s) => !WELL_FORMED.has(s));
    assert.ok(shapes.length >= 30);
    const faults: string[] = [];
    for (const shape of shapes) {
      const pool = forgingPool({}, { onWorkerFault: (f) => faults.push(`${shape}: ${f.why}`) });
      await pool.start();
      try {
        const before = pool.pids().default?.[0];
        const ok = await call(pool, 'ok');
        assert.equal(ok.status, 200, 'a well-formed answer is accepted');
        const outcome = await call(pool, shape).then(
          (r) => r,
          (e: unknown) => e,
        );
        assert.ok(isPalisadeError(outcome) && outcome.status === 503, `${shape}: expected 503, got ${String(outcome)}`);
        assert.ok(!outcome.message.includes(shape) && !outcome.message.includes('forged'), 'the client message names no worker detail');
        // Replaced, not trusted again: a new process answers.
        let after: number | undefined;
        // A restart is a Node process start: slow on a saturated machine, so the wait is generous.
        for (const until = Date.now() + 20_000; Date.now() < until && (after === undefined || after === before); ) {
          await new Promise((r) => setTimeout(r, 20));
          after = pool.pids().default?.[0];
        }
        assert.ok(after !== undefined && after !== before, `${shape}: the worker was restarted`);
        assert.equal((await call(pool, 'ok')).status, 200);
      } finally {
        await pool.close();
      }
    }
    assert.equal(faults.length, shapes.length, faults.join('\n'));
    assert.deepEqual(crashes, [], 'no unhandled rejection or exception reached the gateway');
  });

  test('a forged log line for an invocation the worker does not hold is never attributed', async () => {
    const lines: string[] = [];
    const pool = forgingPool({}, { onFunctionLog: (l) => lines.push(l.message) });
    await pool.start();
    try {
      await call(pool, 'log-forged-id').catch(() => undefined);
      assert.deepEqual(lines, []);
    } finally {
      await pool.close();
    }
  });

  test('a worker cannot read a secret for an invocation it does not hold, nor claim cached reads it was never given', async () => {
    const reads: unknown[] = [];
    const pool = forgingPool({}, { onSecretRead: (e) => void reads.push(e) });
    await pool.start();
    try {
      for (const shape of ['secret-unknown-invocation', 'secret-reads-other-invocation', 'secret-reads-never-granted', 'kv-not-granted']) {
        const outcome = await call(pool, shape).then(
          (r) => r,
          (e: unknown) => e,
        );
        assert.ok(isPalisadeError(outcome) && outcome.code === 'PAL_RUNTIME_WORKER_FAULT', `${shape}: ${String(outcome)}`);
        for (const until = Date.now() + 20_000; Date.now() < until && pool.pids().default?.[0] === undefined; ) await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(reads, [], 'no read was decided, answered or recorded for a forged message');
    } finally {
      await pool.close();
    }
    assert.deepEqual(crashes, []);
  });

  test('a worker cannot make an outbound request for another invocation or with grants of its own', async () => {
    const asked: Asked[] = [];
    const pool = egressPool(asked);
    await pool.start();
    try {
      for (const shape of ['egress-unknown-invocation', 'egress-grants-smuggled', 'egress-connect-method']) {
        const outcome = await call(pool, shape).then(
          (r) => r,
          (e: unknown) => e,
        );
        assert.ok(isPalisadeError(outcome) && outcome.code === 'PAL_RUNTIME_WORKER_FAULT', `${shape}: ${String(outcome)}`);
        for (const until = Date.now() + 20_000; Date.now() < until && pool.pids().default?.[0] === undefined; ) await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(asked, [], 'the egress handler was never asked on behalf of a forged message');
    } finally {
      await pool.close();
    }
    assert.deepEqual(crashes, []);
  });

  test('an outbound request of a function without any grant goes to the egress handler, with the identity from the gateway table', async () => {
    const asked: Asked[] = [];
    const pool = egressPool(asked);
    await pool.start();
    try {
      assert.equal((await call(pool, 'egress-no-grant')).status, 200);
      // The handler (which refuses and records it) decides, not the worker; no fault.
      assert.deepEqual(
        asked.map((a) => [a.caller.fn, a.caller.requestId, a.payload.url]),
        [['f', 'r-egress-no-grant', 'http://127.0.0.1/']],
      );
      // Past the budget the worker is lying: a fault, and the handler was asked at most the budget.
      asked.length = 0;
      const outcome = await call(pool, 'egress-flood').then(
        (r) => r,
        (e: unknown) => e,
      );
      assert.ok(isPalisadeError(outcome) && outcome.code === 'PAL_RUNTIME_WORKER_FAULT', String(outcome));
      assert.equal(asked.length, 32);
    } finally {
      await pool.close();
    }
    assert.deepEqual(crashes, []);
  });

  test('a batch is acted on only when every message in it is well-formed', async () => {
    const lines: string[] = [];
    const pool = forgingPool({}, { onFunctionLog: (l) => lines.push(l.message) });
    await pool.start();
    try {
      assert.equal((await call(pool, 'batch-ok')).status, 200);
      assert.deepEqual(lines, ['line in a batch']);
      const outcome = await call(pool, 'batch-one-malformed').then(
        (r) => r,
        (e: unknown) => e,
      );
      assert.ok(isPalisadeError(outcome) && outcome.status === 503, String(outcome));
      assert.deepEqual(lines, ['line in a batch'], 'the line before the malformed message was not attributed');
    } finally {
      await pool.close();
    }
    assert.deepEqual(crashes, []);
  });

  test('repeated load failures trip the breaker: bounded processes, backoff, 503 with Retry-After, an operator error naming the function', async () => {
    const failing: Array<{ fn: string; failures: number; retryInMs: number }> = [];
    let exits = 0;
    // Loads fine now; every restart after the deadline below fails to load.
    // Generous, so that a slow start on a busy machine still loads the first time.
    const failAfter = Date.now() + 4000;
    const pool = forgingPool({ FAIL_LOAD_AFTER: { type: 'json', value: failAfter } }, { onLoadFailing: (f) => failing.push(f), onWorkerExit: () => exits++ });
    await pool.start();
    try {
      await new Promise((r) => setTimeout(r, Math.max(0, failAfter - Date.now()) + 50));
      const pid = pool.pids().default?.[0];
      assert.ok(pid !== undefined);
      process.kill(pid, 'SIGKILL');
      // Watch until the breaker opened (slower on a busy machine), counting processes throughout.
      let maxChildren = 0;
      const started = Date.now();
      // Three loads after the kill, each failed or unanswered for 20 s at most.
      while (failing.length === 0 && Date.now() - started < 90_000) {
        maxChildren = Math.max(maxChildren, childPids().length);
        await new Promise((r) => setTimeout(r, 25));
      }
      const elapsed = Date.now() - started;
      assert.ok(failing.length >= 1, `operators were told (${exits} exits in ${elapsed} ms, max ${maxChildren} children)`);
      assert.ok(maxChildren <= 1, `at most one worker process at a time (saw ${maxChildren})`);
      // Three failed loads open the breaker; backoff (200, 400 ms…) means no storm before it.
      assert.ok(exits >= 3 && exits <= 4, `restarts were backed off (saw ${exits} exits in ${elapsed} ms)`);
      assert.equal(failing[0]?.fn, 'f');
      assert.equal(failing[0]?.failures, 3);
      assert.ok((failing[0]?.retryInMs ?? 0) >= 800);
      const outcome = await call(pool, 'ok').then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(outcome instanceof RuntimeRetryLater, String(outcome));
      assert.equal(outcome.code, 'PAL_RUNTIME_LOAD_FAILING');
      assert.ok(outcome.retryAfterSec > 0);
    } finally {
      await pool.close();
    }
    assert.deepEqual(crashes, []);
  });
});

describe('a worker that never answers its load', () => {
  test('counts as a failed load once the deadline passes: killed, replaced with backoff, and the breaker opens', async () => {
    const failing: Array<{ fn: string; failures: number; message: string }> = [];
    let exits = 0;
    // Loads now; every restart after the deadline below hangs without a word.
    const hangAfter = Date.now() + 4000;
    const fn: PoolFunctionSpec = { name: 'f', source: '', segment: 'default', limits: LIMITS, bindings: { HANG_LOAD_AFTER: { type: 'json', value: hangAfter } } };
    const pool = createWorkerPool({ prelude: '', segments: [{ name: 'default', workers: 1 }], functions: [fn], bundles: new Map([['f', '']]), workerScript: FORGING_WORKER, startTimeoutMs: 3000, events: { onLoadFailing: (f) => failing.push(f), onWorkerExit: () => exits++ } });
    await pool.start();
    try {
      await new Promise((r) => setTimeout(r, Math.max(0, hangAfter - Date.now()) + 50));
      const pid = pool.pids().default?.[0];
      assert.ok(pid !== undefined);
      process.kill(pid, 'SIGKILL');
      const started = Date.now();
      let maxChildren = 0;
      while (failing.length === 0 && Date.now() - started < 90_000) {
        maxChildren = Math.max(maxChildren, childPids().length);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(failing[0]?.failures, 3, `three loads went unanswered (${exits} exits in ${Date.now() - started} ms)`);
      assert.match(failing[0]?.message ?? '', /did not finish loading within 3000 ms/);
      assert.ok(maxChildren <= 1, `at most one worker process at a time (saw ${maxChildren})`);
      const outcome = await call(pool, 'ok').then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(outcome instanceof RuntimeRetryLater, String(outcome));
    } finally {
      await pool.close();
    }
    assert.deepEqual(crashes, []);
  });
});

describe('dispatch within a segment', () => {
  const pidOf = (r: { headers: ReadonlyArray<readonly [string, string]> }) => Number(r.headers.find(([k]) => k === 'x-worker-pid')?.[1]);

  test('fast requests stay on the first worker; slow ones overflow to the next; a killed first worker hands over at once', async () => {
    const pool = forgingPool({}, {}, 2);
    await pool.start();
    try {
      const [first, second] = pool.pids().default ?? [];
      assert.ok(first !== undefined && second !== undefined);
      // 300 fast requests, up to 16 in flight (the worker has 2 isolates): one process serves them all.
      // (Spread evenly, as least-loaded dispatch would, the standby would take about half.)
      let onFirst = 0;
      for (let round = 0; round < 30; round++) {
        const answers = await Promise.all(Array.from({ length: 10 }, () => call(pool, 'pid')));
        for (const a of answers) {
          assert.ok(pidOf(a) === first || pidOf(a) === second);
          if (pidOf(a) === first) onFirst++;
        }
      }
      // A machine so busy that a worker takes over 20 ms to answer lets a few overflow.
      assert.ok(onFirst >= 270, `the first worker served ${onFirst} of 300 fast requests`);
      // 6 requests of 150 ms with 2 isolates per worker: the first worker stalls, the rest spread.
      const slow = await Promise.all(Array.from({ length: 6 }, () => call(pool, 'slow-pid')));
      assert.deepEqual(new Set(slow.map(pidOf)), new Set([first, second]), 'slow requests used both workers');
      // The first worker dies: once the pool has seen it go, the standby answers while it restarts.
      process.kill(first, 'SIGKILL');
      for (let i = 0; i < 200 && (pool.pids().default ?? []).includes(first); i++) await new Promise((r) => setTimeout(r, 10));
      const after = await call(pool, 'pid');
      assert.equal(pidOf(after), second);
    } finally {
      await pool.close();
    }
    assert.deepEqual(crashes, []);
  });
});
