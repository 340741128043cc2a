import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');

/** A gateway with real workers in its own process (`/hello`, and `/big`: a 10 MiB body). */
export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly pid: number;
  readonly workers: readonly number[];
  stop(): Promise<void>;
}

/** Starts the streaming gateway fixture, optionally pinned with `taskset -c <cpu>`. */
export async function startGatewayProcess(options: { sendTimeoutMs?: number; cpu?: number } = {}): Promise<GatewayProcess> {
  const script = join(root, 'dist', 'src', 'platform', 'test-fixtures', 'streaming-gateway.js');
  const args = [script, String(options.sendTimeoutMs ?? 10_000)];
  const child = options.cpu === undefined ? spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] }) : spawn('taskset', ['-c', String(options.cpu), process.execPath, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const info = await new Promise<{ port: number; pid: number; workers: number[] }>((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (c: Buffer) => {
      buffer += c.toString('utf8');
      if (buffer.includes('\n')) resolve(JSON.parse(buffer.slice(0, buffer.indexOf('\n'))) as { port: number; pid: number; workers: number[] });
    });
    child.on('exit', () => reject(new Error('the gateway process exited')));
  });
  return {
    child,
    ...info,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin?.end();
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** Resident set of a process in bytes. */
export function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:')) ?? '';
  return Number(/(\d+)/.exec(line)?.[1] ?? 0) * 1024;
}

/** CPU time (user + system) a process has used, in microseconds. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / 100) * 1e6;
}
