/**
 * A stand-in gateway for the parent-death test: starts a pool whose functions load slowly and
 * prints every worker pid as soon as it exists, so the test can kill this process mid-start.
 */
import { buildPrelude } from '../build-prelude.js';
import { createWorkerPool, type PoolFunctionSpec } from '../worker-pool.js';

const slowModule = "const t = Date.now(); while (Date.now() - t < 400) {} module.exports = { default: { fetch() { return new Response('ok'); } } };";
const functions: PoolFunctionSpec[] = [];
const bundles = new Map<string, string>();
for (let i = 0; i < 8; i++) {
  functions.push({ name: `f${i}`, source: '', segment: `s${i % 4}`, limits: { memoryMb: 32, cpuMs: 50, timeoutMs: 1000, maxResponseBytes: 1024 }, bindings: {} });
  bundles.set(`f${i}`, slowModule);
}
const pool = createWorkerPool({ prelude: await buildPrelude(), segments: [0, 1, 2, 3].map((i) => ({ name: `s${i}`, workers: 2 })), functions, bundles });
void pool.start().then(() => process.stdout.write('started\n'), () => undefined);
const report = () => process.stdout.write(`pids ${pool.allPids().join(' ')}\n`);
setInterval(report, 20);
