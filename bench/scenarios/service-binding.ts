/**
 * What a service-binding call adds over calling the function directly, at worker-pool level, with
 * the platform's own checks on the call path (the manifest grant, the Cedar `callFunction`
 * decision of `createPolicyAuthorizer`, one `callFunction` event appended to a real audit log in
 * `sync` mode, wired as `startPlatform` wires them).
 *
 * Four measured calls in one pool, taking turns call by call (the machine is shared and noisy):
 *   (a) `billing` invoked directly by the gateway;
 *   (b) `front-alone`: the caller's own work, the same code as `front` without the binding call
 *       (it builds the same answer locally);
 *   (c) `front` (segment shop) → `env.BILLING.fetch()` → `billing` (segment pay): two processes;
 *   (d) `front-near` (segment pay) → `billing`: caller and callee in one worker process.
 * The binding call itself costs c − b (seen from the caller), of which a is what calling the
 * function directly costs anyway; so **what the binding adds = c − b − a** (and d − b − a in one
 * segment): the hops isolate → worker → gateway and back, the decision steps and the audit event,
 * on top of a direct invocation. CPU µs per call: the gateway process (`process.cpuUsage`) and its
 * worker processes (/proc), over the same samples.
 *
 * Standalone: node dist/bench/scenarios/service-binding.js [--quick]
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openAuditLog } from '../../src/audit/index.js';
import { silentLogger } from '../../src/kernel/index.js';
import { loadManifest } from '../../src/manifest/index.js';
import { bindingCallAuditEvent } from '../../src/platform/index.js';
import { createPolicyAuthorizer } from '../../src/policy/index.js';
import { buildPrelude, bundleFunction, createWorkerPool, readWholeBody, stopBundler } from '../../src/runtime/index.js';
import { cpuBetween, treeCpu, type BenchScenarioResult } from '../harness.js';

const VARIANTS = ['direct', 'alone', 'binding', 'near'] as const;
type Variant = (typeof VARIANTS)[number];
const FUNCTION_OF: Record<Variant, string> = { direct: 'billing', alone: 'front-alone', binding: 'front', near: 'front-near' };

/** One measured call: median latency over rounds, and CPU per call. */
export interface CallFigures {
  readonly p50Us: number;
  readonly p99Us: number;
  /** Median over rounds of each round's median (the figure compared). */
  readonly medianUs: number;
  readonly rounds: readonly number[];
  readonly gatewayCpuUs: number;
  readonly workersCpuUs: number;
}

/** Result of {@link measureServiceBinding}. */
export interface ServiceBindingResult {
  readonly samplesPerRound: number;
  readonly rounds: number;
  readonly calls: Readonly<Record<Variant, CallFigures>>;
  /** c − b − a: what the binding adds over a direct call (two segments). */
  readonly addedUs: number;
  /** d − b − a: the same with caller and callee in one segment (one worker process). */
  readonly addedSameSegmentUs: number;
  /** CPU the binding adds per call (gateway, workers): c − b − a of the CPU figures. */
  readonly addedGatewayCpuUs: number;
  readonly addedWorkersCpuUs: number;
}

const CALLER = (binding: boolean) =>
  `export default { async fetch(request, env) { const r = ${binding ? "await env.BILLING.fetch('https://billing.internal/')" : "new Response(JSON.stringify({ charged: 42 }), { headers: { 'content-type': 'application/json' } })"}; return new Response(await r.text(), { headers: { 'content-type': 'application/json' } }); } };\n`;

const MANIFEST = `name: bench-binding
segments:
  shop: { workers: 1 }
  pay: { workers: 1, allowCallsFrom: [shop] }
functions:
  billing: { source: functions/billing.js, segment: pay, limits: { concurrency: 4 } }
  front: { source: functions/front.js, segment: shop, limits: { concurrency: 4 }, bindings: { BILLING: { type: service, function: billing } } }
  front-alone: { source: functions/front-alone.js, segment: shop, limits: { concurrency: 4 } }
  front-near: { source: functions/front.js, segment: pay, limits: { concurrency: 4 }, bindings: { BILLING: { type: service, function: billing } } }
routes:
  - { path: /billing, function: billing, public: true }
`;

const sortNum = (xs: readonly number[]) => [...xs].sort((x, y) => x - y);
const pct = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

/**
 * Runs the scenario once.
 *
 * @example
 * ```ts
 * const r = await measureServiceBinding({ samples: 1000, rounds: 5 });
 * ```
 */
export async function measureServiceBinding(options: { samples?: number; rounds?: number } = {}): Promise<ServiceBindingResult> {
  const samples = options.samples ?? 1000;
  const rounds = options.rounds ?? 5;
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-binding-'));
  mkdirSync(join(dir, 'functions'));
  writeFileSync(join(dir, 'functions', 'billing.js'), 'export default { async fetch() { return Response.json({ charged: 42 }); } };\n');
  writeFileSync(join(dir, 'functions', 'front.js'), CALLER(true));
  writeFileSync(join(dir, 'functions', 'front-alone.js'), CALLER(false));
  writeFileSync(join(dir, 'palisade.yaml'), MANIFEST);
  const manifest = loadManifest(dir);
  const bundles = new Map<string, string>();
  for (const fn of manifest.functions.values()) bundles.set(fn.name, (await bundleFunction(fn, dir)).code);
  const prelude = await buildPrelude();
  await stopBundler();
  // As startPlatform wires them: the Cedar decision, and the event appended without the call waiting.
  const policy = createPolicyAuthorizer(manifest);
  const audit = await openAuditLog({ stateDir: join(dir, '.palisade'), mode: 'sync', checkpointEvery: 1000, checkpointEverySec: 60, logger: silentLogger });
  let auditFailures = 0;
  const pool = createWorkerPool({
    prelude,
    segments: [...manifest.segments.values()],
    functions: [...manifest.functions.values()],
    bundles,
    authorizeCall: (call) => policy.authorizeCall(call),
    events: {
      onBindingCall: (c) => {
        audit.append(bindingCallAuditEvent(c, Date.now())).catch(() => auditFailures++);
      },
    },
  });
  await pool.start();
  const req = { method: 'GET', url: 'https://localhost/', headers: [] as Array<[string, string]>, body: null, requestId: 'bench', principal: null };
  const once = async (fn: string) => {
    const r = await pool.invoke(fn, req);
    const body = await readWholeBody(r.body, 1 << 20);
    if (r.status !== 200 || new TextDecoder().decode(body) !== '{"charged":42}') throw new Error(`${fn}: unexpected answer ${r.status}`);
  };
  const latencies = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
  const medians = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
  const gatewayCpu = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
  const workersCpu = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
  try {
    for (const v of VARIANTS) for (let i = 0; i < 300; i++) await once(FUNCTION_OF[v]);
    for (let round = 0; round < rounds; round++) {
      // Latency: the four calls take turns call by call, so a burst of noise from other work on
      // the machine hits all of them alike.
      const out = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
      for (let i = 0; i < samples; i++) {
        for (const v of VARIANTS) {
          const t0 = performance.now();
          await once(FUNCTION_OF[v]);
          out[v].push((performance.now() - t0) * 1000);
        }
      }
      for (const v of VARIANTS) {
        latencies[v].push(...out[v]);
        medians[v].push(pct(sortNum(out[v]), 50));
      }
      // CPU: a block of calls of one kind at a time (CPU cannot be told apart call by call).
      for (const v of VARIANTS) {
        const cpu0 = process.cpuUsage();
        const tree0 = treeCpu(process.pid);
        for (let i = 0; i < samples; i++) await once(FUNCTION_OF[v]);
        const cpu1 = process.cpuUsage(cpu0);
        const tree = cpuBetween(tree0, treeCpu(process.pid));
        gatewayCpu[v].push((cpu1.user + cpu1.system) / samples);
        workersCpu[v].push(tree.children / samples);
      }
    }
  } finally {
    await pool.close();
    await audit.close();
  }
  if (auditFailures > 0) throw new Error(`${auditFailures} callFunction events could not be recorded`);
  const figures = (v: Variant): CallFigures => {
    const all = sortNum(latencies[v]);
    return { p50Us: pct(all, 50), p99Us: pct(all, 99), medianUs: pct(sortNum(medians[v]), 50), rounds: medians[v], gatewayCpuUs: pct(sortNum(gatewayCpu[v]), 50), workersCpuUs: pct(sortNum(workersCpu[v]), 50) };
  };
  const calls = Object.fromEntries(VARIANTS.map((v) => [v, figures(v)])) as Record<Variant, CallFigures>;
  const { direct: a, alone: b, binding: c, near: d } = calls;
  return {
    samplesPerRound: samples,
    rounds,
    calls,
    addedUs: c.medianUs - b.medianUs - a.medianUs,
    addedSameSegmentUs: d.medianUs - b.medianUs - a.medianUs,
    addedGatewayCpuUs: c.gatewayCpuUs - b.gatewayCpuUs - a.gatewayCpuUs,
    addedWorkersCpuUs: c.workersCpuUs - b.workersCpuUs - a.workersCpuUs,
  };
}

/** `npm run bench` entry: the binding call against the direct call, same pool, same run. */
export async function run(ctx: { readonly quick?: boolean } = {}): Promise<BenchScenarioResult> {
  const r = await measureServiceBinding(ctx.quick === true ? { samples: 300, rounds: 3 } : { samples: 1000, rounds: 5 });
  const us = (n: number) => n.toFixed(0);
  const cpu = (f: CallFigures) => `CPU ${us(f.gatewayCpuUs)} gw + ${us(f.workersCpuUs)} workers`;
  const fig = (f: CallFigures) => `${us(f.medianUs)} (p99 ${us(f.p99Us)}; ${cpu(f)})`;
  const { direct: a, alone: b, binding: c, near: d } = r.calls;
  const scenario = 'service-binding call (env.BILLING.fetch)';
  const within = (x: number) => (x < 100 ? 'within' : 'over');
  return {
    rows: [
      { scenario, metric: 'µs p50 (a) direct invoke of billing', palisade: fig(a), reference: 'n/a', ratio: 'n/a' },
      { scenario, metric: 'µs p50 (b) front alone, no binding call', palisade: fig(b), reference: 'n/a', ratio: 'n/a' },
      { scenario, metric: 'µs p50 (c) front → billing, two segments', palisade: fig(c), reference: `b + a = ${us(b.medianUs + a.medianUs)}`, ratio: c.medianUs / (b.medianUs + a.medianUs) },
      { scenario, metric: 'µs p50 (d) front → billing, one segment', palisade: fig(d), reference: `b + a = ${us(b.medianUs + a.medianUs)}`, ratio: d.medianUs / (b.medianUs + a.medianUs) },
      {
        scenario,
        metric: 'added by the binding: c − b − a (µs, target < 100)',
        palisade: `${us(r.addedUs)} (${within(r.addedUs)}); one segment ${us(r.addedSameSegmentUs)}; CPU ${us(r.addedGatewayCpuUs)} gw + ${us(r.addedWorkersCpuUs)} workers`,
        reference: `a = ${us(a.medianUs)} direct`,
        ratio: `binding call (c − b) = ${((c.medianUs - b.medianUs) / Math.max(1, a.medianUs)).toFixed(2)}× a direct call`,
      },
    ],
    data: r,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quickRun = process.argv.includes('--quick');
  const { rows } = await run({ quick: quickRun });
  for (const row of rows) process.stdout.write(`${row.metric}: ${String(row.palisade)} | ${String(row.reference)} | ${typeof row.ratio === 'number' ? `${row.ratio.toFixed(2)}×` : row.ratio}\n`);
}
