/**
 * A service-binding call against a direct call: `front` calls `billing` through
 * `env.BILLING.fetch()` (isolate → worker → gateway → worker → isolate and back); the direct call
 * invokes `billing` from the gateway. Reports the latency of each and what the binding adds.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FunctionSpec } from '../../src/manifest/index.js';
import { buildPrelude, bundleFunction, createWorkerPool, readWholeBody, stopBundler } from '../../src/runtime/index.js';

/** Result of {@link measureServiceBinding}. */
export interface ServiceBindingResult {
  readonly directP50Us: number;
  readonly directP99Us: number;
  readonly viaBindingP50Us: number;
  readonly viaBindingP99Us: number;
  /** Median added by the binding call. */
  readonly addedP50Us: number;
}

const FUNCTIONS: Record<string, { code: string; segment: string; bindings?: FunctionSpec['bindings'] }> = {
  billing: { segment: 'pay', code: `export default { async fetch() { return Response.json({ charged: 42 }); } };` },
  front: {
    segment: 'shop',
    bindings: { BILLING: { type: 'service', function: 'billing' } },
    code: `export default { async fetch(request, env) { const r = await env.BILLING.fetch('https://billing.internal/'); return new Response(await r.text(), { headers: { 'content-type': 'application/json' } }); } };`,
  },
};

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

/**
 * Runs the scenario once.
 *
 * @example
 * ```ts
 * const r = await measureServiceBinding({ samples: 2000 });
 * ```
 */
export async function measureServiceBinding(options: { samples?: number } = {}): Promise<ServiceBindingResult> {
  const samples = options.samples ?? 2000;
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-binding-'));
  mkdirSync(join(dir, 'functions'));
  const functions: FunctionSpec[] = [];
  const bundles = new Map<string, string>();
  for (const [name, f] of Object.entries(FUNCTIONS)) {
    const source = join(dir, 'functions', `${name}.js`);
    writeFileSync(source, f.code);
    const spec: FunctionSpec = { name, source, segment: f.segment, limits: { memoryMb: 64, cpuMs: 50, timeoutMs: 2000, maxResponseBytes: 1 << 20, concurrency: 4, queue: 64 }, bindings: f.bindings ?? {} };
    functions.push(spec);
    bundles.set(name, (await bundleFunction(spec, dir)).code);
  }
  const prelude = await buildPrelude();
  await stopBundler();
  const pool = createWorkerPool({ prelude, segments: [{ name: 'pay', workers: 1 }, { name: 'shop', workers: 1 }], functions, bundles });
  await pool.start();
  const req = { method: 'GET', url: 'https://localhost/', headers: [] as Array<[string, string]>, body: null, requestId: 'bench', principal: null };
  const time = async (fn: string): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await readWholeBody((await pool.invoke(fn, req)).body, 1 << 20);
      out.push((performance.now() - t0) * 1000);
    }
    return out.sort((a, b) => a - b);
  };
  try {
    await time('billing');
    await time('front');
    const direct = await time('billing');
    const via = await time('front');
    return {
      directP50Us: percentile(direct, 50),
      directP99Us: percentile(direct, 99),
      viaBindingP50Us: percentile(via, 50),
      viaBindingP99Us: percentile(via, 99),
      addedP50Us: percentile(via, 50) - percentile(direct, 50),
    };
  } finally {
    await pool.close();
  }
}

/** `npm run bench` entry: the binding call against the direct call, same pool, same run. */
export async function run(ctx: { readonly quick?: boolean } = {}): Promise<{ rows: Array<{ scenario: string; metric: string; palisade: string; reference: string; ratio: string }>; data: ServiceBindingResult }> {
  const r = await measureServiceBinding({ samples: ctx.quick === true ? 500 : 2000 });
  const us = (n: number) => n.toFixed(0);
  return {
    rows: [
      { scenario: 'service-binding call (env.BILLING.fetch)', metric: 'p50 µs (p99)', palisade: `${us(r.viaBindingP50Us)} (${us(r.viaBindingP99Us)})`, reference: `${us(r.directP50Us)} (${us(r.directP99Us)}) direct invoke of the callee`, ratio: `${(r.viaBindingP50Us / Math.max(1, r.directP50Us)).toFixed(2)}× (+${us(r.addedP50Us)} µs)` },
    ],
    data: r,
  };
}
