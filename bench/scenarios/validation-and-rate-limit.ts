// Scenario: the cost of request validation and rate limiting (issue "The front door under
// attack", benchmarks). One private POST route with a JSON Schema (ajv, compiled at load), a
// `contentTypes` check and a per-principal rate limit (high enough never to refuse), against
// the same private route without them, in the same gateway process, same run, same body.
// Both routes authenticate the caller (a static bearer accepted by a trivial authenticator) and
// answer from an in-process function, so the difference is the gateway's own work: with a real
// worker and isolate behind both routes the relative cost would be smaller still.
// Target: validation plus rate limiting cost under 10% of throughput (req/s ratio >= 0.90).
// Rows: requests per second, p99 latency, and the server process's CPU time per request
// (process.cpuUsage, the least sensitive to a busy machine: req/s ratio ≈ 1 / CPU ratio when the
// server is CPU-bound).
//
// Standalone: `npm run build && node dist/bench/scenarios/validation-and-rate-limit.js [--quick]`.
// As a module: `run(ctx)` returns rows `{ scenario, metric, palisade, reference, ratio }` where
// `palisade` is the route with validation and limits and `reference` the route without.
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createInsecureLoopbackHttpGateway, type Authenticator, type FunctionInvoker } from '../../src/gateway/index.js';
import { silentLogger, systemClock } from '../../src/kernel/index.js';
import type { RouteSpec } from '../../src/manifest/index.js';

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

const orderSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sku', 'quantity', 'customer'],
  properties: {
    sku: { type: 'string', pattern: '^[A-Z]{3}-[0-9]{4}$' },
    quantity: { type: 'integer', minimum: 1, maximum: 100 },
    note: { type: 'string', maxLength: 200 },
    customer: {
      type: 'object',
      additionalProperties: false,
      required: ['email', 'id'],
      properties: { email: { type: 'string', format: 'email' }, id: { type: 'string', format: 'uuid' } },
    },
    tags: { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 20 } },
  },
};
const BODY = JSON.stringify({ sku: 'ABC-1234', quantity: 3, note: 'leave at the door', customer: { email: 'ada@example.com', id: '0f8fad5b-d9cb-469f-a165-70867728950e' }, tags: ['gift', 'express'] });

const base = { methods: ['POST' as const], function: 'orders', public: false, maxBodyBytes: 16 * 1024, auth: ['bench'] };
const routes: RouteSpec[] = [
  { index: 0, path: '/plain', ...base },
  { index: 1, path: '/guarded', ...base, schema: { POST: { file: 'order.json', schema: orderSchema } }, contentTypes: ['application/json'], rateLimit: { points: 999_999_999, durationSec: 3600, burst: 0, by: 'principal' } },
];

async function serve(): Promise<void> {
  const authenticator: Authenticator = {
    authenticate: async ({ headers }) =>
      headers.authorization === 'Bearer bench' ? { ok: true, principal: { type: 'User', id: 'bench', roles: [], mfa: true, authMethod: 'builtin', issuer: 'bench' } } : { ok: false, reason: 'no-credentials', challenge: 'Bearer' },
  };
  const reply = Buffer.from('{"ok":true}');
  const invoker: FunctionInvoker = { invoke: async () => ({ status: 200, headers: [['content-type', 'application/json']], body: reply }) };
  const gateway = createInsecureLoopbackHttpGateway(
    { host: '127.0.0.1', port: 0, routes, limits: { maxHeaderBytes: 16384, headersTimeoutMs: 10000, requestTimeoutMs: 30000 } },
    { invoker, authenticator, authorizer: { authorize: () => ({ effect: 'allow', reason: 'permit', policyIds: [], errors: [] }), authorizeAdmin: () => ({ effect: 'deny', reason: 'no-permit', policyIds: [], errors: [] }) }, audit: { append: async () => undefined }, logger: silentLogger, clock: systemClock },
  );
  const { port } = await gateway.listen();
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  // CPU time of this server process (user + system, µs), asked for before and after each round.
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

async function measure(child: ChildProcess, port: number, path: string, connections: number, durationS: number): Promise<{ rps: number; p99: number; non2xx: number; cpuUsPerRequest: number }> {
  const before = await serverCpuUs(child);
  const r = await autocannon({ url: `http://127.0.0.1:${port}${path}`, method: 'POST', headers: { authorization: 'Bearer bench', 'content-type': 'application/json' }, body: BODY, connections, duration: durationS });
  const after = await serverCpuUs(child);
  return { rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx + r.errors, cpuUsPerRequest: r.requests.total > 0 ? (after - before) / r.requests.total : 0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Runs the scenario and returns its rows. */
export async function run(ctx: ScenarioContext = {}): Promise<ScenarioRow[]> {
  const connections = ctx.connections ?? (ctx.quick === true ? 16 : 32);
  const durationS = ctx.durationS ?? (ctx.quick === true ? 2 : 5);
  const rounds = ctx.rounds ?? (ctx.quick === true ? 3 : 5);
  const pinned = spawnSync('taskset', ['--version']).status === 0 && availableParallelism() >= 2;
  const self = fileURLToPath(import.meta.url);
  const child: ChildProcess = fork(self, ['--serve'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
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
    await measure(child, port, '/plain', connections, 1);
    await measure(child, port, '/guarded', connections, 1);
    const plain: number[] = [];
    const guarded: number[] = [];
    const plainP99: number[] = [];
    const guardedP99: number[] = [];
    const plainCpu: number[] = [];
    const guardedCpu: number[] = [];
    // Alternate the two routes so that drift on a shared machine hits both alike.
    for (let i = 0; i < rounds; i++) {
      const a = await measure(child, port, '/plain', connections, durationS);
      const b = await measure(child, port, '/guarded', connections, durationS);
      if (a.non2xx + b.non2xx > 0) throw new Error(`non-2xx answers during the bench (${a.non2xx} plain, ${b.non2xx} guarded)`);
      plain.push(a.rps);
      guarded.push(b.rps);
      plainP99.push(a.p99);
      guardedP99.push(b.p99);
      plainCpu.push(a.cpuUsPerRequest);
      guardedCpu.push(b.cpuUsPerRequest);
    }
    const scenario = 'private POST: JSON Schema + contentTypes + rateLimit vs none';
    const rps = { palisade: Math.round(median(guarded)), reference: Math.round(median(plain)) };
    const p99 = { palisade: median(guardedP99), reference: median(plainP99) };
    // Server CPU per request is less sensitive to a busy machine than requests per second.
    const cpu = { palisade: Math.round(median(guardedCpu) * 10) / 10, reference: Math.round(median(plainCpu) * 10) / 10 };
    return [
      { scenario, metric: 'gateway CPU µs/request', ...cpu, ratio: Math.round((cpu.palisade / cpu.reference) * 1000) / 1000 },
      { scenario, metric: 'req/s', ...rps, ratio: Math.round((rps.palisade / rps.reference) * 1000) / 1000 },
      { scenario, metric: 'p99 ms', ...p99, ratio: p99.reference === 0 ? 0 : Math.round((p99.palisade / p99.reference) * 1000) / 1000 },
    ];
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
  }
}
