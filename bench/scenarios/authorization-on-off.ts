// Scenario: what Cedar authorization costs a private route (issue "Authorization", benchmarks:
// "gateway requests/s with authorization on vs off"). One gateway process serves the same private
// GET route three times, each route with its own authorizer:
//   /off    an allow-all authorizer (test support; no node can be configured this way),
//   /cedar  the real Cedar authorizer of a node (`createPolicyAuthorizer`: slicing + memo) over a
//           manifest whose route is `allow: { roles: [customer] }` plus a custom forbid,
//   /nomemo the same Cedar authorizer with the decision memo off (every request evaluated by
//           cedar-wasm: the worst case, many distinct callers).
// The caller authenticates with a static bearer (a trivial authenticator) and the function answers
// in-process, so the difference is the authorization step alone and the ratio is an upper bound:
// with a real worker and isolate behind the route the relative cost is smaller.
// Target: authorization costs < 10% of the private route's throughput (req/s ratio >= 0.90).
// Rows: req/s, p99 and the server process's CPU µs per request, Cedar vs off, memo and no memo.
//
// Standalone: `npm run build && node dist/bench/scenarios/authorization-on-off.js [--quick]`.
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { allowAllAuthorizer } from '../../src/gateway/allow-all-authorizer.test-support.js';
import { createInsecureLoopbackHttpGateway, type Authenticator, type Authorizer, type FunctionInvoker } from '../../src/gateway/index.js';
import { silentLogger, systemClock } from '../../src/kernel/index.js';
import { validateManifestText } from '../../src/manifest/index.js';
import { createPolicyAuthorizer } from '../../src/policy/index.js';

/** Options a bench runner may pass. */
export interface ScenarioContext {
  readonly quick?: boolean;
  readonly connections?: number;
  readonly durationS?: number;
  readonly rounds?: number;
}

/** One result row. */
export interface ScenarioRow {
  readonly scenario: string;
  readonly metric: string;
  readonly palisade: number;
  readonly reference: number;
  readonly ratio: number;
}

const MANIFEST = `name: authz-bench
identity:
  builtin: { enabled: true, mfa: optional }
functions:
  hello: { source: hello.ts }
routes:
  - { path: /off, methods: [GET], function: hello, allow: { roles: [customer] } }
  - { path: /cedar, methods: [GET], function: hello, allow: { roles: [customer] } }
  - { path: /nomemo, methods: [GET], function: hello, allow: { roles: [customer] } }
  - { path: /refund, methods: [POST], function: hello, allow: { roles: [admin] }, mfa: required }
policies: [custom.cedar]
roles:
  customer: {}
  admin: { mfa: required }
`;
const CUSTOM = '@id("risky") forbid (principal, action == Action::"invoke", resource) when { context.risk >= 80 };\n@id("office") permit (principal in Role::"ops", action == Action::"invoke", resource) when { context.ip.isInRange(ip("10.0.0.0/8")) };\n';

async function serve(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-authz-bench-'));
  writeFileSync(join(dir, 'palisade.yaml'), MANIFEST);
  writeFileSync(join(dir, 'custom.cedar'), CUSTOM);
  const loaded = validateManifestText({ text: MANIFEST, file: join(dir, 'palisade.yaml'), projectDir: dir, checkFiles: false });
  if (!loaded.ok || loaded.value === undefined) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
  const manifest = loaded.value;
  const cedar = createPolicyAuthorizer(manifest);
  const noMemo = createPolicyAuthorizer(manifest, { memoSize: 0 });
  const byPath: Record<string, Authorizer> = {
    '/off': allowAllAuthorizer,
    '/cedar': { authorize: (p, r, f) => cedar.authorizeRoute(p, r, f), authorizeAdmin: (p, a, res, f) => cedar.authorizeAdmin(p, a, res, f) },
    '/nomemo': { authorize: (p, r, f) => noMemo.authorizeRoute(p, r, f), authorizeAdmin: (p, a, res, f) => noMemo.authorizeAdmin(p, a, res, f) },
  };
  const authorizer: Authorizer = {
    authorize: (p, route, f) => (byPath[route.path] ?? allowAllAuthorizer).authorize(p, route, f),
    authorizeAdmin: () => ({ effect: 'deny', reason: 'no-permit', policyIds: [], errors: [] }),
  };
  const authenticator: Authenticator = {
    authenticate: async ({ headers }) =>
      headers.authorization === 'Bearer bench'
        ? { ok: true, principal: { type: 'User', id: 'u-bench', roles: ['customer'], mfa: false, authMethod: 'builtin', issuer: 'https://127.0.0.1:8443/_palisade/auth', authTime: 1_700_000_000 } }
        : { ok: false, reason: 'no-credentials', challenge: 'Bearer' },
  };
  const reply = Buffer.from('{"ok":true}');
  const invoker: FunctionInvoker = { invoke: async () => ({ status: 200, headers: [['content-type', 'application/json']], body: reply }) };
  const gateway = createInsecureLoopbackHttpGateway(
    { host: '127.0.0.1', port: 0, routes: manifest.routes, limits: { maxHeaderBytes: 16384, headersTimeoutMs: 10000, requestTimeoutMs: 30000 } },
    { invoker, authenticator, authorizer, audit: { append: async () => undefined }, logger: silentLogger, clock: systemClock },
  );
  const { port } = await gateway.listen();
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  process.on('message', () => {
    const u = process.cpuUsage();
    process.send?.({ cpuUs: u.user + u.system });
  });
  process.on('SIGTERM', () => void gateway.close(0).then(() => process.exit(0)));
}

function serverCpuUs(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m: { cpuUs: number }) => resolve(m.cpuUs));
    child.send('cpu');
  });
}

interface Round {
  readonly rps: number;
  readonly p99: number;
  readonly cpu: number;
}

async function measure(child: ChildProcess, port: number, path: string, connections: number, durationS: number): Promise<Round & { readonly bad: number }> {
  const before = await serverCpuUs(child);
  const r = await autocannon({ url: `http://127.0.0.1:${port}${path}`, headers: { authorization: 'Bearer bench' }, connections, duration: durationS });
  const after = await serverCpuUs(child);
  return { rps: r.requests.average, p99: r.latency.p99, cpu: r.requests.total > 0 ? (after - before) / r.requests.total : 0, bad: r.non2xx + r.errors };
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const r3 = (n: number) => Math.round(n * 1000) / 1000;

/** Runs the scenario (about 3 × rounds × durationS seconds plus warm-up) and returns its rows. */
export async function run(ctx: ScenarioContext = {}): Promise<ScenarioRow[]> {
  const connections = ctx.connections ?? (ctx.quick === true ? 16 : 32);
  const durationS = ctx.durationS ?? (ctx.quick === true ? 2 : 3);
  const rounds = ctx.rounds ?? 3;
  const pinned = spawnSync('taskset', ['--version']).status === 0 && availableParallelism() >= 2;
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  child.on('error', () => undefined);
  if (pinned && child.pid !== undefined) spawnSync('taskset', ['-cp', '0', String(child.pid)]);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        if (out.includes('\n')) resolve((JSON.parse(out.slice(0, out.indexOf('\n'))) as { port: number }).port);
      });
      child.once('exit', (code) => reject(new Error(`scenario server exited with ${String(code)}`)));
    });
    const paths = ['/off', '/cedar', '/nomemo'] as const;
    for (const p of paths) await measure(child, port, p, connections, 1);
    const results: Record<(typeof paths)[number], Round[]> = { '/off': [], '/cedar': [], '/nomemo': [] };
    // Alternate the routes, and rotate which goes first, so that drift on a shared machine (and
    // the garbage the no-memo route leaves behind) hits all alike.
    for (let i = 0; i < rounds; i++) {
      for (let j = 0; j < paths.length; j++) {
        const p = paths[(i + j) % paths.length] as (typeof paths)[number];
        const m = await measure(child, port, p, connections, durationS);
        if (m.bad > 0) throw new Error(`non-2xx answers on ${p} during the bench (${m.bad})`);
        results[p].push(m);
      }
    }
    const med = (p: (typeof paths)[number], k: keyof Round) => median(results[p].map((r) => r[k]));
    const rows: ScenarioRow[] = [];
    for (const [p, label] of [['/cedar', 'Cedar (memo)'], ['/nomemo', 'Cedar (no memo)']] as const) {
      const scenario = `private GET: ${label} vs authorization off`;
      const rps = { palisade: Math.round(med(p, 'rps')), reference: Math.round(med('/off', 'rps')) };
      const cpu = { palisade: Math.round(med(p, 'cpu') * 10) / 10, reference: Math.round(med('/off', 'cpu') * 10) / 10 };
      const p99 = { palisade: med(p, 'p99'), reference: med('/off', 'p99') };
      rows.push({ scenario, metric: 'req/s', ...rps, ratio: r3(rps.palisade / rps.reference) });
      rows.push({ scenario, metric: 'gateway CPU µs/request', ...cpu, ratio: r3(cpu.palisade / cpu.reference) });
      rows.push({ scenario, metric: 'p99 ms', ...p99, ratio: p99.reference === 0 ? 0 : r3(p99.palisade / p99.reference) });
    }
    return rows;
  } finally {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--serve')) {
    await serve();
  } else {
    if (spawnSync('taskset', ['--version']).status === 0 && availableParallelism() >= 2) spawnSync('taskset', ['-cp', '1', String(process.pid)]);
    const rows = await run({ quick: process.argv.includes('--quick') });
    console.table(rows);
    const memo = rows.find((r) => r.metric === 'req/s' && r.scenario.includes('(memo)'));
    if (memo !== undefined) console.log(`authorization on/off req/s ratio (memo): ${memo.ratio} — target >= 0.90 (authorization < 10% of a private route)`);
  }
}
