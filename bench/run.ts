// npm run bench [-- --quick] [-- --update-readme]
//
// Measures Palisade against reference points in one run on one machine and prints ratios.
// Servers run as child processes pinned to core 0 and the load generator (wrk, else autocannon)
// to core 1 when `taskset` and two cores are available. Every module in bench/scenarios/ is
// run too (see bench/README.md, "Adding a scenario").
import { fork, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ivm from '../src/runtime/load-isolated-vm.js';
import { ensureLocalTls } from '../src/gateway/index.js';
import { systemClock, silentLogger } from '../src/kernel/index.js';
import { buildPrelude, compilePrelude, createWorkerPool, FunctionSandbox, SparePool, type WorkerFunction } from '../src/runtime/index.js';
import { createAuthenticator, principalFromClaims, RevocationList, verifyAccessToken, type OidcIssuer } from '../src/identity/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { cli, config, coreCount, firstLine, fmt, HELLO_SOURCE, launch, launchBinary, load, loadTool, loadToolNote, pinning, quick, ratio, reportLoad, root, stop, toRow, type BenchScenario, type BenchScenarioResult, type LoadResult, type Row, type ScenarioRowInput } from './harness.js';

const updateReadme = process.argv.includes('--update-readme');

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
async function benchProject(issuer: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-'));
  mkdirSync(join(dir, 'functions'));
  writeFileSync(join(dir, 'functions', 'hello.ts'), HELLO_SOURCE);
  writeFileSync(
    join(dir, 'palisade.yaml'),
    `name: bench
identity:
  issuers:
    - { name: corp, issuer: "${issuer}", audience: bench-api, algorithms: [EdDSA], typ: at+jwt, allowInsecureHttpIssuer: true }
functions:
  hello:
    source: functions/hello.ts
routes:
  - { path: /hello, function: hello, public: true }
  - { path: /private, function: hello, allow: { roles: [customer] } }
`,
  );
  return dir;
}

/** A minimal OpenID issuer on loopback: discovery and JWKS, and a token for the bench. */
async function benchIssuer(): Promise<{ issuer: string; token: string; close: () => void }> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'EdDSA', use: 'sig' };
  const server = createHttpServer((req, res) => {
    const body = req.url === '/jwks' ? { keys: [jwk] } : req.url === '/.well-known/openid-configuration' ? { issuer, jwks_uri: `${issuer}/jwks` } : undefined;
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const token = await new SignJWT({ roles: ['customer'] }).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'bench-1' }).setIssuer(issuer).setAudience('bench-api').setSubject('user-1').setIssuedAt().setExpirationTime('2h').sign(privateKey);
  return { issuer, token, close: () => server.close() };
}

/** The workerd binary shipped by the npm package `workerd` (a devDependency), or why not. */
function workerdBinary(): { bin: string; version: string } | { missing: string } {
  try {
    const w = createRequire(import.meta.url)('workerd') as { default: string; version: string };
    return existsSync(w.default) ? { bin: w.default, version: w.version } : { missing: `binary not found at ${w.default}` };
  } catch (e) {
    return { missing: (e as Error).message };
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 200 (a server that announces nothing on stdout). */
async function waitFor200(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited with ${String(child.exitCode ?? child.signalCode)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = httpRequest(url, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer 200 in ${timeoutMs} ms`);
}

/** workerd serving the same hello function over http on loopback, in one pinned process. */
async function startWorkerd(logFile: string): Promise<{ child: ChildProcess; url: string; version: string } | { missing: string }> {
  const found = workerdBinary();
  if ('missing' in found) return found;
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-workerd-'));
  const port = await freePort();
  writeFileSync(join(dir, 'hello.js'), HELLO_SOURCE);
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .hello) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const hello :Workerd.Worker = (
  modules = [ (name = "hello.js", esModule = embed "hello.js") ],
  compatibilityDate = "2024-09-23",
);
`,
  );
  const child = launchBinary(found.bin, ['serve', join(dir, 'config.capnp')], {}, logFile);
  const url = `http://127.0.0.1:${port}/hello`;
  await waitFor200(url, child);
  return { child, url, version: found.version };
}

let workerdVersion = 'n/a';

async function http(): Promise<Record<string, LoadResult>> {
  const out: Record<string, LoadResult> = {};
  const logs = mkdtempSync(join(tmpdir(), 'palisade-bench-logs-'));

  const run = async (name: string, child: ChildProcess, path: string, opts: { headers?: Record<string, string>; ca?: string; scheme: 'http' | 'https' }) => {
    try {
      const info = await firstLine<{ port?: number; url?: string; token?: string; caFile?: string | null }>(child);
      const url = info.url !== undefined ? `${info.url}${path}` : `${opts.scheme}://127.0.0.1:${String(info.port)}${path}`;
      const headers = info.token === undefined ? opts.headers : { ...opts.headers, authorization: `Bearer ${info.token}` };
      const ca = typeof info.caFile === 'string' ? readFileSync(info.caFile, 'utf8') : opts.ca;
      const res = await load(url, child, { ...(headers === undefined ? {} : { headers }), ...(ca === undefined ? {} : { ca }) });
      out[name] = res;
      reportLoad(name, res);
    } finally {
      await stop(child);
    }
  };

  const tlsDir = mkdtempSync(join(tmpdir(), 'palisade-bench-tls-'));
  const tls = await ensureLocalTls(tlsDir, systemClock);
  const certFile = join(tlsDir, 'tls', 'server.pem');
  const keyFile = join(tlsDir, 'tls', 'server-key.pem');

  await run('raw-http', launch([join(root, 'dist', 'bench', 'servers', 'raw-http.js')]), '/hello', { scheme: 'http' });
  const wd = await startWorkerd(join(logs, 'workerd.log'));
  if ('missing' in wd) {
    process.stderr.write(`  workerd: not measured (${wd.missing}); install devDependencies with \`npm ci\`\n`);
  } else {
    workerdVersion = wd.version;
    try {
      const res = await load(wd.url, wd.child);
      out.workerd = res;
      reportLoad('workerd', res);
    } finally {
      await stop(wd.child);
    }
  }
  await run('raw-https', launch([join(root, 'dist', 'bench', 'servers', 'raw-http.js')], { BENCH_TLS_CERT: certFile, BENCH_TLS_KEY: keyFile }), '/hello', { scheme: 'https', ...(tls.caFile === undefined ? {} : { ca: readFileSync(tls.caFile, 'utf8') }) });
  const idp = await benchIssuer();
  const project = await benchProject(idp.issuer);
  await run('palisade-https', launch([cli, 'up', project, '--port', '0', '--json', '--log-level', 'info'], {}, join(logs, 'palisade-https.log')), '/hello', { scheme: 'https' });
  await run('palisade-private-http', launch([cli, 'up', project, '--port', '0', '--json', '--log-level', 'info', '--allow-insecure-http'], {}, join(logs, 'palisade-private.log')), '/private', { scheme: 'http', headers: { authorization: `Bearer ${idp.token}` } });
  idp.close();
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

// ---------- authentication cost ----------
async function authCost(): Promise<Record<string, number>> {
  const ISSUER = 'https://idp.bench.local';
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] });
  const issuer: OidcIssuer = {
    name: 'corp',
    issuer: ISSUER,
    async verify(token) {
      const v = await verifyAccessToken(token, { expectedIssuer: ISSUER, expectedAudience: 'api', algorithms: ['ES256'], keys: jwks, clockSkewSec: 60, maxTokenBytes: 8192, maxLifetimeSec: 86_400, typ: 'at+jwt', requiredClaims: [], now: Date.now() });
      return v.ok ? { ok: true, principal: principalFromClaims(v.claims, { issuer: ISSUER, rolesClaim: 'roles', mfaAmr: [], mfaAcr: [] }), exp: v.claims.exp, iat: v.claims.iat } : v;
    },
  };
  const store = openSqliteStore(':memory:');
  const auth = createAuthenticator({ issuers: [issuer], revocations: new RevocationList(store.revocations, systemClock), clock: systemClock });
  const mint = (i: number) => new SignJWT({ roles: ['customer'], jti: `t${i}` }).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' }).setIssuer(ISSUER).setAudience('api').setSubject(`user-${i}`).setIssuedAt().setExpirationTime('1h').sign(privateKey);
  const n = quick ? 2000 : 10000;
  const tokens = await Promise.all(Array.from({ length: n }, (_, i) => mint(i)));
  const repeated = await mint(-1);
  const repeatedHeaders = { authorization: `Bearer ${repeated}` };
  const headers = (t: string) => ({ authorization: `Bearer ${t}` });
  const perCall = async (count: number, fn: (i: number) => Promise<unknown>) => {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await fn(i);
    return ((performance.now() - t0) * 1000) / count;
  };
  // Warm both paths on tokens not used below, then alternate rounds and keep each one's best:
  // the first round of either pays for JIT compilation.
  const warm = await Promise.all(Array.from({ length: 500 }, (_, i) => mint(n + i)));
  for (const t of warm) {
    await auth.authenticate(headers(t), ['corp']);
    await jwtVerify(t, jwks, { issuer: ISSUER, audience: 'api', algorithms: ['ES256'] });
  }
  const half = Math.floor(n / 2);
  const best = { repeated: Infinity, firstSeen: Infinity, jose: Infinity };
  for (let round = 0; round < 2; round++) {
    const offset = round * half;
    best.jose = Math.min(best.jose, await perCall(half, (i) => jwtVerify(tokens[offset + i] as string, jwks, { issuer: ISSUER, audience: 'api', algorithms: ['ES256'] })));
    best.firstSeen = Math.min(best.firstSeen, await perCall(half, (i) => auth.authenticate(headers(tokens[offset + i] as string), ['corp'])));
    best.repeated = Math.min(best.repeated, await perCall(200_000, () => auth.authenticate(repeatedHeaders, ['corp'])));
  }
  const out = { 'auth-repeated-token-us': best.repeated, 'auth-first-seen-token-us': best.firstSeen, 'jose-jwtVerify-us': best.jose };
  await store.close();
  return out;
}

// ---------- report ----------

function rows(h: Record<string, LoadResult>, m: Record<string, { p50: number; p99: number }>, a: Record<string, number>): Row[] {
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
  const wd = h.workerd;
  const cpu = (x: LoadResult | undefined) => (x === undefined || x.cpuUsRoot === null || x.cpuUsChildren === null ? null : x.cpuUsRoot + x.cpuUsChildren);
  const split = (x: LoadResult | undefined) => `${fmt(cpu(x))} (gateway ${fmt(x?.cpuUsRoot)} + workers ${fmt(x?.cpuUsChildren)})`;
  r.push({ scenario: 'public route, http (loopback)', metric: 'req/s', palisade: fmt(pp?.rps), reference: `${fmt(wd?.rps)} (workerd ${workerdVersion}, same function)`, ratio: ratio(pp?.rps, wd?.rps) });
  r.push({ scenario: 'public route, http (loopback)', metric: 'mean latency ms', palisade: fmt(pp?.mean, 2), reference: `${fmt(wd?.mean, 2)} (workerd)`, ratio: ratio(pp?.mean, wd?.mean) });
  r.push({ scenario: 'public route, http: server CPU per request', metric: 'µs', palisade: split(pp), reference: `${fmt(cpu(wd))} (workerd)`, ratio: ratio(cpu(pp), cpu(wd)) });
  r.push({ scenario: 'public route, http: server CPU per request', metric: 'µs', palisade: split(pp), reference: `${fmt(cpu(rh))} (raw node:http)`, ratio: ratio(cpu(pp), cpu(rh)) });
  r.push({ scenario: 'public route, https: server CPU per request', metric: 'µs', palisade: split(ph), reference: `${fmt(cpu(rs))} (raw node:https)`, ratio: ratio(cpu(ph), cpu(rs)) });
  const pv = h['palisade-private-http'];
  const stackNote = st?.crashed === undefined ? '' : `; the stack crashed (${st.crashed}), median of ${st.cleanRounds} clean rounds`;
  r.push({ scenario: 'private route, valid JWT, http (loopback)', metric: 'req/s', palisade: fmt(pv?.rps), reference: `${fmt(st?.rps)} (fastify+jose+cedar+pino+isolate${stackNote})`, ratio: ratio(pv?.rps, st?.rps) });
  r.push({ scenario: 'private route, valid JWT, http (loopback)', metric: 'mean latency ms (p99, 1 ms resolution)', palisade: `${fmt(pv?.mean, 2)} (${fmt(pv?.p99)})`, reference: `${fmt(st?.mean, 2)} (${fmt(st?.p99)}) fastify+jose+cedar+pino+isolate`, ratio: ratio(pv?.mean, st?.mean) });
  r.push({ scenario: 'server RSS under load', metric: 'MiB', palisade: `${fmt(ph?.rssMb)} (gateway + 1 worker)`, reference: `${fmt(rs?.rssMb)} (raw node:https)`, ratio: ratio(ph?.rssMb, rs?.rssMb) });
  r.push({ scenario: 'isolate cold start, spare ready', metric: 'p50 ms', palisade: fmt(m['cold-with-spare']?.p50, 2), reference: `${fmt(m['bare-isolate-cold']?.p50, 2)} (bare isolated-vm isolate+context)`, ratio: ratio(m['cold-with-spare']?.p50, m['bare-isolate-cold']?.p50) });
  r.push({ scenario: 'isolate cold start, no spare', metric: 'p50 ms', palisade: fmt(m['cold-no-spare']?.p50, 2), reference: `${fmt(m['bare-isolate-cold']?.p50, 2)} (bare isolated-vm isolate+context)`, ratio: ratio(m['cold-no-spare']?.p50, m['bare-isolate-cold']?.p50) });
  r.push({ scenario: 'warm invoke, in process', metric: 'p50 µs', palisade: fmt((m['warm-invoke-in-process']?.p50 ?? NaN) * 1000), reference: `${fmt((m['bare-isolate-apply']?.p50 ?? NaN) * 1000)} (bare isolated-vm apply)`, ratio: ratio(m['warm-invoke-in-process']?.p50, m['bare-isolate-apply']?.p50) });
  r.push({ scenario: 'warm invoke via worker', metric: 'p50 µs', palisade: fmt((m['worker-round-trip']?.p50 ?? NaN) * 1000), reference: `${fmt((m['ipc-echo-round-trip']?.p50 ?? NaN) * 1000)} (IPC echo round trip)`, ratio: ratio(m['worker-round-trip']?.p50, m['ipc-echo-round-trip']?.p50) });
  r.push({ scenario: 'authentication, repeated valid JWT', metric: 'µs per request', palisade: fmt(a['auth-repeated-token-us'], 2), reference: `${fmt(a['jose-jwtVerify-us'], 2)} (jose.jwtVerify, ES256)`, ratio: ratio(a['auth-repeated-token-us'], a['jose-jwtVerify-us']) });
  r.push({ scenario: 'authentication, first-seen JWT', metric: 'µs per request', palisade: fmt(a['auth-first-seen-token-us'], 2), reference: `${fmt(a['jose-jwtVerify-us'], 2)} (jose.jwtVerify, ES256)`, ratio: ratio(a['auth-first-seen-token-us'], a['jose-jwtVerify-us']) });
  return r;
}

function table(r: Row[]): string {
  return ['| scenario | metric | Palisade | reference | ratio |', '| --- | --- | --- | --- | --- |', ...r.map((x) => `| ${x.scenario} | ${x.metric} | ${x.palisade} | ${x.reference} | ${x.ratio} |`)].join('\n');
}

// ---------- scenario modules (bench/scenarios/*.ts) ----------
/**
 * Runs every module in bench/scenarios/ (compiled to dist/bench/scenarios/), in name order. A
 * module is a scenario when its default export is a `BenchScenario` or when it exports a
 * `run(ctx)` function (its name is then the file name); any other module there is a helper and
 * is skipped. `run` may return `{ rows, data }` or just the rows.
 */
async function scenarios(): Promise<{ rows: Row[]; data: Record<string, unknown> }> {
  const dir = join(root, 'dist', 'bench', 'scenarios');
  const rowsOut: Row[] = [];
  const data: Record<string, unknown> = {};
  if (!existsSync(dir)) return { rows: rowsOut, data };
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { default?: Partial<BenchScenario>; run?: BenchScenario['run']; name?: unknown };
    const s: BenchScenario | undefined =
      mod.default !== undefined && typeof mod.default.name === 'string' && typeof mod.default.run === 'function'
        ? (mod.default as BenchScenario)
        : typeof mod.run === 'function'
          ? { name: file.replace(/\.js$/, ''), run: mod.run }
          : undefined;
    if (s === undefined) continue; // a helper module of the scenarios
    if (quick && s.quick === false) {
      process.stderr.write(`  ${s.name}: skipped in --quick\n`);
      continue;
    }
    process.stderr.write(`scenario ${s.name} (bench/scenarios/${file})…\n`);
    const workDir = mkdtempSync(join(tmpdir(), `palisade-bench-${s.name.replace(/[^a-z0-9-]/gi, '_')}-`));
    try {
      const ctx = { quick, config, connections: config.connections, durationS: config.durationS, rounds: config.rounds, warmupS: config.warmupS, root, cli, workDir, log: (line: string) => process.stderr.write(`  ${line}\n`) };
      const result = await s.run(ctx);
      const { rows: got, data: extra } = Array.isArray(result) ? { rows: result as readonly ScenarioRowInput[], data: undefined } : (result as BenchScenarioResult);
      rowsOut.push(...got.map(toRow));
      data[s.name] = extra ?? got;
    } catch (e) {
      // One broken scenario must not lose the rest of the run; it shows in the table.
      process.stderr.write(`  ${s.name} FAILED: ${(e as Error).stack ?? String(e)}\n`);
      rowsOut.push({ scenario: s.name, metric: 'failed', palisade: (e as Error).message.replace(/\|/g, '/'), reference: 'n/a', ratio: 'n/a' });
      data[s.name] = { error: (e as Error).message };
    }
  }
  return { rows: rowsOut, data };
}

async function main(): Promise<void> {
  const started = Date.now();
  process.stderr.write(`palisade bench (${quick ? 'quick' : 'full'}): ${pinning}\n`);
  process.stderr.write('authentication cost…\n');
  const a = await authCost();
  process.stderr.write('isolate measurements…\n');
  const m = await micro();
  process.stderr.write('http scenarios…\n');
  const h = await http();
  const extra = await scenarios();
  const r = [...rows(h, m, a), ...extra.rows];
  const date = new Date().toISOString();
  const cpu = cpus()[0]?.model ?? 'unknown';
  const header = `Measured ${date.slice(0, 10)}, ${quick ? 'quick' : 'full'} run, ${coreCount} cores (${cpu}), Node ${process.version}; ${pinning}; load: ${loadToolNote}; ${config.connections} connections, median of ${config.rounds} rounds of ${config.durationS} s after ${config.warmupS} s warm-up.`;
  const md = `${header}\n\n${table(r)}\n`;
  process.stdout.write(`\n${md}\n`);
  const result = { date, mode: quick ? 'quick' : 'full', machine: { cores: coreCount, cpu, node: process.version }, pinning, loadTool, workerd: workerdVersion, config, http: h, inProcess: m, authentication: a, scenarios: extra.data, rows: r, elapsedS: Math.round((Date.now() - started) / 1000) };
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
