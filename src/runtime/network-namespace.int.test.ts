import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { probeNetworkIsolation, type NetworkIsolation } from './network-namespace.js';
import { packageRoot } from './package-paths.js';
import { createWorkerPool, type PoolFunctionSpec, type WorkerPool } from './worker-pool.js';

// A worker process's own socket (what escaped code would open) against a listener of the test.
const FORGING_WORKER = join(packageRoot, 'dist', 'src', 'runtime', 'test-fixtures', 'forging-worker.js');
const LIMITS = { memoryMb: 64, cpuMs: 50, timeoutMs: 5000, maxResponseBytes: 1 << 20, concurrency: 2, queue: 8 };

let server: Server;
let port = 0;
before(async () => {
  server = createServer((socket) => socket.destroy());
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

async function attempt(isolation: NetworkIsolation | undefined): Promise<string> {
  const fn: PoolFunctionSpec = { name: 'f', source: '', segment: 'default', limits: LIMITS, bindings: {} };
  const pool: WorkerPool = createWorkerPool({ prelude: '', segments: [{ name: 'default', workers: 1 }], functions: [fn], bundles: new Map([['f', '']]), workerScript: FORGING_WORKER, ...(isolation === undefined ? {} : { networkIsolation: isolation }) });
  await pool.start();
  try {
    const res = await pool.invoke('f', { method: 'GET', url: `https://localhost/net?port=${port}`, headers: [], body: null, requestId: 'r-net' });
    return res.headers.find(([k]) => k === 'x-net')?.[1] ?? 'no answer';
  } finally {
    await pool.close();
  }
}

describe('workers in an empty network namespace', () => {
  const isolation = probeNetworkIsolation();

  test('without isolation a worker process can open its own socket (the control)', async () => {
    assert.equal(await attempt(undefined), 'connected');
  });

  test('with isolation the same socket fails, and the worker still talks to the gateway over IPC', { skip: isolation.on ? false : `not available here: ${isolation.on ? '' : isolation.why}` }, async () => {
    const outcome = await attempt(isolation);
    assert.notEqual(outcome, 'connected');
    assert.match(outcome, /^(ENETUNREACH|ECONNREFUSED|EHOSTUNREACH|EADDRNOTAVAIL|timeout)$/);
  });
});
