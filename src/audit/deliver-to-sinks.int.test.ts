import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ensureLocalTls } from '../gateway/index.js';
import { silentLogger, systemClock } from '../kernel/index.js';
import { makeTestEvent } from './audit-test-events.test-support.js';
import { ChainWriter } from './chain-writer.js';
import { startSinkDelivery } from './deliver-to-sinks.js';

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
function tempBase(): string {
  const d = mkdtempSync(join(tmpdir(), 'palisade-sinks-'));
  roots.push(d);
  return d;
}

function writer(stateDir: string): ChainWriter {
  return new ChainWriter({ stateDir, mode: 'sync', checkpointEvery: 100, checkpointEverySec: 3600, now: Date.now });
}

async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Sequence numbers as received, checked to be in order; duplicates (at-least-once) collapsed. */
function inOrder(seqs: readonly number[]): number[] {
  const unique = [...new Set(seqs)];
  assert.deepEqual(unique, [...unique].sort((a, b) => a - b), 'delivered out of order');
  return unique;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('live audit sinks', () => {
  test('a JSON-lines file sink gets every event in order, then the new ones, as OCSF with the sequence number', async () => {
    const base = tempBase();
    const stateDir = join(base, '.palisade');
    const w = writer(stateDir);
    w.append(range(30).map((i) => makeTestEvent(i)));
    const path = join(base, 'siem', 'audit.jsonl');
    const delivery = startSinkDelivery({ stateDir, sinks: [{ type: 'file', name: 'siem', format: 'ocsf', path }], logger: silentLogger, pollMs: 20, version: 'test' });
    try {
      const seqs = (): number[] => (existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { metadata: { sequence: number } }).metadata.sequence) : []);
      await until(() => seqs().length >= 30, '30 lines');
      w.append(range(10).map((i) => makeTestEvent(100 + i)));
      await until(() => seqs().length >= 40, '40 lines');
      assert.deepEqual(seqs(), range(40));
    } finally {
      await delivery.close();
      w.close();
    }
  });

  test('webhook outage: events wait in the log and are delivered in order, none lost, once the receiver is back', async () => {
    const base = tempBase();
    const stateDir = join(base, '.palisade');
    const tls = await ensureLocalTls(join(base, 'receiver'), systemClock);
    const received: number[] = [];
    let failNext = 0;
    const server: Server = createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        // A receiver that fails after reading makes the sender retry the same batch: duplicates, never gaps.
        if (failNext > 0) {
          failNext--;
          res.writeHead(503).end();
          return;
        }
        for (const l of body.trim().split('\n')) received.push((JSON.parse(l) as { metadata: { sequence: number } }).metadata.sequence);
        res.writeHead(204).end();
      });
    });
    // Find a free port, then leave it closed: the receiver is down.
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const w = writer(stateDir);
    w.append(range(700).map((i) => makeTestEvent(i)));
    const delivery = startSinkDelivery({ stateDir, sinks: [{ type: 'webhook', name: 'hook', format: 'ocsf', url: `https://127.0.0.1:${port}/ingest`, ca: readFileSync(tls.caFile as string, 'utf8') }], logger: silentLogger, pollMs: 20, maxBackoffMs: 200, version: 'test' });
    try {
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(received.length, 0);
      w.append(range(50).map((i) => makeTestEvent(1000 + i)));
      failNext = 1;
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      await until(() => new Set(received).size >= 750, '750 events at the receiver');
      assert.deepEqual(inOrder(received), range(750));
    } finally {
      await delivery.close();
      w.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test('syslog over TCP: RFC 5424 messages, octet-counted, each with its sequence number', async () => {
    const base = tempBase();
    const stateDir = join(base, '.palisade');
    const frames: string[] = [];
    const server = createNetServer((socket) => {
      let buf = '';
      socket.on('data', (d: Buffer) => (buf += d.toString()));
      socket.on('end', () => {
        while (buf.length > 0) {
          const sp = buf.indexOf(' ');
          const len = Number(buf.slice(0, sp));
          frames.push(buf.slice(sp + 1, sp + 1 + len));
          buf = buf.slice(sp + 1 + len);
        }
        socket.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const w = writer(stateDir);
    w.append(range(20).map((i) => makeTestEvent(i)));
    const delivery = startSinkDelivery({ stateDir, sinks: [{ type: 'syslog', name: 'syslog', format: 'cef', host: '127.0.0.1', port: (server.address() as AddressInfo).port, tls: false }], logger: silentLogger, pollMs: 20, version: 'test' });
    try {
      await until(() => frames.length >= 20, '20 syslog frames');
      assert.match(frames[0] ?? '', /^<\d+>1 \S+ \S+ palisade \d+ audit \[palisade@32473 seq="1"\] CEF:0\|Palisade\|/);
      assert.deepEqual(frames.map((f) => Number(/seq="(\d+)"/.exec(f)?.[1])), range(20));
    } finally {
      await delivery.close();
      w.close();
      server.close();
    }
  });
});
