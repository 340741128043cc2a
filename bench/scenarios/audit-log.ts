// Scenario: the audit chain. Durable appends per second (sync: each committed with
// synchronous=FULL before it resolves) against async, both from many concurrent writers;
// verification speed over the resulting log; and the gateway's req/s with audit in sync mode
// against async mode (the response does not wait for the record: the cost of waiting for the disk).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { openAuditLog, verifyAuditLog } from '../../src/audit/index.js';
import { makeTestEvent } from '../../src/audit/audit-test-events.test-support.js';
import { silentLogger } from '../../src/kernel/index.js';
import { cli, config, firstLine, fmt, HELLO_SOURCE, launch, load, quick, ratio, reportLoad, stop, writeBenchProject, type BenchContext, type BenchScenario } from '../harness.js';

const WRITERS = 256;

/** Appends `total` events from WRITERS concurrent writers; events/s and the event loop's worst delay. */
export async function measureAppends(mode: 'sync' | 'async', total: number): Promise<{ eventsPerSec: number; stateDir: string; batches: number; maxBatchMs: number; loopDelayMaxMs: number }> {
  const stateDir = join(mkdtempSync(join(tmpdir(), 'palisade-bench-audit-')), '.palisade');
  const log = await openAuditLog({ stateDir, mode, checkpointEvery: 1000, checkpointEverySec: 60, logger: silentLogger, maxQueue: total + 1 });
  const events = Array.from({ length: total }, (_, i) => makeTestEvent(i));
  const delay = monitorEventLoopDelay({ resolution: 10 });
  let next = 0;
  const started = performance.now();
  delay.enable();
  await Promise.all(Array.from({ length: WRITERS }, async () => {
    while (next < total) await log.append(events[next++] as (typeof events)[number]);
  }));
  // Async resolves before the commit: the run ends when everything is written.
  await log.close();
  const seconds = (performance.now() - started) / 1000;
  delay.disable();
  const stats = log.stats();
  return { eventsPerSec: total / seconds, stateDir, batches: stats.batches, maxBatchMs: stats.maxBatchMs, loopDelayMaxMs: delay.max / 1e6 };
}

/** Verifies the log under `stateDir`; events/s. */
export function measureVerify(stateDir: string): { eventsPerSec: number; size: number } {
  const started = performance.now();
  const r = verifyAuditLog({ stateDir });
  if (!r.ok) throw new Error(`bench log does not verify: ${r.reason}`);
  return { eventsPerSec: r.size / ((performance.now() - started) / 1000), size: r.size };
}

async function gateway(ctx: Pick<BenchContext, 'workDir'>, mode: 'sync' | 'async') {
  const project = writeBenchProject(`name: bench\naudit: { mode: ${mode} }\nfunctions:\n  hello:\n    source: functions/hello.ts\nroutes:\n  - { path: /hello, function: hello, public: true }\n`, { 'functions/hello.ts': HELLO_SOURCE });
  const child = launch([cli, 'up', project, '--port', '0', '--json', '--log-level', 'warn', '--allow-insecure-http'], {}, join(ctx.workDir, `audit-${mode}.log`));
  try {
    const info = await firstLine<{ url: string }>(child);
    const res = await load(`${info.url}/hello`, child);
    reportLoad(`palisade-http, audit ${mode}`, res);
    return res;
  } finally {
    await stop(child);
  }
}

const scenario: BenchScenario = {
  name: 'audit-log',
  async run(ctx) {
    const total = ctx.quick ? 20_000 : 100_000;
    const sync = await measureAppends('sync', total);
    ctx.log(`audit appends, sync: ${fmt(sync.eventsPerSec)} events/s in ${sync.batches} commits (slowest ${sync.maxBatchMs.toFixed(1)} ms, event loop delay max ${sync.loopDelayMaxMs.toFixed(1)} ms)`);
    const asyncRun = await measureAppends('async', total);
    ctx.log(`audit appends, async: ${fmt(asyncRun.eventsPerSec)} events/s`);
    const verify = measureVerify(sync.stateDir);
    ctx.log(`audit verify: ${fmt(verify.eventsPerSec)} events/s over ${verify.size} events`);
    const gwSync = await gateway(ctx, 'sync');
    const gwAsync = await gateway(ctx, 'async');
    return {
      rows: [
        { scenario: `audit appends, ${WRITERS} concurrent writers`, metric: 'durable events/s (sync)', palisade: fmt(sync.eventsPerSec), reference: `${fmt(asyncRun.eventsPerSec)} (async)`, ratio: ratio(sync.eventsPerSec, asyncRun.eventsPerSec) },
        { scenario: 'audit verify', metric: 'events/s', palisade: fmt(verify.eventsPerSec), reference: '1,000,000 (target)', ratio: ratio(verify.eventsPerSec, 1_000_000) },
        { scenario: 'public route, http, audit sync', metric: `req/s [${gwSync.tool}]`, palisade: fmt(gwSync.rps), reference: `${fmt(gwAsync.rps)} (audit async)`, ratio: ratio(gwSync.rps, gwAsync.rps) },
      ],
      data: { sync, async: asyncRun, verify, gatewaySync: gwSync, gatewayAsync: gwAsync, writers: WRITERS },
    };
  },
};

export default scenario;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const total = quick ? 20_000 : 100_000;
  const sync = await measureAppends('sync', total);
  const asyncRun = await measureAppends('async', total);
  const verify = measureVerify(sync.stateDir);
  console.log(JSON.stringify({ config, sync, async: asyncRun, verify }, null, 2));
}
