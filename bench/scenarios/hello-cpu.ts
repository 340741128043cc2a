/**
 * CPU per request of the hello function through the gateway and its worker, read from /proc:
 * the gateway (and its workers) pinned to core 0, `wrk -t1 -c32` (or autocannon when wrk is not
 * installed) on core 1.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { cpuMicros, startGatewayProcess } from './streaming-gateway-process.js';

/** Result of {@link measureHelloCpu}. */
export interface HelloCpuResult {
  readonly tool: 'wrk' | 'autocannon';
  readonly pinned: boolean;
  readonly requestsPerSec: number;
  readonly gatewayMicrosPerRequest: number;
  readonly workerMicrosPerRequest: number;
  readonly totalMicrosPerRequest: number;
}

/**
 * Runs the scenario once.
 *
 * @example
 * ```ts
 * const r = await measureHelloCpu({ seconds: 10 });
 * ```
 */
export async function measureHelloCpu(options: { seconds?: number; connections?: number } = {}): Promise<HelloCpuResult> {
  const seconds = options.seconds ?? 10;
  const connections = options.connections ?? 32;
  const pinned = availableParallelism() >= 2 && existsSync('/usr/bin/taskset');
  const gw = await startGatewayProcess(pinned ? { cpu: 0 } : {});
  try {
    const url = `http://127.0.0.1:${gw.port}/hello`;
    const wrk = existsSync('/usr/bin/wrk');
    const load = (secs: number): number => {
      if (wrk) {
        const args = ['-t1', `-c${connections}`, `-d${secs}s`, url];
        const out = pinned ? execFileSync('taskset', ['-c', '1', '/usr/bin/wrk', ...args], { encoding: 'utf8' }) : execFileSync('/usr/bin/wrk', args, { encoding: 'utf8' });
        return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0) * secs;
      }
      const r = spawnSync(process.execPath, ['node_modules/autocannon/autocannon.js', '-j', '-c', String(connections), '-d', String(secs), url], { encoding: 'utf8' });
      return (JSON.parse(r.stdout) as { requests: { total: number } }).requests.total;
    };
    load(2);
    // The bulk segment serves no traffic here; its workers are counted all the same.
    const pids = [gw.pid, ...gw.workers];
    const before = pids.map(cpuMicros);
    const requests = load(seconds);
    const after = pids.map(cpuMicros);
    const used = after.map((a, i) => a - (before[i] ?? 0));
    const gateway = (used[0] ?? 0) / requests;
    const workers = used.slice(1).reduce((a, b) => a + b, 0) / requests;
    return { tool: wrk ? 'wrk' : 'autocannon', pinned, requestsPerSec: requests / seconds, gatewayMicrosPerRequest: gateway, workerMicrosPerRequest: workers, totalMicrosPerRequest: gateway + workers };
  } finally {
    await gw.stop();
  }
}
