// Shared by bench/run.ts and every scenario module in bench/scenarios/: pinning, launching
// servers, the load generator (wrk, else autocannon), and CPU and memory of process trees read
// from /proc. See bench/README.md for the scenario interface.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

/** The repository root. */
export const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
/** The compiled CLI. */
export const cli = join(root, 'dist', 'src', 'cli', 'main.js');
/** `--quick`: a smoke run of every scenario in well under a minute each. */
export const quick = process.argv.includes('--quick');
/** Load settings for this run. */
export const config = quick
  ? { warmupS: 1, rounds: 2, durationS: 2, connections: 16, samples: 30 }
  : { warmupS: 3, rounds: 5, durationS: 5, connections: 32, samples: 200 };

// ---------- pinning ----------
/** Cores seen before pinning narrowed this process's view. */
export const coreCount = availableParallelism();
const hasTaskset = spawnSync('taskset', ['--version']).status === 0;
/** Servers on core 0, the load generator on core 1. */
export const pinned = hasTaskset && coreCount >= 2;
if (pinned) spawnSync('taskset', ['-cp', '1', String(process.pid)]);
/** How this run was pinned, for the report. */
export const pinning = pinned ? 'servers (and their workers) pinned to core 0, load generator to core 1 (taskset)' : `not pinned (${hasTaskset ? 'fewer than 2 cores' : 'taskset not available'})`;

/** The load generator: wrk where installed (Debian package `wrk`), else autocannon in this process. */
export const loadTool: 'wrk' | 'autocannon' = spawnSync('wrk', ['--version']).error === undefined ? 'wrk' : 'autocannon';
/** Said in the report when wrk is missing. */
export const loadToolNote = loadTool === 'wrk' ? 'wrk -t1 (Debian package), pinned to core 1' : 'autocannon in the bench process (wrk not installed: `apt-get install wrk`; autocannon and wrk differed by up to 25% on the raw server here)';

/** Starts `node ARGS` as a server, pinned to core 0. stdout is piped (the first line announces the server). */
export function launch(args: readonly string[], env: NodeJS.ProcessEnv = {}, stderrFile?: string): ChildProcess {
  return launchBinary(process.execPath, args, env, stderrFile);
}

/** Starts any executable as a server, pinned to core 0. */
export function launchBinary(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, stderrFile?: string): ChildProcess {
  const cmd = pinned ? 'taskset' : command;
  const argv = pinned ? ['-c', '0', command, ...args] : [...args];
  const stderr = stderrFile === undefined ? 'ignore' : openSync(stderrFile, 'a');
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', stderr], env: { ...process.env, ...env } });
  child.on('error', (e) => process.stderr.write(`  could not start ${command}: ${e.message}\n`));
  return child;
}

/** The first stdout line of a server, parsed as JSON (its announcement). */
export function firstLine<T>(child: ChildProcess): Promise<T> {
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

/** SIGTERM, then SIGKILL after 10 s. */
export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    // A child that died by a signal has exitCode null and signalCode set: it already exited.
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// ---------- /proc ----------
interface ProcEntry {
  readonly ppid: number;
  readonly rssKb: number;
  /** utime + stime, in clock ticks. */
  readonly ticks: number;
}

function readProcs(): Map<number, ProcEntry> {
  const out = new Map<number, ProcEntry>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces and parentheses).
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      out.set(Number(entry), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), rssKb: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) });
    } catch {
      // the process went away
    }
  }
  return out;
}

function descendants(procs: Map<number, ProcEntry>, pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const [p, e] of procs) children.set(e.ppid, [...(children.get(e.ppid) ?? []), p]);
  const out: number[] = [];
  const stack = [...(children.get(pid) ?? [])];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Resident memory of a process and all its descendants, in MiB. */
export function treeRssMb(pid: number): number | null {
  try {
    const procs = readProcs();
    const total = [pid, ...descendants(procs, pid)].reduce((n, p) => n + (procs.get(p)?.rssKb ?? 0), 0);
    return Math.round(total / 1024);
  } catch {
    return null;
  }
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU time used so far, in µs, by a process (`root`) and by its descendants (`children`), from /proc/<pid>/stat. */
export interface TreeCpu {
  readonly root: number;
  readonly children: ReadonlyMap<number, number>;
}

/** Reads the CPU time of a process tree. */
export function treeCpu(pid: number): TreeCpu {
  const procs = readProcs();
  const us = (p: number) => ((procs.get(p)?.ticks ?? 0) * 1e6) / CLK_TCK;
  return { root: us(pid), children: new Map(descendants(procs, pid).map((p) => [p, us(p)])) };
}

/** CPU µs spent between two readings, by the root process and by its descendants (a child that appeared in between counts whole). */
export function cpuBetween(before: TreeCpu, after: TreeCpu): { root: number; children: number } {
  let children = 0;
  for (const [p, v] of after.children) children += v - (before.children.get(p) ?? 0);
  return { root: after.root - before.root, children };
}

// ---------- load ----------
/** One load measurement: the median of clean rounds. */
export interface LoadResult {
  /** Which load generator produced these figures. */
  readonly tool: 'wrk' | 'autocannon';
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly rssMb: number | null;
  readonly rounds: readonly number[];
  /** Rounds that completed without errors; the median is taken over these only. */
  readonly cleanRounds: number;
  /** CPU µs per request in the server's own process (the gateway, for Palisade), median round. */
  readonly cpuUsRoot: number | null;
  /** CPU µs per request in the server's descendants (Palisade's workers), median round. */
  readonly cpuUsChildren: number | null;
  /** Set when the server process died during the measurement (with its exit signal or code). */
  readonly crashed?: string;
}

interface Round {
  readonly rps: number;
  readonly requests: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly non2xx: number;
}

function wrkDuration(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n;
}

/** One wrk run, pinned to core 1. */
function wrkRound(url: string, durationS: number, headers: Record<string, string>): Promise<Round> {
  const args = ['-t1', `-c${config.connections}`, `-d${durationS}s`, '--latency', ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
  const cmd = pinned ? 'taskset' : 'wrk';
  const argv = pinned ? ['-c', '1', 'wrk', ...args] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited with ${String(code)}: ${out}`));
      const pct = (p: string) => {
        const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)`, 'm').exec(out);
        return m === null ? NaN : wrkDuration(m[1] as string, m[2] as string);
      };
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      resolve({
        rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
        requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
        p50: pct('50'),
        p99: pct('99'),
        // wrk counts a read error for every connection the server closes; only connect, write and timeouts are failures.
        errors: sock === null ? 0 : Number(sock[1]) + Number(sock[3]) + Number(sock[4]),
        non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
      });
    });
  });
}

async function autocannonRound(url: string, durationS: number, headers: Record<string, string>, ca: string | undefined): Promise<Round> {
  const r = await autocannon({ url, connections: config.connections, pipelining: 1, headers, duration: durationS, ...(ca === undefined ? {} : { tlsOptions: { ca, servername: 'localhost' } }) });
  return { rps: r.requests.average, requests: r.requests.total, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx };
}

/**
 * Loads `url` (served by `server`, whose process tree is measured) for a warm-up and then
 * `config.rounds` rounds, and reports the median clean round with CPU µs per request of the
 * server process and of its descendants. wrk does not verify TLS certificates; autocannon
 * trusts `ca`.
 */
export async function load(url: string, server: ChildProcess, options: { headers?: Record<string, string>; ca?: string } = {}): Promise<LoadResult> {
  const headers = options.headers ?? {};
  const round = (s: number) => (loadTool === 'wrk' ? wrkRound(url, s, headers) : autocannonRound(url, s, headers, options.ca));
  const dead = () => (server.exitCode !== null || server.signalCode !== null ? `exit ${String(server.signalCode ?? server.exitCode)}` : undefined);
  const pid = server.pid ?? 0;
  await round(config.warmupS);
  const rounds: Array<Round & { cpuRoot: number; cpuChildren: number }> = [];
  let rssMb: number | null = null;
  for (let i = 0; i < config.rounds && dead() === undefined; i++) {
    const before = treeCpu(pid);
    const r = await round(config.durationS);
    const cpu = cpuBetween(before, treeCpu(pid));
    rounds.push({ ...r, cpuRoot: cpu.root / Math.max(1, r.requests), cpuChildren: cpu.children / Math.max(1, r.requests) });
    if (dead() === undefined) rssMb = treeRssMb(pid);
  }
  // A round with errors measured a failing server, not a working one: it does not count.
  const clean = rounds.filter((r) => r.errors === 0);
  const sorted = [...(clean.length > 0 ? clean : rounds)].sort((a, b) => a.rps - b.rps);
  const median = sorted[Math.floor(sorted.length / 2)];
  const crashed = dead();
  return {
    tool: loadTool,
    rps: Math.round(median?.rps ?? NaN),
    p50: median?.p50 ?? NaN,
    p99: median?.p99 ?? NaN,
    // Closed-loop load: mean latency = connections / throughput (Little's law).
    mean: (config.connections / (median?.rps ?? NaN)) * 1000,
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    rssMb,
    rounds: rounds.map((r) => Math.round(r.rps)),
    cleanRounds: clean.length,
    cpuUsRoot: median === undefined ? null : median.cpuRoot,
    cpuUsChildren: median === undefined ? null : median.cpuChildren,
    ...(crashed === undefined ? {} : { crashed }),
  };
}

/** One line of progress on stderr for a load result. */
export function reportLoad(name: string, res: LoadResult): void {
  process.stderr.write(
    `  ${name}: ${res.rps} req/s [${res.tool}] (rounds ${res.rounds.join(', ')}; ${res.cleanRounds} clean; cpu µs/req ${fmt(res.cpuUsRoot)} + ${fmt(res.cpuUsChildren)})${res.errors + res.non2xx > 0 ? `; WARNING: ${res.errors} errors, ${res.non2xx} non-2xx responses` : ''}${res.crashed === undefined ? '' : `; SERVER CRASHED (${res.crashed})`}\n`,
  );
}

// ---------- report ----------
/** One row of the results table. */
export interface Row {
  scenario: string;
  metric: string;
  palisade: string;
  reference: string;
  ratio: string;
}

/** A number for the table, or `n/a`. */
export const fmt = (n: number | null | undefined, digits = 0): string => (n === null || n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(digits));
/** `a / b` as `1.23×`, or `n/a`. */
export const ratio = (a: number | null | undefined, b: number | null | undefined): string => (a === null || b === null || a === undefined || b === undefined || b === 0 || Number.isNaN(a) || Number.isNaN(b) ? 'n/a' : `${(a / b).toFixed(2)}×`);

/** Writes a Palisade project (palisade.yaml and files relative to it) into a fresh temporary folder. */
export function writeBenchProject(manifest: string, files: Readonly<Record<string, string>>): string {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-'));
  writeFileSync(join(dir, 'palisade.yaml'), manifest);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

/** The hello function every HTTP scenario serves, Palisade and workerd alike. */
export const HELLO_SOURCE = "export default { async fetch() { return Response.json({ message: 'hello', ok: true }); } };\n";

// ---------- scenario modules ----------
/** What run.ts hands every scenario module in bench/scenarios/. */
export interface BenchContext {
  readonly quick: boolean;
  readonly config: typeof config;
  /** The run's load settings, also flat (connections, seconds per round, rounds, warm-up seconds). */
  readonly connections: number;
  readonly durationS: number;
  readonly rounds: number;
  readonly warmupS: number;
  /** The repository root and the compiled CLI. */
  readonly root: string;
  readonly cli: string;
  /** A folder for this scenario's logs and files. */
  readonly workDir: string;
  /** Progress on stderr. */
  log(line: string): void;
}

/** A row as a scenario may return it: numbers are formatted by the runner (`ratio` as `1.23×`). */
export interface ScenarioRowInput {
  readonly scenario: string;
  readonly metric: string;
  readonly palisade: string | number;
  readonly reference: string | number;
  readonly ratio: string | number;
}

/** What a scenario returns: rows for the table and any raw data for bench/results/*.json. */
export interface BenchScenarioResult {
  readonly rows: readonly ScenarioRowInput[];
  readonly data?: unknown;
}

/** The default export of a module in bench/scenarios/. */
export interface BenchScenario {
  /** Short, unique; the key of its data in the results file. */
  readonly name: string;
  /** `false` to skip it in `--quick` runs (default: it runs). */
  readonly quick?: boolean;
  run(ctx: BenchContext): Promise<BenchScenarioResult | readonly ScenarioRowInput[]>;
}

/** A table row from what a scenario returned. */
export function toRow(r: ScenarioRowInput): Row {
  const num = (v: string | number) => (typeof v === 'string' ? v : fmt(v, Math.abs(v) >= 100 ? 0 : 2));
  return { scenario: r.scenario, metric: r.metric, palisade: num(r.palisade), reference: num(r.reference), ratio: typeof r.ratio === 'string' ? r.ratio : Number.isNaN(r.ratio) ? 'n/a' : `${r.ratio.toFixed(2)}×` };
}
