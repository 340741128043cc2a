import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cliPath, fetchTls, runCliSync, startUp, tempDir, writeProject } from '../helpers/cli.js';
import { ensureLocalTls } from '../../src/gateway/index.js';
import { systemClock } from '../../src/kernel/index.js';
import { isolatedVmLocation } from '../../src/runtime/package-paths.js';
import { copyFileSync, readFileSync, statSync } from 'node:fs';

const MANIFEST = (extra = '') => `name: demo
functions:
  hello:
    source: functions/hello.ts
${extra}routes:
  - { path: /hello, function: hello, public: true }
`;
const HELLO = 'export default { async fetch(): Promise<Response> { return new Response("hi"); } };\n';

function project(manifest: string, files: Record<string, string> = { 'functions/hello.ts': HELLO }): string {
  return writeProject(manifest, files);
}

/** One clear line: no stack trace unless --debug. */
function assertCleanError(stderr: string, code: string): void {
  assert.match(stderr, new RegExp(code));
  assert.ok(!/\n\s+at /.test(stderr), `stack trace printed:\n${stderr}`);
}

describe('palisade CLI', () => {
  test('--version and --help', () => {
    const v = runCliSync(['--version']);
    assert.equal(v.status, 0);
    assert.match(v.stdout.trim(), /^\d+\.\d+\.\d+$/);
    const h = runCliSync(['--help']);
    assert.equal(h.status, 0);
    for (const c of ['init', 'validate', 'up', 'users', 'apikeys', 'login', 'token']) {
      assert.match(h.stdout, new RegExp(`\\n  ${c} `));
      const ch = runCliSync([c, '--help']);
      assert.equal(ch.status, 0, c);
      assert.match(ch.stdout, new RegExp(`usage: palisade ${c}`));
    }
  });

  test('an unknown command or flag is invalid input (exit 3)', () => {
    const a = runCliSync(['deploy']);
    assert.equal(a.status, 3);
    assertCleanError(a.stderr, 'PAL_CLI_USAGE');
    const b = runCliSync(['validate', '--frobnicate']);
    assert.equal(b.status, 3);
    assertCleanError(b.stderr, 'PAL_CLI_USAGE');
    const c = runCliSync(['up', '.', '--port', 'abc']);
    assert.equal(c.status, 3);
  });

  test('the built bin is executable, so `npx palisade` works in a clone after `npm run build` or `npm test`', () => {
    // tsc writes files without the execute bit; the build script sets it back.
    assert.ok((statSync(cliPath).mode & 0o111) !== 0, `${cliPath} is not executable`);
  });

  test('init scaffolds a project that validates and serves', async () => {
    const dir = tempDir();
    const init = runCliSync(['init', dir]);
    assert.equal(init.status, 0, init.stderr);
    assert.equal(runCliSync(['init', dir]).status, 3, 'init refuses to overwrite');
    const v = runCliSync(['validate', dir]);
    assert.equal(v.status, 0, v.stderr);
    const node = await startUp(dir);
    try {
      assert.equal((await fetchTls(node.url, node.ca, '/hello')).status, 200);
      assert.equal((await fetchTls(node.url, node.ca, '/private')).status, 401);
      // The way in that init prints: an API key, created while the node runs.
      assert.match(init.stdout, /palisade apikeys create /);
      const key = runCliSync(['apikeys', 'create', dir, '--name', 'dev', '--json']);
      assert.equal(key.status, 0, key.stderr);
      const authorization = `Bearer ${(JSON.parse(key.stdout) as { key: string }).key}`;
      assert.equal((await fetchTls(node.url, node.ca, '/private', { headers: { authorization } })).status, 200);
    } finally {
      await node.stop();
    }
  });

  test('validate --json reports every problem with its location', () => {
    const dir = project(MANIFEST().replace('source:', 'sorce:').replace('function: hello', 'function: helo'));
    const r = runCliSync(['validate', dir, '--json']);
    assert.equal(r.status, 3);
    const out = JSON.parse(r.stdout) as { ok: boolean; errors: Array<{ code: string; path: string; location: { line: number } }> };
    assert.equal(out.ok, false);
    assert.ok(out.errors.some((e) => e.code === 'PAL_MANIFEST_UNKNOWN_KEY' && e.path === 'functions.hello.sorce' && e.location.line === 4));
  });

  test('a bad route schema file fails validate with the file, the yaml path and the fix, exit 3', () => {
    const manifest = MANIFEST().replace('{ path: /hello, function: hello, public: true }', '{ path: /hello, methods: [POST], function: hello, public: true, schema: { POST: schemas/order.json } }');
    const dir = project(manifest, { 'functions/hello.ts': HELLO, 'schemas/order.json': JSON.stringify({ type: 'object', requird: ['sku'] }) });
    const r = runCliSync(['validate', dir]);
    assert.equal(r.status, 3);
    const out = `${r.stdout}${r.stderr}`;
    assertCleanError(out, 'PAL_MANIFEST_INVALID_BODY_SCHEMA');
    assert.match(out, /palisade\.yaml:6:\d+/);
    assert.match(out, /routes\[0\]\.schema\.POST/);
    assert.match(out, /schemas\/order\.json/);
    assert.match(out, /unknown keyword: "requird"/);
    assert.match(out, /hint: /);
    const good = project(manifest, { 'functions/hello.ts': HELLO, 'schemas/order.json': JSON.stringify({ type: 'object', required: ['sku'] }) });
    assert.equal(runCliSync(['validate', good]).status, 0);
  });

  test('malformed YAML: one clear line with the position, exit 3', () => {
    const dir = project('name: demo\nfunctions: {\n');
    for (const cmd of ['validate', 'up']) {
      const r = runCliSync([cmd, dir]);
      assert.equal(r.status, 3, cmd);
      assertCleanError(r.stderr, 'PAL_MANIFEST_YAML_SYNTAX');
      assert.match(r.stderr, /palisade\.yaml:\d+:\d+/);
    }
  });

  test('a missing manifest or source file, exit 3', () => {
    const none = runCliSync(['validate', tempDir()]);
    assert.equal(none.status, 3);
    assertCleanError(none.stderr, 'PAL_MANIFEST_NOT_FOUND');
    assert.match(none.stderr, /palisade init /, 'the error names the fix');
    const missing = runCliSync(['up', project(MANIFEST(), {}), '--port', '0']);
    assert.equal(missing.status, 3);
    assertCleanError(missing.stderr, 'PAL_MANIFEST_SOURCE_NOT_FOUND');
  });

  test('a TypeScript syntax error names file and line, exit 3', () => {
    const dir = project(MANIFEST(), { 'functions/hello.ts': 'export default {\n  async fetch(): Promise<Response> {\n    return new Response(\n  },\n};\n' });
    for (const cmd of ['validate', 'up']) {
      const r = runCliSync([cmd, dir, '--port', '0'].slice(0, cmd === 'up' ? 4 : 2));
      assert.equal(r.status, 3, `${cmd}: ${r.stderr}`);
      assertCleanError(r.stderr, 'PAL_RUNTIME_BUILD_FAILED');
      assert.match(r.stderr, /functions\/hello\.ts:4:\d+/);
    }
  });

  test('a module without a fetch handler fails at start, not at the first request', () => {
    const r = runCliSync(['up', project(MANIFEST(), { 'functions/hello.ts': 'export const x = 1;\n' }), '--port', '0']);
    assert.equal(r.status, 3);
    assertCleanError(r.stderr, 'PAL_RUNTIME_BUILD_FAILED');
    assert.match(r.stderr, /fetch/);
  });

  test('operator-supplied tls files are served instead of the local CA', async () => {
    const issuer = tempDir();
    const tls = await ensureLocalTls(issuer, systemClock);
    const dir = project(MANIFEST().replace('routes:', 'gateway: { tls: { cert: certs/cert.pem, key: certs/key.pem } }\nroutes:'));
    mkdirSync(join(dir, 'certs'));
    copyFileSync(join(issuer, 'tls', 'server.pem'), join(dir, 'certs', 'cert.pem'));
    copyFileSync(join(issuer, 'tls', 'server-key.pem'), join(dir, 'certs', 'key.pem'));
    const node = await startUp(dir);
    try {
      assert.equal(node.ca, undefined, 'no local CA is announced');
      const r = await fetchTls(node.url, readFileSync(tls.caFile ?? '', 'utf8'), '/hello');
      assert.equal(r.status, 200);
    } finally {
      await node.stop();
    }
  });

  test('tls files that are not a matching pair: one clear line, exit 1', () => {
    const dir = project(MANIFEST().replace('routes:', 'gateway: { tls: { cert: cert.pem, key: key.pem } }\nroutes:'), { 'functions/hello.ts': HELLO, 'cert.pem': 'not a certificate', 'key.pem': 'not a key' });
    const r = runCliSync(['up', dir, '--port', '0']);
    assert.equal(r.status, 1);
    assertCleanError(r.stderr, 'PAL_GATEWAY_TLS_FAILED');
  });

  test('a port already in use: one clear line, exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = runCliSync(['up', project(MANIFEST()), '--port', String(port)]);
      assert.equal(r.status, 1);
      assertCleanError(r.stderr, 'PAL_GATEWAY_LISTEN_FAILED');
      assert.match(r.stderr, /already in use/);
    } finally {
      blocker.close();
    }
  });

  test('an unusable .palisade/ (not a directory): one clear line, exit 1', () => {
    const dir = project(MANIFEST());
    writeFileSync(join(dir, '.palisade'), 'not a directory');
    const r = runCliSync(['up', dir, '--port', '0']);
    assert.equal(r.status, 1);
    assertCleanError(r.stderr, 'PAL_STORE_UNAVAILABLE');
  });

  test('--debug adds the stack trace', () => {
    const r = runCliSync(['up', tempDir(), '--debug']);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /\n\s+at /);
  });

  test('plain http is refused off loopback, and allowed on it with a warning', async () => {
    const dir = project(MANIFEST());
    const refused = runCliSync(['up', dir, '--allow-insecure-http', '--host', '0.0.0.0', '--port', '0']);
    assert.equal(refused.status, 3);
    assertCleanError(refused.stderr, 'PAL_MANIFEST_INSECURE_SETTING');
    const node = await startUp(dir, ['--allow-insecure-http']);
    try {
      assert.match(node.url, /^http:\/\/127\.0\.0\.1:/);
      assert.equal(node.ca, undefined);
      for (let i = 0; i < 20 && !node.stderr().includes('PAL_MANIFEST_INSECURE_SETTING'); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(node.stderr(), /PAL_MANIFEST_INSECURE_SETTING/);
    } finally {
      await node.stop();
    }
  });

  test('an egress grant that weakens security is logged at start, naming the function and host', async () => {
    const dir = project(MANIFEST().replace('    source: functions/hello.ts\n', '    source: functions/hello.ts\n    egress: [{ host: api.example.com }, { host: internal.corp, allowPrivateNetwork: true }]\n'));
    const node = await startUp(dir);
    try {
      for (let i = 0; i < 20 && !node.stderr().includes('internal.corp'); i++) await new Promise((r) => setTimeout(r, 100));
      const line = node.stderr().split('\n').find((l) => l.includes('internal.corp')) ?? '';
      assert.match(line, /PAL_MANIFEST_INSECURE_SETTING/);
      assert.match(line, /hello/);
      assert.ok(!node.stderr().includes('api.example.com'), 'a plain grant is not a warning');
    } finally {
      await node.stop();
    }
  });

  test('SIGTERM drains an in-flight request, then exits 0', async () => {
    const dir = project(MANIFEST().replace('functions:', 'functions:\n  slow:\n    source: functions/slow.ts\n').replace('routes:', 'routes:\n  - { path: /slow, function: slow, public: true }'), {
      'functions/hello.ts': HELLO,
      'functions/slow.ts': 'export default { async fetch(): Promise<Response> { await new Promise((r) => setTimeout(r, 600)); return new Response("done"); } };\n',
    });
    const node = await startUp(dir);
    const inflight = fetchTls(node.url, node.ca, '/slow');
    await new Promise((r) => setTimeout(r, 150));
    const exit = node.stop();
    const r = await inflight;
    assert.equal(r.status, 200);
    assert.equal(r.body, 'done');
    assert.equal(await exit, 0);
  });

  test('Ctrl-C (SIGINT to the whole process group) drains an in-flight request, exits 0 and reports no worker crash', async () => {
    const dir = project(MANIFEST().replace('functions:', 'functions:\n  slow:\n    source: functions/slow.ts\n').replace('routes:', 'routes:\n  - { path: /slow, function: slow, public: true }'), {
      'functions/hello.ts': HELLO,
      'functions/slow.ts': 'export default { async fetch(): Promise<Response> { await new Promise((r) => setTimeout(r, 600)); return new Response("done"); } };\n',
    });
    const node = await startUp(dir, [], { detached: true });
    const pid = node.child.pid as number;
    const exited = new Promise<number | null>((resolve) => node.child.once('exit', (code) => resolve(code)));
    try {
      const inflight = fetchTls(node.url, node.ca, '/slow');
      await new Promise((r) => setTimeout(r, 150));
      // What a terminal does on Ctrl-C: the signal goes to every process of the foreground group.
      process.kill(-pid, 'SIGINT');
      const r = await inflight;
      assert.equal(r.status, 200);
      assert.equal(r.body, 'done');
      assert.equal(await exited, 0);
      assert.doesNotMatch(node.stderr(), /PAL_RUNTIME_WORKER_CRASHED/);
    } finally {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // the group is gone: nothing left to end
      }
    }
  });

  test('Ctrl-C exits even when nobody reads the log any more (`palisade up | tee`, tee ended by the same Ctrl-C)', async () => {
    const dir = project(MANIFEST());
    const child = spawn(process.execPath, [cliPath, 'up', dir, '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let exitSignal: string | null = null;
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code, signal) => {
        exitSignal = signal;
        resolve(code);
      }),
    );
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString('utf8');
          if (out.includes('\n')) resolve();
        });
        void exited.then(() => reject(new Error('palisade up exited before starting')));
      });
      // The reader goes away, as tee does on Ctrl-C; the node still has log lines buffered.
      child.stdout.destroy();
      child.stderr.destroy();
      child.kill('SIGINT');
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 15_000))]);
      assert.notEqual(code, 'still running', 'exits (not hung) with its log pipe closed');
      // On Node 24 this path once ended by a signal rather than with 0 (not reproduced since):
      // what matters here is that it does not hang; an exit code, when there is one, must be 0.
      if (Number(process.versions.node.split('.')[0]) < 24 || exitSignal === null) assert.equal(code, 0, `exits 0 (not crashed); signal ${String(exitSignal)}`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  test('a memory bomb answers 503 problem+json while another segment keeps serving', async () => {
    const dir = project(MANIFEST('').replace('functions:', 'segments: { risky: {} }\nfunctions:\n  bomb:\n    source: functions/bomb.ts\n    segment: risky\n    limits: { cpuMs: 10000, timeoutMs: 20000 }\n').replace('routes:', 'routes:\n  - { path: /bomb, function: bomb, public: true }'), {
      'functions/hello.ts': HELLO,
      'functions/bomb.ts': 'export default { async fetch(): Promise<Response> { const a = new Array(1e9).fill(0); return new Response(String(a.length)); } };\n',
    });
    const node = await startUp(dir);
    try {
      const bomb = fetchTls(node.url, node.ca, '/bomb');
      const hello = await fetchTls(node.url, node.ca, '/hello');
      assert.equal(hello.status, 200);
      const r = await bomb;
      assert.equal(r.status, 503);
      assert.equal(r.headers['content-type'], 'application/problem+json');
      const problem = JSON.parse(r.body) as { code: string; detail: string };
      // isolated-vm 7 (Node 24) runs this fill without growing the heap past its limit quickly:
      // there the bomb is stopped by its cpu limit, still a 503 inside its own segment.
      const expected = Number(isolatedVmLocation().version.split('.')[0]) >= 7 ? ['PAL_RUNTIME_WORKER_CRASHED', 'PAL_RUNTIME_MEMORY_LIMIT', 'PAL_RUNTIME_CPU_LIMIT'] : ['PAL_RUNTIME_WORKER_CRASHED', 'PAL_RUNTIME_MEMORY_LIMIT'];
      assert.ok(expected.includes(problem.code), problem.code);
      assert.ok(!r.body.includes('heap') && !r.body.includes(' at '), 'no internals in the body');
      assert.equal((await fetchTls(node.url, node.ca, '/hello')).status, 200);
    } finally {
      await node.stop();
    }
  });
});
