/**
 * Slow readers: 100 connections that request a 10 MiB response and never read it. Reports the
 * gateway's RSS growth (from a warmed gateway, and from cold) and the latency of a healthy route
 * while they hold their connections, against the same route with no slow readers.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { rssOf, startGatewayProcess } from './streaming-gateway-process.js';

const MIB = 1024 * 1024;

/** Result of {@link measureSlowReaders}. */
export interface SlowReadersResult {
  readonly readers: number;
  readonly rssColdMiB: number;
  readonly rssWarmMiB: number;
  readonly rssGrowthMiB: number;
  readonly healthyP50Ms: number;
  readonly healthyP99Ms: number;
  readonly healthyUnderP50Ms: number;
  readonly healthyUnderP99Ms: number;
}

function get(port: number, path: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
    });
    req.on('error', reject);
    req.end();
  });
}

function slowReader(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write('GET /big HTTP/1.1\r\nhost: localhost\r\n\r\n'));
    socket.on('error', () => undefined);
    socket.once('error', reject);
    socket.once('data', () => {
      socket.pause();
      resolve(socket);
    });
  });
}

async function latencies(port: number, n: number): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push(await get(port, '/hello'));
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(n * 0.5)] ?? 0, p99: samples[Math.min(n - 1, Math.floor(n * 0.99))] ?? 0 };
}

/**
 * Runs the scenario once.
 *
 * @example
 * ```ts
 * const r = await measureSlowReaders({ readers: 100 });
 * ```
 */
export async function measureSlowReaders(options: { readers?: number; samples?: number } = {}): Promise<SlowReadersResult> {
  const readers = options.readers ?? 100;
  const samples = options.samples ?? 300;
  const gw = await startGatewayProcess({ sendTimeoutMs: 60_000 });
  try {
    const cold = rssOf(gw.pid);
    for (let round = 0; round < 5; round++) await Promise.all(Array.from({ length: 4 }, () => get(gw.port, '/big')));
    const before = await latencies(gw.port, samples);
    const warm = rssOf(gw.pid);
    const sockets = await Promise.all(Array.from({ length: readers }, () => slowReader(gw.port)));
    await new Promise((r) => setTimeout(r, 1500));
    const held = rssOf(gw.pid);
    const under = await latencies(gw.port, samples);
    for (const s of sockets) s.destroy();
    return {
      readers,
      rssColdMiB: cold / MIB,
      rssWarmMiB: warm / MIB,
      rssGrowthMiB: (held - warm) / MIB,
      healthyP50Ms: before.p50,
      healthyP99Ms: before.p99,
      healthyUnderP50Ms: under.p50,
      healthyUnderP99Ms: under.p99,
    };
  } finally {
    await gw.stop();
  }
}

/** `npm run bench` entry: gateway RSS and a healthy route's latency while slow readers hold 10 MiB responses. */
export async function run(ctx: { readonly quick?: boolean } = {}): Promise<{ rows: Array<{ scenario: string; metric: string; palisade: string; reference: string; ratio: string }>; data: SlowReadersResult }> {
  const r = await measureSlowReaders(ctx.quick === true ? { readers: 100, samples: 100 } : {});
  return {
    rows: [
      { scenario: `${r.readers} slow readers of a 10 MiB response`, metric: 'gateway RSS growth MiB', palisade: r.rssGrowthMiB.toFixed(1), reference: '64 MiB budget', ratio: `${(r.rssGrowthMiB / 64).toFixed(2)}×` },
      { scenario: `healthy route while ${r.readers} slow readers hold connections`, metric: 'p50 ms (p99)', palisade: `${r.healthyUnderP50Ms.toFixed(2)} (${r.healthyUnderP99Ms.toFixed(2)})`, reference: `${r.healthyP50Ms.toFixed(2)} (${r.healthyP99Ms.toFixed(2)}) same route, no slow readers`, ratio: `${(r.healthyUnderP99Ms / Math.max(0.001, r.healthyP99Ms)).toFixed(2)}× p99` },
    ],
    data: r,
  };
}
