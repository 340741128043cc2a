// node dist/bench/login-load.js [--quick]
//
// Login load: how many built-in logins per second the gateway completes with argon2id verified
// in worker threads, and what that load does to the p99 latency of a public route served at the
// same time (the target: at most 2x the p99 without logins). Runs `palisade up
// --allow-insecure-http` as a child process (pinned to core 0 with taskset when there are two
// cores) and autocannon in this process.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { addUser } from '../src/identity/index.js';
import { systemClock } from '../src/kernel/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { firstLine } from './harness.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const quick = process.argv.includes('--quick');
const durationS = quick ? 4 : 10;
const PASSWORD = 'a long and private passphrase';

const coreCount = availableParallelism();
const pinned = spawnSync('taskset', ['--version']).status === 0 && coreCount >= 2;
if (pinned) spawnSync('taskset', ['-cp', '1', String(process.pid)]);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-login-bench-'));
  writeFileSync(join(dir, 'palisade.yaml'), 'name: loginbench\nidentity:\n  builtin: { enabled: true, mfa: optional }\nfunctions:\n  hello: { source: functions/hello.ts }\nroutes:\n  - { path: /public, function: hello, public: true }\n');
  mkdirSync(join(dir, 'functions'));
  writeFileSync(join(dir, 'functions', 'hello.ts'), 'export default { async fetch(): Promise<Response> { return Response.json({ hello: "world" }); } };\n');
  const store = openSqliteStore(join(dir, '.palisade', 'state.db'));
  await addUser(store, { username: 'loadtester', password: PASSWORD, roles: [] }, systemClock);
  await store.close();

  const args = [join(root, 'dist', 'src', 'cli', 'main.js'), 'up', dir, '--port', '0', '--json', '--allow-insecure-http'];
  const child = spawn(pinned ? 'taskset' : process.execPath, pinned ? ['-c', '0', process.execPath, ...args] : args, { stdio: ['ignore', 'pipe', 'ignore'] });
  child.on('error', () => undefined);
  try {
    const { url } = await firstLine<{ url: string }>(child);
    const publicLoad = (duration: number) => autocannon({ url: `${url}/public`, connections: 4, duration });
    const loginLoad = (duration: number) =>
      autocannon({ url: `${url}/_palisade/auth/login`, connections: 4, duration, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'loadtester', password: PASSWORD }) });

    await publicLoad(2); // warm-up
    await loginLoad(2);
    const alone = await publicLoad(durationS);
    const loginsAlone = await loginLoad(durationS);
    const [during, logins] = await Promise.all([publicLoad(durationS), loginLoad(durationS)]);
    const ratio = during.latency.p99 / Math.max(1, alone.latency.p99);
    const result = {
      pinning: pinned ? 'gateway on core 0, load generator on core 1' : 'not pinned',
      durationS,
      loginsPerSecond: Math.round(loginsAlone.requests.average * 10) / 10,
      loginsPerSecondWithPublicLoad: Math.round(logins.requests.average * 10) / 10,
      loginNon2xx: loginsAlone.non2xx + logins.non2xx,
      publicP99Ms: { withoutLogins: alone.latency.p99, duringLogins: during.latency.p99, ratio: Math.round(ratio * 100) / 100 },
      publicRps: { withoutLogins: Math.round(alone.requests.average), duringLogins: Math.round(during.requests.average) },
      target: 'public p99 during logins at most 2x the p99 without logins',
      met: ratio <= 2,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

await main();
