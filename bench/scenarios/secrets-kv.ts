/**
 * Secret reads and KV operations inside a function, in µs per operation:
 *
 * - "secret read, cached": a warm isolate re-reading a secret it already read (its own copy; the
 *   gateway is not asked, the read is still counted for the audit trail);
 * - "secret read, uncached": every read goes isolate → worker → gateway (grant, policy, resolver,
 *   record) and back; forced by a decision that reads the context;
 * - "kv get" / "kv put": each one a round trip to the gateway and the KV resolver.
 *
 * Each is measured as (time of a request making N operations − time of the same request making
 * none) / N. The resolvers come from a factory: the in-memory maps (no encryption) are the
 * reference; the vault (`resolversFromVault(vault)`, envelope encryption) plugs in as another
 * factory, and the table compares the two on the same operations.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FunctionSpec } from '../../src/manifest/index.js';
import { buildPrelude, bundleFunction, createWorkerPool, readWholeBody, stopBundler, type KvResolver, type SecretResolver } from '../../src/runtime/index.js';
import { MemoryKvResolver, MemorySecretResolver } from '../../src/runtime/secret-resolvers.test-support.js';

/** Builds the resolvers a run measures; `close` releases them. */
export interface ResolverFactory {
  readonly label: string;
  create(seed: { readonly secrets: Readonly<Record<string, string>> }): Promise<{ readonly secrets: SecretResolver; readonly kv: KvResolver; close?(): Promise<void> }>;
}

/** The reference: plain in-memory maps, no encryption. */
export const memoryResolvers: ResolverFactory = {
  label: 'in-memory, no encryption',
  create: async ({ secrets }) => ({ secrets: new MemorySecretResolver(secrets), kv: new MemoryKvResolver() }),
};

/** µs per operation of each kind. */
export interface SecretsKvResult {
  readonly label: string;
  readonly cachedReadUs: number;
  readonly uncachedReadUs: number;
  readonly kvGetUs: number;
  readonly kvPutUs: number;
}

const CODE = `export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get('n'));
    const op = url.searchParams.get('op');
    let sink = 0;
    for (let i = 0; i < n; i++) {
      if (op === 'read') sink += (await env.secrets.get('db-url')).length;
      else if (op === 'get') sink += ((await env.kv.get('k' + (i % 16))) ?? '').length;
      else if (op === 'put') await env.kv.put('k' + (i % 16), 'value-' + i);
    }
    return new Response(String(sink));
  },
};`;

/**
 * Runs the scenario once with one resolver factory.
 *
 * @example
 * ```ts
 * const r = await measureSecretsKv(memoryResolvers, { rounds: 20 });
 * ```
 */
export async function measureSecretsKv(factory: ResolverFactory, options: { rounds?: number } = {}): Promise<SecretsKvResult> {
  const rounds = options.rounds ?? 20;
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-secrets-'));
  mkdirSync(join(dir, 'functions'));
  writeFileSync(join(dir, 'functions', 'f.js'), CODE);
  const limits = { memoryMb: 64, cpuMs: 5000, timeoutMs: 20_000, maxResponseBytes: 1 << 20, concurrency: 1, queue: 8 };
  const cached: FunctionSpec = { name: 'cached', source: join(dir, 'functions', 'f.js'), segment: 'a', limits, bindings: {}, secrets: ['db-url'], kv: true };
  const uncached: FunctionSpec = { ...cached, name: 'uncached' };
  const bundles = new Map<string, string>();
  for (const spec of [cached, uncached]) bundles.set(spec.name, (await bundleFunction(spec, dir)).code);
  const prelude = await buildPrelude();
  await stopBundler();
  const resolvers = await factory.create({ secrets: { 'db-url': 'postgres://bench:a-long-enough-password@db.internal:5432/bench' } });
  const pool = createWorkerPool({
    prelude,
    segments: [{ name: 'a', workers: 1 }],
    functions: [cached, uncached],
    bundles,
    secrets: resolvers.secrets,
    kv: resolvers.kv,
    // `uncached` stands for a grant narrowed by a context-reading policy: decided on every read.
    authorizeSecret: (r) => ({ effect: 'allow', policyIds: [`function:${r.fn}#secret.${r.secret}`], readsContext: r.fn === 'uncached' }),
    events: { onSecretRead: () => undefined },
  });
  await pool.start();
  const time = async (fn: string, op: string, n: number): Promise<number> => {
    const t0 = performance.now();
    await readWholeBody((await pool.invoke(fn, { method: 'GET', url: `https://localhost/?op=${op}&n=${n}`, headers: [], body: null, requestId: 'bench' })).body, 1 << 20);
    return (performance.now() - t0) * 1000;
  };
  /** Median over rounds of (t(n) − t(0)) / n. */
  const perOp = async (fn: string, op: string, n: number): Promise<number> => {
    await time(fn, op, n);
    const out: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const base = await time(fn, op, 0);
      out.push((await time(fn, op, n)) - base);
    }
    out.sort((a, b) => a - b);
    return (out[Math.floor(out.length / 2)] ?? 0) / n;
  };
  try {
    await time('cached', 'put', 16);
    return {
      label: factory.label,
      cachedReadUs: await perOp('cached', 'read', 1000),
      uncachedReadUs: await perOp('uncached', 'read', 100),
      kvGetUs: await perOp('cached', 'get', 100),
      kvPutUs: await perOp('cached', 'put', 100),
    };
  } finally {
    await pool.close();
    await resolvers.close?.();
  }
}

/** Every factory measured by `npm run bench`; the vault's joins this list where it is wired. */
export const resolverFactories: ResolverFactory[] = [memoryResolvers];

/** `npm run bench` entry. */
export async function run(ctx: { readonly quick?: boolean } = {}): Promise<{ rows: Array<{ scenario: string; metric: string; palisade: string; reference: string; ratio: string }>; data: SecretsKvResult[] }> {
  const results: SecretsKvResult[] = [];
  for (const f of resolverFactories) results.push(await measureSecretsKv(f, { rounds: ctx.quick === true ? 5 : 20 }));
  const reference = results[0] as SecretsKvResult;
  const us = (n: number) => n.toFixed(2);
  const rows = [];
  for (const r of results) {
    for (const [metric, key] of [
      ['secret read, cached: µs/op', 'cachedReadUs'],
      ['secret read, uncached: µs/op', 'uncachedReadUs'],
      ['kv get: µs/op', 'kvGetUs'],
      ['kv put: µs/op', 'kvPutUs'],
    ] as const) {
      rows.push({ scenario: `secrets and kv (${r.label})`, metric, palisade: us(r[key]), reference: `${us(reference[key])} (${reference.label})`, ratio: `${(r[key] / Math.max(0.01, reference[key])).toFixed(2)}×` });
    }
  }
  return { rows, data: results };
}

// Run directly: `node dist/bench/scenarios/secrets-kv.js` prints µs per operation.
if (process.argv[1]?.endsWith('secrets-kv.js')) {
  for (const f of resolverFactories) {
    const r = await measureSecretsKv(f, { rounds: 10 });
    process.stdout.write(`${r.label}: secret read cached ${r.cachedReadUs.toFixed(2)} µs/op, uncached ${r.uncachedReadUs.toFixed(2)} µs/op; kv get ${r.kvGetUs.toFixed(2)} µs/op, kv put ${r.kvPutUs.toFixed(2)} µs/op\n`);
  }
}
