/**
 * An egress fetch through the guard against a direct `https.request`, both to the same local
 * HTTPS server, both on a fresh connection per request (the guard never reuses sockets: a pooled
 * socket could outlive its address check). Reports µs per request and what the guard adds
 * (URL parsing, grant match, policy call, resolution, address check, pinned lookup, events).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureLocalTls } from '../../src/gateway/index.js';
import { systemClock } from '../../src/kernel/index.js';
import { createEgressGuard, type EgressEvent } from '../../src/segmentation/index.js';

/** Result of {@link measureEgress}. */
export interface EgressBenchResult {
  readonly samples: number;
  readonly guardP50Us: number;
  readonly guardP99Us: number;
  readonly directP50Us: number;
  readonly directP99Us: number;
  readonly addedP50Us: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

/**
 * Runs the scenario once.
 *
 * @example
 * ```ts
 * const r = await measureEgress({ samples: 500 });
 * ```
 */
export async function measureEgress(options: { samples?: number } = {}): Promise<EgressBenchResult> {
  const samples = options.samples ?? 400;
  const tls = await ensureLocalTls(mkdtempSync(join(tmpdir(), 'palisade-bench-egress-')), systemClock, ['api.egress.test']);
  const ca = readFileSync(tls.caFile ?? '', 'utf8');
  const body = Buffer.from('{"ok":true}');
  const server = createServer({ cert: tls.cert, key: tls.key }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const events: EgressEvent[] = [];
  const guard = createEgressGuard({
    limits: { maxResponseBytes: 1 << 20, maxRequestBytes: 1 << 20, timeoutMs: 5000, maxRedirects: 3 },
    authorize: () => ({ effect: 'allow', policyIds: [] }),
    resolve: async () => [{ address: '127.0.0.1', family: 4 }],
    tls: { ca },
    events: { onEgress: (e) => void (events.length < 1 ? events.push(e) : undefined) },
  });
  const grants = [{ host: 'api.egress.test', ports: [port], allowPrivateNetwork: true }];
  const viaGuard = async () => {
    await guard.fetch('bench', grants, { method: 'GET', url: `https://api.egress.test:${port}/`, headers: [['accept', 'application/json']], body: null });
  };
  const direct = () =>
    new Promise<void>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, servername: 'api.egress.test', path: '/', headers: { host: `api.egress.test:${port}`, accept: 'application/json' }, agent: false, ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  const time = async (fn: () => Promise<void>, n: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await fn();
      out.push((performance.now() - t0) * 1000);
    }
    return out.sort((a, b) => a - b);
  };
  try {
    await time(direct, 50);
    await time(viaGuard, 50);
    // Interleave in blocks so that drift on a shared machine hits both sides alike.
    const g: number[] = [];
    const d: number[] = [];
    for (let block = 0; block < 4; block++) {
      d.push(...(await time(direct, samples / 4)));
      g.push(...(await time(viaGuard, samples / 4)));
    }
    g.sort((a, b) => a - b);
    d.sort((a, b) => a - b);
    return { samples, guardP50Us: percentile(g, 50), guardP99Us: percentile(g, 99), directP50Us: percentile(d, 50), directP99Us: percentile(d, 99), addedP50Us: percentile(g, 50) - percentile(d, 50) };
  } finally {
    server.close();
    server.closeAllConnections();
  }
}

/** `npm run bench` entry: the guard against a direct request, same server, same run. */
export async function run(ctx: { readonly quick?: boolean } = {}): Promise<{ rows: Array<{ scenario: string; metric: string; palisade: string; reference: string; ratio: string }>; data: EgressBenchResult }> {
  const r = await measureEgress({ samples: ctx.quick === true ? 100 : 400 });
  const us = (n: number) => n.toFixed(0);
  return {
    rows: [
      {
        scenario: 'egress fetch through the guard (local HTTPS, new connection each)',
        metric: 'p50 µs (p99)',
        palisade: `${us(r.guardP50Us)} (${us(r.guardP99Us)})`,
        reference: `${us(r.directP50Us)} (${us(r.directP99Us)}) direct https.request`,
        ratio: `${(r.guardP50Us / Math.max(1, r.directP50Us)).toFixed(2)}× (+${us(r.addedP50Us)} µs)`,
      },
    ],
    data: r,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  run({ quick }).then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
