import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packageRoot } from '../runtime/package-paths.js';

const MIB = 1024 * 1024;
const SIZE = 10 * MIB;
const READERS = 100;

/** Resident memory of a process, from the kernel. */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:')) ?? '';
  return Number(/(\d+)/.exec(line)?.[1] ?? 0) * 1024;
}

/** Starts the gateway (with real workers) in its own process, so its memory is measured alone. */
export async function startStreamingGateway(sendTimeoutMs = 4000): Promise<{ child: ChildProcess; port: number; pid: number; workers: number[] }> {
  const child = spawn(process.execPath, [join(packageRoot, 'dist', 'src', 'platform', 'test-fixtures', 'streaming-gateway.js'), String(sendTimeoutMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const info = await new Promise<{ port: number; pid: number; workers: number[] }>((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (c: Buffer) => {
      buffer += c.toString('utf8');
      if (buffer.includes('\n')) resolve(JSON.parse(buffer.slice(0, buffer.indexOf('\n'))) as { port: number; pid: number; workers: number[] });
    });
    child.on('exit', () => reject(new Error('the gateway exited')));
  });
  return { child, ...info };
}

function get(port: number, path: string): Promise<{ status: number; body: Buffer; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A client that asks for the big body and then never reads: its socket is paused with a tiny buffer. */
function slowReader(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.write('GET /big HTTP/1.1\r\nhost: localhost\r\n\r\n');
    });
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.once('error', reject);
    // Read the first bytes (the response started), then stop reading for good.
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      if (!chunk.toString('latin1').startsWith('HTTP/1.1 200')) reject(new Error(chunk.toString('latin1').split('\r\n\r\n')[1]?.slice(0, 300)));
      else resolve(socket);
    });
  });
}

describe('streamed responses and slow readers (real workers, real gateway)', () => {
  let gateway: { child: ChildProcess; port: number; pid: number };
  let port = 0;

  before(async () => {
    gateway = await startStreamingGateway(4000);
    port = gateway.port;
  });
  after(() => {
    gateway.child.stdin?.end();
  });

  test('a 10 MiB response arrives whole and in order', async () => {
    const r = await get(port, '/big');
    assert.equal(r.status, 200);
    assert.equal(r.body.byteLength, SIZE);
    for (let i = 0; i < SIZE; i += 4096) assert.equal(r.body[i], (i / 4096) & 0xff, `byte ${i}`);
  });

  test('100 readers that never read: gateway memory stays bounded, other routes keep answering, and the stalled connections are closed', async () => {
    // The baseline is a gateway that has streamed bodies before (200 MiB to fast readers): what
    // is measured is what slow connections hold, not the one-off growth of a process that starts
    // moving bytes (V8 collects external buffers only every 64 MiB or so).
    const cold = rssOf(gateway.pid);
    for (let round = 0; round < 5; round++) await Promise.all(Array.from({ length: 4 }, () => get(port, '/big')));
    for (let i = 0; i < 20; i++) await get(port, '/hello');
    const baseline = rssOf(gateway.pid);
    const sockets: Socket[] = [];
    const closed = new Set<Socket>();
    const opened = await Promise.all(Array.from({ length: READERS }, () => slowReader(port)));
    for (const s of opened) {
      if (s.destroyed) closed.add(s);
      s.on('close', () => closed.add(s));
      sockets.push(s);
    }
    // Every response has started (the reader saw its first bytes); give the gateway time to
    // buffer whatever it would buffer.
    await new Promise((r) => setTimeout(r, 1500));
    const held = rssOf(gateway.pid);
    const latencies: number[] = [];
    for (let i = 0; i < 50; i++) latencies.push((await get(port, '/hello')).ms);
    latencies.sort((a, b) => a - b);
    const growthMiB = (held - baseline) / MIB;
    // Reported for the record (the bench measures p99 under the same load).
    process.stdout.write(`# gateway rss ${(cold / MIB).toFixed(0)} MiB cold, ${(baseline / MIB).toFixed(0)} MiB warm; growth with ${READERS} slow readers of 10 MiB: ${growthMiB.toFixed(1)} MiB; /hello p50 ${latencies[25]?.toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms\n`);
    assert.ok(growthMiB < 64, `gateway rss grew ${growthMiB.toFixed(1)} MiB`);
    assert.ok((latencies.at(-1) ?? 0) < 1000, 'the healthy route kept answering');
    // The send timeout (4 s here) closes connections that took nothing more: once they read
    // again they find a truncated body and the end of the connection.
    await new Promise((r) => setTimeout(r, 6000));
    const received = new Map<Socket, number>();
    for (const s of sockets) {
      s.on('data', (c: Buffer) => received.set(s, (received.get(s) ?? 0) + c.byteLength));
      s.resume();
    }
    const deadline = Date.now() + 15_000;
    while (closed.size < READERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(closed.size, READERS, 'every stalled connection was closed by the gateway');
    for (const s of sockets) assert.ok((received.get(s) ?? 0) < SIZE, 'the body was cut, not completed');
    for (const s of sockets) s.destroy();
    assert.equal((await get(port, '/hello')).status, 200);
  });
});
