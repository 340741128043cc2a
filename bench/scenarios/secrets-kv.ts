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
 * factory (`vaultResolvers`), and the table compares the two on the same operations.
 *
 * Then KV at the vault API (`measureVaultKvApi`): encrypted `vault.kv(fn).get/put` against the
 * same store calls with plaintext bytes, to isolate the encryption's share from the call channel.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FunctionSpec } from '../../src/manifest/index.js';
import { openProjectState, resolversFromVault } from '../../src/platform/index.js';
import { openSqliteStore } from '../../src/store/index.js';
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

/**
 * The node's own: the project's vault (`openProjectState`: SQLite state store, key ring file,
 * envelope encryption) through `resolversFromVault`, exactly as `palisade up` wires it.
 */
export const vaultResolvers: ResolverFactory = {
  label: 'vault, encrypted',
  create: async ({ secrets }) => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-vault-'));
    const state = await openProjectState(dir, { env: {}, onKeyCreated: () => undefined });
    for (const [name, value] of Object.entries(secrets)) await state.vault.admin.setSecret(name, new TextEncoder().encode(value));
    const r = resolversFromVault(state.vault);
    return { secrets: r.secrets, kv: r.kv, close: () => state.close() };
  },
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
export const resolverFactories: ResolverFactory[] = [memoryResolvers, vaultResolvers];

/** KV at the vault's API: encrypted namespace vs the same store calls with plaintext bytes. */
export interface VaultKvApiResult {
  readonly encryptedGetUs: number;
  readonly encryptedPutUs: number;
  readonly plainGetUs: number;
  readonly plainPutUs: number;
}

/**
 * `vault.kv(fn).get/put` (HMAC of the key, AES-256-GCM of name and value, then the store's
 * `kvGet`/`kvPut`) against the same `kvGet`/`kvPut` on the same SQLite database with the key and
 * value as plain bytes: the difference is the encryption's own share, without the isolate → worker
 * → gateway channel. Alternating blocks, median of rounds.
 */
export async function measureVaultKvApi(options: { rounds?: number; ops?: number } = {}): Promise<VaultKvApiResult> {
  const rounds = options.rounds ?? 20;
  const ops = options.ops ?? 500;
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-vault-api-'));
  const state = await openProjectState(dir, { env: {}, onKeyCreated: () => undefined });
  // A second connection to the same database for the plaintext calls (the vault's store is not
  // exposed); both run the same statements on the same table.
  const raw = openSqliteStore(join(dir, '.palisade', 'state.db'));
  const ns = state.vault.kv('bench');
  const value = new TextEncoder().encode('value-'.padEnd(64, 'x'));
  const keys = Array.from({ length: 16 }, (_, i) => `k${i}`);
  const plainKeys = keys.map((k) => new TextEncoder().encode(k));
  const block = async (op: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < ops; i++) await op();
    return ((performance.now() - t0) * 1000) / ops;
  };
  let i = 0;
  const encPut = () => ns.put(keys[i++ % 16] as string, value);
  const encGet = () => ns.get(keys[i++ % 16] as string);
  const plainPut = () => {
    const k = plainKeys[i++ % 16] as Uint8Array;
    return raw.vault.kvPut('plain', k, k, value, Date.now());
  };
  const plainGet = () => raw.vault.kvGet('plain', plainKeys[i++ % 16] as Uint8Array);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  try {
    await block(encPut);
    await block(plainPut);
    const out = { encGet: [] as number[], encPut: [] as number[], plainGet: [] as number[], plainPut: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      out.encPut.push(await block(encPut));
      out.plainPut.push(await block(plainPut));
      out.encGet.push(await block(encGet));
      out.plainGet.push(await block(plainGet));
    }
    return { encryptedGetUs: median(out.encGet), encryptedPutUs: median(out.encPut), plainGetUs: median(out.plainGet), plainPutUs: median(out.plainPut) };
  } finally {
    await raw.close();
    await state.close();
  }
}

/** `npm run bench` entry. */
export async function run(ctx: { readonly quick?: boolean } = {}): Promise<{ rows: Array<{ scenario: string; metric: string; palisade: string; reference: string; ratio: string }>; data: { functions: SecretsKvResult[]; vaultApi: VaultKvApiResult } }> {
  const results: SecretsKvResult[] = [];
  for (const f of resolverFactories) results.push(await measureSecretsKv(f, { rounds: ctx.quick === true ? 5 : 20 }));
  const api = await measureVaultKvApi({ rounds: ctx.quick === true ? 5 : 20 });
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
  for (const [metric, enc, plain] of [
    ['kv get at the vault API: µs/op', api.encryptedGetUs, api.plainGetUs],
    ['kv put at the vault API: µs/op', api.encryptedPutUs, api.plainPutUs],
  ] as const) {
    rows.push({ scenario: 'secrets and kv (vault.kv(fn), encrypted)', metric, palisade: us(enc), reference: `${us(plain)} (same store calls, plaintext)`, ratio: `${(enc / Math.max(0.01, plain)).toFixed(2)}×` });
  }
  return { rows, data: { functions: results, vaultApi: api } };
}

// Run directly: `node dist/bench/scenarios/secrets-kv.js` prints µs per operation.
if (process.argv[1]?.endsWith('secrets-kv.js')) {
  for (const f of resolverFactories) {
    const r = await measureSecretsKv(f, { rounds: 10 });
    process.stdout.write(`${r.label}: secret read cached ${r.cachedReadUs.toFixed(2)} µs/op, uncached ${r.uncachedReadUs.toFixed(2)} µs/op; kv get ${r.kvGetUs.toFixed(2)} µs/op, kv put ${r.kvPutUs.toFixed(2)} µs/op\n`);
  }
  const api = await measureVaultKvApi({ rounds: 10 });
  process.stdout.write(`vault API: kv get ${api.encryptedGetUs.toFixed(2)} µs/op encrypted vs ${api.plainGetUs.toFixed(2)} plaintext (${(api.encryptedGetUs / api.plainGetUs).toFixed(2)}×); kv put ${api.encryptedPutUs.toFixed(2)} vs ${api.plainPutUs.toFixed(2)} (${(api.encryptedPutUs / api.plainPutUs).toFixed(2)}×)\n`);
}
