// The published package, installed as a user installs it: `npm pack`, then the tarball into an
// empty project with `--omit=dev`, then `palisade init` and `palisade up` from that project's
// node_modules, with real HTTP on 127.0.0.1. npm hoists Palisade's dependencies next to it, so
// this also proves that the worker's permission list finds isolated-vm where npm put it.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { test } from 'node:test';
import { fetchTls, repoRoot } from '../helpers/cli.js';

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment for a nested npm: the parent `npm test` exports npm_* variables (among them
 * its own project's prefix) that must not leak into an install elsewhere. Node's own folder comes
 * first on PATH so npm runs on the Node under test (20 or 24).
 */
function npmEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_nodedir', 'npm_config_cache', 'npm_config_userconfig']);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().startsWith('npm_') || keep.has(k.toLowerCase())) env[k] = v;
  env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;
  return { ...env, ...extra };
}

/**
 * Local prebuilt binaries of the native dependencies, in the layout `prebuild-install` looks for
 * (`<name>-v<version>-node-v<abi>-<platform>-<arch>.tar.gz`), made from the addons this checkout's
 * own `npm ci` just compiled for the Node under test. A user's install downloads the same kind of
 * archive from the package's release page; this machine cannot reach it, and compiling isolated-vm
 * and SQLite again from source would only repeat what `npm ci` did (minutes of CPU), not test
 * Palisade. The install still runs each package's real install script, which unpacks the archive
 * and loads the addon before it succeeds. Returns the environment that points prebuild-install at
 * them (`npm_config_<name>_local_prebuilds`).
 */
function localPrebuilds(dir: string): NodeJS.ProcessEnv {
  mkdirSync(dir, { recursive: true });
  const env: NodeJS.ProcessEnv = {};
  const ivm = Number(process.versions.node.split('.')[0]) >= 24 ? 'isolated-vm-7' : 'isolated-vm-5';
  for (const [folder, binary] of [['better-sqlite3', 'build/Release/better_sqlite3.node'], [ivm, 'out/isolated_vm.node']] as const) {
    const pkgDir = join(repoRoot, 'node_modules', folder);
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { name: string; version: string; scripts?: { install?: string } };
    // isolated-vm 7 ships its binaries inside the package (node-gyp-build): nothing to compile or fetch.
    if (!(pkg.scripts?.install ?? '').includes('prebuild-install')) continue;
    assert.ok(existsSync(join(pkgDir, binary)), `${folder} was built by npm ci`);
    const archive = join(dir, `${pkg.name}-v${pkg.version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`);
    const tar = spawnSync('tar', ['-czf', archive, '-C', pkgDir, binary], { encoding: 'utf8' });
    assert.equal(tar.status, 0, tar.stderr);
    env[`npm_config_${pkg.name.replace(/[^a-zA-Z0-9]/g, '_')}_local_prebuilds`] = dir;
  }
  return env;
}

/** Runs a command to completion within `timeoutMs`, or kills it and fails. */
function run(cmd: string, args: readonly string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = npmEnv()): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr.slice(-4000)}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('the packed package installs with --omit=dev into an empty project, and init + up serve', { timeout: 15 * 60_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'palisade-packed-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));

  // 1. Pack what `npm publish` would publish (dist/ is already built by `npm test`; --ignore-scripts
  // so that `prepare` does not rebuild dist/ under the other tests running beside this one).
  const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], repoRoot, 120_000);
  assert.equal(pack.code, 0, pack.stderr);
  const [packed] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  assert.ok(packed);
  const files = packed.files.map((f) => f.path);
  assert.deepEqual(files.filter((f) => /\.test\.js$|\.test-support\.js$|\.map$|^dist\/(bench|test|scripts)\//.test(f)), [], 'no compiled tests, bench, scripts or source maps');
  assert.ok(files.includes('src/runtime/prelude/prelude.js'), 'the isolate prelude ships');
  assert.ok(files.includes('dist/src/cli/main.js'));

  // 2. Install it as a user would: an empty project, production dependencies only, the machine's
  // npm cache reused. Install scripts allowed only for the native modules Palisade needs.
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, allowScripts: { 'better-sqlite3': true, esbuild: true, 'isolated-vm': true } }));
  const install = await run('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(work, packed.filename)], app, 12 * 60_000, npmEnv(localPrebuilds(join(work, 'prebuilds'))));
  assert.equal(install.code, 0, install.stderr);
  const installed = join(app, 'node_modules', 'palisade');
  const ivm = Number(process.versions.node.split('.')[0]) >= 24 ? 'isolated-vm-7' : 'isolated-vm-5';
  assert.ok(existsSync(join(app, 'node_modules', ivm, 'package.json')), `${ivm} is hoisted next to palisade, as npm does`);
  assert.ok(!existsSync(join(installed, 'node_modules', ivm)), `${ivm} is not nested under palisade`);
  assert.ok(!existsSync(join(app, 'node_modules', 'typescript')), 'no dev dependencies installed');
  // The addons came from the prebuilt archives (a compile would leave its object files).
  assert.ok(existsSync(join(app, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')));
  assert.ok(!existsSync(join(app, 'node_modules', 'better-sqlite3', 'build', 'Release', 'obj.target')), 'better-sqlite3 was installed from its prebuilt archive, not compiled');

  // 3. palisade init, from the installed bin.
  const bin = join(app, 'node_modules', '.bin', 'palisade');
  const init = await run(process.execPath, [bin, 'init', 'site'], app, 60_000);
  assert.equal(init.code, 0, init.stderr);

  // 4. palisade up on an ephemeral loopback port; health and the scaffolded function answer.
  const up = spawn(process.execPath, [bin, 'up', 'site', '--port', '0', '--json'], { cwd: app, env: npmEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  up.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => up.once('close', (code) => resolve(code)));
  up.on('error', () => undefined);
  t.after(async () => {
    if (up.exitCode === null && up.signalCode === null) up.kill('SIGKILL');
    await exited;
  });
  const started = await new Promise<{ url: string; caFile: string | null }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`palisade up did not start in 120 s\n${stderr}`)), 120_000);
    up.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const nl = out.indexOf('\n');
      if (nl === -1) return;
      clearTimeout(timer);
      resolve(JSON.parse(out.slice(0, nl)) as { url: string; caFile: string | null });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`palisade up exited with ${String(code)}\n${stderr}`));
    });
  });
  assert.match(started.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const ca = started.caFile === null ? undefined : readFileSync(started.caFile, 'utf8');
  const health = await fetchTls(started.url, ca, '/_palisade/health');
  assert.equal(health.status, 200);
  assert.deepEqual(JSON.parse(health.body), { status: 'ok' });
  const hello = await fetchTls(started.url, ca, '/hello');
  assert.equal(hello.status, 200, hello.body);
  assert.deepEqual(JSON.parse(hello.body), { message: 'hello from /hello' });
  up.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
});
