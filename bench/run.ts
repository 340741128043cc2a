// npm run bench [-- --quick] [-- --update-readme]
//
// Measures Palisade against reference points in one run on one machine and prints ratios.
// Servers run as child processes pinned to core 0 and the load generator (autocannon, in this
// process) to core 1 when `taskset` and two cores are available.
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import ivm from 'isolated-vm';
import { ensureLocalTls } from '../src/gateway/index.js';
import { systemClock, silentLogger } from '../src/kernel/index.js';
import { buildPrelude, compilePrelude, createWorkerPool, FunctionSandbox, SparePool, type WorkerFunction } from '../src/runtime/index.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const quick = process.argv.includes('--quick');
const updateReadme = process.argv.includes('--update-readme');
const config = quick
  ? { warmupS: 1, rounds: 2, durationS: 2, connections: 16, samples: 30 }
  : { warmupS: 3, rounds: 5, durationS: 5, connections: 32, samples: 200 };

// ---------- pinning ----------
const coreCount = availableParallelism(); // read before pinning narrows this process's view
const hasTaskset = spawnSync('taskset', ['--version']).status === 0;
const pinned = hasTaskset && coreCount >= 2;
if (pinned) spawnSync('taskset', ['-cp', '1', String(process.pid)]);
const pinning = pinned ? 'servers (and their workers) pinned to core 0, load generator to core 1 (taskset)' : `not pinned (${hasTaskset ? 'fewer than 2 cores' : 'taskset not available'})`;

function launch(args: string[], env: NodeJS.ProcessEnv = {}, stderrFile?: string): ChildProcess {
  const cmd = pinned ? 'taskset' : process.execPath;
  const argv = pinned ? ['-c', '0', process.execPath, ...args] : args;
  const stderr = stderrFile === undefined ? 'ignore' : openSync(stderrFile, 'a');
  return spawn(cmd, argv, { stdio: ['ignore', 'pipe', stderr], env: { ...process.env, ...env } });
}

function firstLine<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start')), 60_000);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const nl = out.indexOf('\n');
      if (nl === -1) return;
      clearTimeout(timer);
      resolve(JSON.parse(out.slice(0, nl)) as T);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${String(code)}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Resident memory of a process and all its descendants, in MiB (Linux /proc). */
function treeRssMb(pid: number): number | null {
  try {
    const children = new Map<number, number[]>();
    const rss = new Map<number, number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const status = readFileSync(`/proc/${entry}/status`, 'utf8');
        const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
        rss.set(Number(entry), Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0));
        children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
      } catch {
        // process went away
      }
    }
    let total = 0;
    const stack = [pid];
    while (stack.length > 0) {
      const p = stack.pop() as number;
      total += rss.get(p) ?? 0;
      stack.push(...(children.get(p) ?? []));
    }
    return Math.round(total / 1024);
  } catch {
    return null;
  }
}

interface LoadResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly rssMb: number | null;
  readonly rounds: readonly number[];
}

async function load(url: string, serverPid: number, options: { headers?: Record<string, string>; ca?: string } = {}): Promise<LoadResult> {
  const base = { url, connections: config.connections, pipelining: 1, headers: options.headers ?? {}, ...(options.ca === undefined ? {} : { tlsOptions: { ca: options.ca, servername: 'localhost' } }) };
  await autocannon({ ...base, duration: config.warmupS });
  const rounds: autocannon.Result[] = [];
  for (let i = 0; i < config.rounds; i++) rounds.push(await autocannon({ ...base, duration: config.durationS }));
  const rssMb = treeRssMb(serverPid);
  const sorted = [...rounds].sort((a, b) => a.requests.average - b.requests.average);
  const median = sorted[Math.floor(sorted.length / 2)] as autocannon.Result;
  return {
    rps: Math.round(median.requests.average),
    p50: median.latency.p50,
    p99: median.latency.p99,
    // Closed-loop load: mean latency = connections / throughput (Little's law), exact where
    // autocannon's histogram has only whole milliseconds.
    mean: config.connections / median.requests.average * 1000,
    errors: rounds.reduce((n, r) => n + r.errors + r.timeouts, 0),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    rssMb,
    rounds: rounds.map((r) => Math.round(r.requests.average)),
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function timeSamples(n: number, fn: () => Promise<void>): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

// ---------- HTTP scenarios ----------
async function benchProject(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-'));
  mkdirSync(join(dir, 'functions'));
  writeFileSync(join(dir, 'functions', 'hello.ts'), "export default { async fetch(): Promise<Response> { return Response.json({ message: 'hello', ok: true }); } };\n");
  writeFileSync(join(dir, 'palisade.yaml'), 'name: bench\nfunctions:\n  hello:\n    source: functions/hello.ts\nroutes:\n  - { path: /hello, function: hello, public: true }\n');
  return dir;
}

async function http(): Promise<Record<string, LoadResult>> {
  const out: Record<string, LoadResult> = {};
  const cli = join(root, 'dist', 'src', 'cli', 'main.js');
  const logs = mkdtempSync(join(tmpdir(), 'palisade-bench-logs-'));

  const run = async (name: string, child: ChildProcess, path: string, opts: { headers?: Record<string, string>; ca?: string; scheme: 'http' | 'https' }) => {
    try {
      const info = await firstLine<{ port?: number; url?: string; token?: string; caFile?: string | null }>(child);
      const url = info.url !== undefined ? `${info.url}${path}` : `${opts.scheme}://127.0.0.1:${String(info.port)}${path}`;
      const headers = info.token === undefined ? opts.headers : { ...opts.headers, authorization: `Bearer ${info.token}` };
      const ca = typeof info.caFile === 'string' ? readFileSync(info.caFile, 'utf8') : opts.ca;
      out[name] = await load(url, child.pid ?? 0, { ...(headers === undefined ? {} : { headers }), ...(ca === undefined ? {} : { ca }) });
      process.stderr.write(`  ${name}: ${out[name]?.rps} req/s (rounds ${out[name]?.rounds.join(', ')})\n`);
    } finally {
      await stop(child);
    }
  };

  const tlsDir = mkdtempSync(join(tmpdir(), 'palisade-bench-tls-'));
  const tls = await ensureLocalTls(tlsDir, systemClock);
  const certFile = join(tlsDir, 'tls', 'server.pem');
  const keyFile = join(tlsDir, 'tls', 'server-key.pem');

  await run('raw-http', launch([join(root, 'dist', 'bench', 'servers', 'raw-http.js')]), '/hello', { scheme: 'http' });
  await run('raw-https', launch([join(root, 'dist', 'bench', 'servers', 'raw-http.js')], { BENCH_TLS_CERT: certFile, BENCH_TLS_KEY: keyFile }), '/hello', { scheme: 'https', ...(tls.caFile === undefined ? {} : { ca: readFileSync(tls.caFile, 'utf8') }) });
  const project = await benchProject();
  await run('palisade-https', launch([cli, 'up', project, '--port', '0', '--json', '--log-level', 'info'], {}, join(logs, 'palisade-https.log')), '/hello', { scheme: 'https' });
  await run('palisade-http', launch([cli, 'up', project, '--port', '0', '--json', '--log-level', 'info', '--allow-insecure-http'], {}, join(logs, 'palisade-http.log')), '/hello', { scheme: 'http' });
  await run('secure-stack', launch([join(root, 'dist', 'bench', 'servers', 'secure-stack.js')]), '/hello', { scheme: 'http' });
  return out;
}

// ---------- in-process measurements ----------
async function micro(): Promise<Record<string, { p50: number; p99: number }>> {
  const out: Record<string, { p50: number; p99: number }> = {};
  const prelude = await compilePrelude(await buildPrelude());
  const fn: WorkerFunction = { name: 'hello', code: "module.exports = { default: { async fetch() { return Response.json({ message: 'hello', ok: true }); } } };", limits: { memoryMb: 64, cpuMs: 50, timeoutMs: 2000, maxResponseBytes: 1 << 20 }, bindingsJson: '{}' };
  const req = { method: 'GET', url: 'https://localhost/hello', headers: [['accept', '*/*']] as Array<[string, string]>, body: null, requestId: 'bench' };

  out['bare-isolate-cold'] = await timeSamples(config.samples, async () => {
    const iso = new ivm.Isolate({ memoryLimit: 64 });
    const ctx = await iso.createContext();
    await ctx.evalClosure('return 1');
    iso.dispose();
  });
  out['cold-no-spare'] = await timeSamples(config.samples, async () => {
    const sandbox = new FunctionSandbox(fn, new SparePool(prelude), () => undefined);
    await sandbox.warm();
    sandbox.dispose();
  });
  const spares = new SparePool(prelude);
  const samples: number[] = [];
  for (let i = 0; i < config.samples; i++) {
    await spares.whenReady(64);
    const sandbox = new FunctionSandbox(fn, spares, () => undefined);
    const t0 = performance.now();
    await sandbox.warm();
    samples.push(performance.now() - t0);
    sandbox.dispose();
  }
  out['cold-with-spare'] = { p50: percentile(samples, 50), p99: percentile(samples, 99) };
  await spares.close();

  const sandbox = new FunctionSandbox(fn, new SparePool(prelude), () => undefined);
  await sandbox.warm();
  await timeSamples(50, async () => void (await sandbox.invoke(req)));
  out['warm-invoke-in-process'] = await timeSamples(config.samples * 5, async () => void (await sandbox.invoke(req)));
  sandbox.dispose();

  const iso = new ivm.Isolate({ memoryLimit: 64 });
  const ctx = await iso.createContext();
  const ref = (await ctx.evalClosure('return async (r) => ({ status: 200, headers: [["content-type", "application/json"]], body: new ArrayBuffer(30) })', [], { result: { reference: true } })) as ivm.Reference;
  await timeSamples(50, async () => void (await ref.apply(undefined, [req], { arguments: { copy: true }, result: { copy: true, promise: true } })));
  out['bare-isolate-apply'] = await timeSamples(config.samples * 5, async () => void (await ref.apply(undefined, [req], { arguments: { copy: true }, result: { copy: true, promise: true } })));
  iso.dispose();

  const pool = createWorkerPool({ prelude: await buildPrelude(), segments: [{ name: 'default', workers: 1 }], functions: [{ name: 'hello', source: '', segment: 'default', limits: fn.limits, bindings: {} }], bundles: new Map([['hello', fn.code]]) });
  await pool.start();
  await timeSamples(100, async () => void (await pool.invoke('hello', req)));
  out['worker-round-trip'] = await timeSamples(config.samples * 5, async () => void (await pool.invoke('hello', req)));
  await pool.close();

  const echo = fork(join(root, 'dist', 'bench', 'servers', 'ipc-echo.js'), [], { serialization: 'advanced' });
  const roundTrip = (message: unknown) => new Promise<void>((resolve) => {
    echo.once('message', () => resolve());
    echo.send(message as Parameters<ChildProcess['send']>[0]);
  });
  const message = { t: 'invoke', id: 1, fn: 'hello', req };
  await timeSamples(100, () => roundTrip(message));
  out['ipc-echo-round-trip'] = await timeSamples(config.samples * 5, () => roundTrip(message));
  echo.disconnect();
  void silentLogger;
  return out;
}

// ---------- report ----------
interface Row {
  scenario: string;
  metric: string;
  palisade: string;
  reference: string;
  ratio: string;
}

const fmt = (n: number | null | undefined, digits = 0) => (n === null || n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(digits));
const ratio = (a: number | null | undefined, b: number | null | undefined) => (a === null || b === null || a === undefined || b === undefined || b === 0 ? 'n/a' : `${(a / b).toFixed(2)}×`);

function rows(h: Record<string, LoadResult>, m: Record<string, { p50: number; p99: number }>): Row[] {
  const r: Row[] = [];
  const ph = h['palisade-https'];
  const pp = h['palisade-http'];
  const rh = h['raw-http'];
  const rs = h['raw-https'];
  const st = h['secure-stack'];
  r.push({ scenario: 'public route, https', metric: 'req/s', palisade: fmt(ph?.rps), reference: `${fmt(rs?.rps)} (raw node:https)`, ratio: ratio(ph?.rps, rs?.rps) });
  r.push({ scenario: 'public route, https', metric: 'req/s', palisade: fmt(ph?.rps), reference: `${fmt(rh?.rps)} (raw node:http)`, ratio: ratio(ph?.rps, rh?.rps) });
  r.push({ scenario: 'public route, https', metric: 'mean latency ms (p99, 1 ms resolution)', palisade: `${fmt(ph?.mean, 2)} (${fmt(ph?.p99)})`, reference: `${fmt(rs?.mean, 2)} (${fmt(rs?.p99)}) raw node:https`, ratio: ratio(ph?.mean, rs?.mean) });
  r.push({ scenario: 'public route, http (loopback)', metric: 'req/s', palisade: fmt(pp?.rps), reference: `${fmt(rh?.rps)} (raw node:http)`, ratio: ratio(pp?.rps, rh?.rps) });
  r.push({ scenario: 'public route, http (loopback)', metric: 'mean latency ms (p99, 1 ms resolution)', palisade: `${fmt(pp?.mean, 2)} (${fmt(pp?.p99)})`, reference: `${fmt(rh?.mean, 2)} (${fmt(rh?.p99)}) raw node:http`, ratio: ratio(pp?.mean, rh?.mean) });
  r.push({ scenario: 'public route, http (loopback)', metric: 'req/s', palisade: fmt(pp?.rps), reference: `${fmt(st?.rps)} (fastify+jose+cedar+pino+isolate)`, ratio: ratio(pp?.rps, st?.rps) });
  r.push({ scenario: 'private route with valid JWT', metric: 'req/s', palisade: 'not yet (identity)', reference: `${fmt(st?.rps)} (fastify+jose+cedar+pino+isolate)`, ratio: 'n/a' });
  r.push({ scenario: 'server RSS under load', metric: 'MiB', palisade: `${fmt(ph?.rssMb)} (gateway + 1 worker)`, reference: `${fmt(rs?.rssMb)} (raw node:https)`, ratio: ratio(ph?.rssMb, rs?.rssMb) });
  r.push({ scenario: 'isolate cold start, spare ready', metric: 'p50 ms', palisade: fmt(m['cold-with-spare']?.p50, 2), reference: `${fmt(m['bare-isolate-cold']?.p50, 2)} (bare isolated-vm isolate+context)`, ratio: ratio(m['cold-with-spare']?.p50, m['bare-isolate-cold']?.p50) });
  r.push({ scenario: 'isolate cold start, no spare', metric: 'p50 ms', palisade: fmt(m['cold-no-spare']?.p50, 2), reference: `${fmt(m['bare-isolate-cold']?.p50, 2)} (bare isolated-vm isolate+context)`, ratio: ratio(m['cold-no-spare']?.p50, m['bare-isolate-cold']?.p50) });
  r.push({ scenario: 'warm invoke, in process', metric: 'p50 µs', palisade: fmt((m['warm-invoke-in-process']?.p50 ?? NaN) * 1000), reference: `${fmt((m['bare-isolate-apply']?.p50 ?? NaN) * 1000)} (bare isolated-vm apply)`, ratio: ratio(m['warm-invoke-in-process']?.p50, m['bare-isolate-apply']?.p50) });
  r.push({ scenario: 'warm invoke via worker', metric: 'p50 µs', palisade: fmt((m['worker-round-trip']?.p50 ?? NaN) * 1000), reference: `${fmt((m['ipc-echo-round-trip']?.p50 ?? NaN) * 1000)} (IPC echo round trip)`, ratio: ratio(m['worker-round-trip']?.p50, m['ipc-echo-round-trip']?.p50) });
  return r;
}

function table(r: Row[]): string {
  return ['| scenario | metric | Palisade | reference | ratio |', '| --- | --- | --- | --- | --- |', ...r.map((x) => `| ${x.scenario} | ${x.metric} | ${x.palisade} | ${x.reference} | ${x.ratio} |`)].join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  process.stderr.write(`palisade bench (${quick ? 'quick' : 'full'}): ${pinning}\n`);
  process.stderr.write('in-process measurements…\n');
  const m = await micro();
  process.stderr.write('http scenarios…\n');
  const h = await http();
  const r = rows(h, m);
  const date = new Date().toISOString();
  const cpu = cpus()[0]?.model ?? 'unknown';
  const header = `Measured ${date.slice(0, 10)}, ${quick ? 'quick' : 'full'} run, ${coreCount} cores (${cpu}), Node ${process.version}; ${pinning}; ${config.connections} connections, median of ${config.rounds} rounds of ${config.durationS} s after ${config.warmupS} s warm-up.`;
  const md = `${header}\n\n${table(r)}\n`;
  process.stdout.write(`\n${md}\n`);
  const result = { date, mode: quick ? 'quick' : 'full', machine: { cores: coreCount, cpu, node: process.version }, pinning, config, http: h, inProcess: m, rows: r, elapsedS: Math.round((Date.now() - started) / 1000) };
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${date.replace(/[:.]/g, '-')}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  if (updateReadme) {
    const readme = join(root, 'README.md');
    const text = readFileSync(readme, 'utf8');
    writeFileSync(readme, text.replace(/<!-- bench-table -->[\s\S]*<!-- \/bench-table -->/, `<!-- bench-table -->\n${md}<!-- /bench-table -->`));
  }
  process.stderr.write(`done in ${result.elapsedS} s; results in bench/results/latest.json\n`);
}

await main();
