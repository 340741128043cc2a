// Authorization decisions: Palisade's policy engine (slicing + memo) against a direct cedar-wasm
// `statefulIsAuthorized` over the whole pre-parsed set, at 10, 100, 1,000 and 10,000 policies,
// in one process and one run. Then a soak: 2 million decisions (200,000 with --quick) in a forked
// process that loads the same modules as the gateway (the policy engine and the runtime, which
// loads the isolated-vm addon) and also runs an isolate, reporting whether it crashed.
//
// Standalone: node dist/bench/scenarios/policy-decisions.js [--quick]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { preparsePolicySet, statefulIsAuthorized, type EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { Principal } from '../../src/kernel/index.js';
import { buildPrincipalEntities, compilePolicySet, createPolicyEngine, ipValue, principalUid, toDecision, type AuthorizationRequest, type CompiledPolicySet, type PolicySource } from '../../src/policy/index.js';
import type { BenchContext, BenchScenario, ScenarioRowInput } from '../harness.js';

const ROLES = 20;

/** `n` policies shaped like generated and custom ones: per-route permits by role, user and key, MFA forbids, and three set-wide policies. */
function policySources(n: number): PolicySource[] {
  const out: PolicySource[] = [
    { id: 'global:risk', policy: 'forbid(principal, action, resource) when { context.risk >= 90 };', origin: { file: 'bench.cedar', line: 1 }, generated: false },
    { id: 'global:ops', policy: 'permit(principal in Role::"ops", action == Action::"invoke", resource) when { context.ip.isInRange(ip("10.0.0.0/8")) };', origin: { file: 'bench.cedar', line: 2 }, generated: false },
    { id: 'global:banned', policy: 'forbid(principal in Role::"banned", action, resource);', origin: { file: 'bench.cedar', line: 3 }, generated: false },
  ];
  for (let i = 0; out.length < n; i++) {
    const route = `Route::"GET /r${i}"`;
    const kind = i % 10;
    const text =
      kind < 7
        ? `permit(principal, action == Action::"invoke", resource == ${route}) when { principal in Role::"role${i % ROLES}" || principal in Role::"role${(i + 7) % ROLES}" };`
        : kind === 7
          ? `forbid(principal, action == Action::"invoke", resource == ${route}) unless { context.mfa };`
          : kind === 8
            ? `permit(principal, action == Action::"invoke", resource == ${route}) when { principal.issuerName == "builtin" && principal.subject == "u-${i % 500}" };`
            : `permit(principal is ApiKey, action == Action::"invoke", resource == ${route}) when { principal.subject == "apikey:k${i % 100}" };`;
    out.push({ id: `route:GET /r${i}#${kind}`, policy: text, origin: { file: 'palisade.yaml', line: i + 1 }, generated: true });
  }
  return out.slice(0, n);
}

/** A deterministic pseudo-random sequence (xorshift32). */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** `count` distinct requests over `routes` routes: 500 users and keys with 1-3 roles, 50 client addresses. */
function requestPool(routes: number, count: number, seed: number, time: number): AuthorizationRequest[] {
  const r = rng(seed);
  const out: AuthorizationRequest[] = [];
  for (let i = 0; i < count; i++) {
    const isKey = r() < 0.2;
    const roles = Array.from({ length: 1 + Math.floor(r() * 3) }, () => (r() < 0.02 ? 'ops' : `role${Math.floor(r() * ROLES)}`));
    const p: Principal = isKey
      ? { type: 'ServiceAccount', id: `apikey:k${Math.floor(r() * 100)}`, roles, mfa: false, authMethod: 'api-key', issuer: 'urn:palisade:api-keys' }
      : { type: 'User', id: `u-${Math.floor(r() * 500)}`, roles, mfa: r() < 0.5, authMethod: 'builtin', issuer: 'https://127.0.0.1:8443/_palisade/auth' };
    const route = Math.floor(r() * Math.max(1, routes));
    const uid = { type: 'Route', id: `GET /r${route}` };
    out.push({
      principal: principalUid(p),
      action: { type: 'Action', id: 'invoke' },
      resource: uid,
      context: { mfa: p.mfa, authMethod: p.authMethod, authTime: 0, ip: ipValue(`10.0.${Math.floor(r() * 50)}.1`), time, risk: Math.floor(r() * 10) * 10, method: 'GET' },
      entities: [
        ...buildPrincipalEntities(p, isKey ? 'api-key' : 'builtin'),
        { uid, attrs: { path: `/r${route}`, methods: ['GET'], function: `f${route % 10}`, public: false }, parents: [{ type: 'Function', id: `f${route % 10}` }] },
        { uid: { type: 'Function', id: `f${route % 10}` }, attrs: { name: `f${route % 10}`, segment: 'default' }, parents: [{ type: 'Segment', id: 'default' }] },
        { uid: { type: 'Segment', id: 'default' }, attrs: {}, parents: [] },
      ],
    });
  }
  return out;
}

function compile(n: number): CompiledPolicySet {
  const result = compilePolicySet(policySources(n));
  if (!result.ok || result.value === undefined) throw new Error(`bench policies do not validate: ${result.errors[0]?.message ?? ''}`);
  return result.value;
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

/** Times `fn` once per request until `max` samples or `budgetMs` elapsed; µs per call. */
function sample(requests: readonly AuthorizationRequest[], max: number, budgetMs: number, fn: (r: AuthorizationRequest) => unknown): number[] {
  const out: number[] = [];
  const start = performance.now();
  for (let i = 0; i < max && performance.now() - start < budgetMs; i++) {
    const r = requests[i % requests.length]!;
    const t0 = performance.now();
    fn(r);
    out.push((performance.now() - t0) * 1000);
  }
  return out;
}

interface SizeResult {
  readonly policies: number;
  readonly direct: { p50: number; p99: number; samples: number };
  readonly sliced: { p50: number; p99: number; samples: number };
  readonly memo: { p50: number; p99: number; samples: number };
  readonly mismatches: number;
}

function measureSize(n: number, quick: boolean): SizeResult {
  const set = compile(n);
  const time = Math.floor(Date.now() / 1000);
  const requests = requestPool(n, 2000, 7 + n, time);
  const id = `bench-direct-${n}`;
  const staticPolicies: Record<string, string> = {};
  for (const p of set.policies) staticPolicies[p.id] = p.policy as string;
  const parsed = preparsePolicySet(id, { staticPolicies });
  if (parsed.type !== 'success') throw new Error('preparse failed');
  const direct = (r: AuthorizationRequest) => statefulIsAuthorized({ principal: r.principal, action: r.action, resource: r.resource, context: r.context, entities: r.entities as EntityJson[], preparsedPolicySetId: id });
  const sliced = createPolicyEngine(set, { memoSize: 0 });
  const memo = createPolicyEngine(set);
  // Same answers, or the speed means nothing.
  let mismatches = 0;
  for (const r of requests.slice(0, 300)) {
    const want = JSON.stringify(toDecision(direct(r)));
    if (JSON.stringify(sliced.decide(r)) !== want || JSON.stringify(memo.decide(r)) !== want) mismatches++;
  }
  for (const r of requests) memo.decide(r); // warm: the pool repeats, as real callers do
  const max = quick ? 1000 : 5000;
  const budget = quick ? 1500 : 5000;
  const d = sample(requests, max, budget, direct);
  const s = sample(requests, max, budget, (r) => sliced.decide(r));
  const m = sample(requests, max * 4, budget, (r) => memo.decide(r));
  const stat = (xs: number[]) => ({ p50: Math.round(percentile(xs, 50) * 100) / 100, p99: Math.round(percentile(xs, 99) * 100) / 100, samples: xs.length });
  return { policies: n, direct: stat(d), sliced: stat(s), memo: stat(m), mismatches };
}

interface SoakResult {
  readonly decisions: number;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly crashed: boolean;
  readonly seconds: number;
  readonly rssMb?: number;
  readonly node: string;
}

/** Forks this module with `--soak N` and waits: a V8 or WASM fatal error kills the child, not the bench. */
function soak(decisions: number): Promise<SoakResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = fork(fileURLToPath(import.meta.url), ['--soak', String(decisions)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', () => undefined);
    child.once('exit', (code, signal) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      let rssMb: number | undefined;
      let done = 0;
      try {
        const parsed = JSON.parse(last) as { decisions: number; rssMb: number };
        done = parsed.decisions;
        rssMb = parsed.rssMb;
      } catch {
        // no final line: it crashed
      }
      resolve({ decisions: done, exitCode: code, signal, crashed: code !== 0 || done !== decisions, seconds: Math.round((performance.now() - started) / 100) / 10, ...(rssMb === undefined ? {} : { rssMb }), node: process.versions.node });
    });
  });
}

/** The soak itself, in the forked child. */
async function runSoak(decisions: number): Promise<void> {
  // Load what the gateway loads: the runtime (and with it the isolated-vm addon), and host an isolate.
  const { default: ivm } = await import('../../src/runtime/load-isolated-vm.js');
  const isolate = new ivm.Isolate({ memoryLimit: 16 });
  const context = isolate.createContextSync();
  const set = compile(1000);
  // Memo off: every decision is a real statefulIsAuthorized call on its slice.
  const engine = createPolicyEngine(set, { memoSize: 0 });
  const requests = requestPool(1000, 5000, 99, Math.floor(Date.now() / 1000));
  let allowed = 0;
  for (let i = 0; i < decisions; i++) {
    if (engine.decide(requests[i % requests.length]!).effect === 'allow') allowed++;
    if (i % 100_000 === 0) context.evalSync(`${i} + 1`);
  }
  isolate.dispose();
  process.stdout.write(`${JSON.stringify({ decisions, allowed, rssMb: Math.round(process.memoryUsage().rss / 1048576) })}\n`);
}

async function run(ctx: Pick<BenchContext, 'quick' | 'log'>): Promise<{ rows: ScenarioRowInput[]; data: unknown }> {
  const sizes: SizeResult[] = [];
  for (const n of [10, 100, 1000, 10_000]) {
    const r = measureSize(n, ctx.quick);
    ctx.log(`policy decisions at ${n} policies: direct p50 ${r.direct.p50} µs, sliced ${r.sliced.p50} µs, memo ${r.memo.p50} µs${r.mismatches > 0 ? `, ${r.mismatches} MISMATCHES` : ''}`);
    sizes.push(r);
  }
  const soakDecisions = ctx.quick ? 200_000 : 2_000_000;
  ctx.log(`policy soak: ${soakDecisions} decisions in one process...`);
  const soakResult = await soak(soakDecisions);
  ctx.log(`policy soak: ${soakResult.crashed ? `CRASHED (exit ${String(soakResult.exitCode)}, signal ${String(soakResult.signal)})` : 'no crash'} after ${soakResult.decisions} decisions in ${soakResult.seconds} s`);
  const rows: ScenarioRowInput[] = [];
  for (const s of sizes) {
    const scenario = `authorization decision, ${s.policies} policies`;
    rows.push({ scenario, metric: 'p50 µs, memo (warm)', palisade: s.memo.p50, reference: `${s.direct.p50} (direct statefulIsAuthorized, whole set)`, ratio: s.direct.p50 / s.memo.p50 });
    rows.push({ scenario, metric: 'p99 µs, memo (warm)', palisade: s.memo.p99, reference: `${s.direct.p99} (direct)`, ratio: s.direct.p99 / s.memo.p99 });
    rows.push({ scenario, metric: 'p50 µs, sliced, no memo', palisade: s.sliced.p50, reference: `${s.direct.p50} (direct)`, ratio: s.direct.p50 / s.sliced.p50 });
    rows.push({ scenario, metric: 'p99 µs, sliced, no memo', palisade: s.sliced.p99, reference: `${s.direct.p99} (direct)`, ratio: s.direct.p99 / s.sliced.p99 });
  }
  rows.push({ scenario: 'authorization soak (1,000 policies, memo off, isolated-vm loaded)', metric: 'decisions without a crash', palisade: soakResult.crashed ? `CRASHED after ${soakResult.decisions}` : String(soakResult.decisions), reference: `Node ${soakResult.node}, ${soakResult.seconds} s`, ratio: 'n/a' });
  return { rows, data: { sizes, soak: soakResult } };
}

const scenario: BenchScenario = { name: 'policy-decisions', run: (ctx) => run(ctx) };
export default scenario;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const soakAt = process.argv.indexOf('--soak');
  if (soakAt >= 0) {
    await runSoak(Number(process.argv[soakAt + 1]));
  } else {
    const result = await run({ quick: process.argv.includes('--quick'), log: (line) => console.log(line) });
    console.table(result.rows);
  }
}
