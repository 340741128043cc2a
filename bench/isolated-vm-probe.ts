// node dist/bench/isolated-vm-probe.js   (run it once with Node 20 and once with Node 24)
//
// What the isolated-vm build of the running Node offers and costs, for docs/runtime.md "Node
// versions": isolate cold start with and without a V8 startup snapshot, a warm call, the IPC
// round trip a worker pays per request, and whether a result that is a view over a shrunk
// resizable ArrayBuffer aborts the hosting process (run in a child process, so an abort is
// observed, not suffered). Prints one JSON object.
import { fork, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ivm from '../src/runtime/load-isolated-vm.js';
import { isolatedVmLocation } from '../src/runtime/package-paths.js';
import { buildPrelude } from '../src/runtime/index.js';

const here = fileURLToPath(import.meta.url);
const N = Number(process.env.PROBE_SAMPLES ?? 200);

function p50(samples: number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function time(n: number, fn: () => Promise<void>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return p50(samples);
}

async function shrunkBufferChild(): Promise<void> {
  const iso = new ivm.Isolate({ memoryLimit: 32 });
  const ctx = await iso.createContext();
  const code = 'const b = new ArrayBuffer(64, { maxByteLength: 128 }); const v = new Uint8Array(b, 32, 16); b.resize(8); v';
  try {
    await ctx.eval(code, { copy: true, timeout: 1000 });
    process.stdout.write('copied\n');
  } catch (e) {
    process.stdout.write(`error: ${(e as Error).message}\n`);
  }
  iso.dispose();
}

async function snapshotChild(): Promise<void> {
  const prelude = await buildPrelude();
  const snapshot = ivm.Isolate.createSnapshot([{ code: prelude }]);
  const coldStartFromSnapshotMs = await time(Math.min(N, 50), async () => {
    const iso = new ivm.Isolate({ memoryLimit: 64, snapshot });
    const ctx = await iso.createContext();
    await ctx.eval('typeof Response', { timeout: 5000 });
    iso.dispose();
  });
  process.stdout.write(`${JSON.stringify({ snapshotBytes: snapshot.copy().byteLength, coldStartFromSnapshotMs })}\n`);
}

async function main(): Promise<void> {
  if (process.argv[2] === '--shrunk-buffer') return shrunkBufferChild();
  if (process.argv[2] === '--snapshot') return snapshotChild();
  const location = isolatedVmLocation();
  const prelude = await buildPrelude();
  const out: Record<string, unknown> = { node: process.version, isolatedVm: `${location.name} (${location.version})`, execArgv: process.execArgv };

  // Cold start: isolate + context + the prelude, compiled each time vs restored from a snapshot.
  out.coldStartPreludeMs = await time(Math.min(N, 50), async () => {
    const iso = new ivm.Isolate({ memoryLimit: 64 });
    const ctx = await iso.createContext();
    await ctx.eval(prelude, { timeout: 5000 });
    iso.dispose();
  });
  // A startup snapshot of the prelude, in a child process: restoring one can abort the process.
  const snap = spawnSync(process.execPath, ['--no-node-snapshot', here, '--snapshot'], { encoding: 'utf8', timeout: 120_000 });
  const snapLine = snap.stdout.trim().split('\n').pop() ?? '';
  out.snapshot = snap.status === 0 && snapLine.startsWith('{') ? (JSON.parse(snapLine) as unknown) : { exitCode: snap.status, signal: snap.signal, stderr: snap.stderr.split('\n').find((l) => l.trim() !== '') ?? '' };
  out.bareIsolateColdMs = await time(N, async () => {
    const iso = new ivm.Isolate({ memoryLimit: 64 });
    const ctx = await iso.createContext();
    await ctx.evalClosure('return 1');
    iso.dispose();
  });

  // A warm call with a copied request-like argument and result.
  const iso = new ivm.Isolate({ memoryLimit: 64 });
  const ctx = await iso.createContext();
  const ref = (await ctx.evalClosure('return async (r) => ({ status: 200, headers: [["content-type", "application/json"]], body: new ArrayBuffer(30) })', [], { result: { reference: true } })) as ivm.Reference;
  const req = { method: 'GET', url: 'https://localhost/hello', headers: [['accept', '*/*']], body: null, requestId: 'probe' };
  const apply = async () => void (await ref.apply(undefined, [req], { arguments: { copy: true }, result: { copy: true, promise: true } }));
  await time(200, apply);
  out.warmApplyUs = (await time(N * 5, apply)) * 1000;
  iso.dispose();

  // The IPC round trip between a gateway and a worker (advanced serialization, as the pool uses).
  const echo = fork(join(here, '..', 'servers', 'ipc-echo.js'), [], { serialization: 'advanced' });
  const message = { t: 'invoke', id: 1, fn: 'hello', req };
  const roundTrip = () => new Promise<void>((resolve) => {
    echo.once('message', () => resolve());
    echo.send(message);
  });
  await time(200, roundTrip);
  out.ipcRoundTripUs = (await time(N * 5, roundTrip)) * 1000;
  echo.disconnect();

  // The shrunk resizable-buffer result, in a child process with the worker's snapshot flag.
  const child = spawnSync(process.execPath, ['--no-node-snapshot', here, '--shrunk-buffer'], { encoding: 'utf8', timeout: 30_000 });
  out.shrunkResizableBufferResult = { exitCode: child.status, signal: child.signal, stdout: child.stdout.trim() };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

await main();
