/**
 * A gateway with real workers serving `/big` (a 10 MiB body) and `/hello`, in its own process so
 * that its memory can be measured apart from the clients. Prints `{"port":…}` once listening;
 * exits when stdin closes. For the slow-reader test and benchmark; never shipped.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInsecureLoopbackHttpGateway, denyAllAuthorizer, rejectAllAuthenticator } from '../../gateway/index.js';
import { silentLogger, systemClock } from '../../kernel/index.js';
import type { FunctionSpec, RouteSpec } from '../../manifest/index.js';
import { buildPrelude, bundleFunction, createWorkerPool, stopBundler } from '../../runtime/index.js';

const MIB = 1024 * 1024;
const SIZE = 10 * MIB;
const sendTimeoutMs = Number(process.argv[2] ?? 4000);
const FUNCTIONS: Record<string, string> = {
  // Bytes depend on their position, so a reordered or lost chunk shows.
  big: `export default { async fetch() { const b = new Uint8Array(${SIZE}); for (let i = 0; i < b.length; i += 4096) b[i] = (i / 4096) & 0xff; return new Response(b, { headers: { 'content-type': 'application/octet-stream' } }); } };`,
  hello: `export default { async fetch() { return Response.json({ hello: 'world' }); } };`,
};

const dir = mkdtempSync(join(tmpdir(), 'palisade-streaming-'));
mkdirSync(join(dir, 'functions'));
const functions: FunctionSpec[] = [];
const bundles = new Map<string, string>();
for (const [name, code] of Object.entries(FUNCTIONS)) {
  const source = join(dir, 'functions', `${name}.js`);
  writeFileSync(source, code);
  const spec: FunctionSpec = { name, source, segment: name === 'big' ? 'bulk' : 'default', limits: { memoryMb: 256, cpuMs: 5000, timeoutMs: 10000, maxResponseBytes: 16 * MIB, concurrency: 4, queue: 200 }, bindings: {} };
  functions.push(spec);
  bundles.set(name, (await bundleFunction(spec, dir)).code);
}
const prelude = await buildPrelude();
await stopBundler();
const pool = createWorkerPool({ prelude, segments: [{ name: 'default', workers: 1 }, { name: 'bulk', workers: 2 }], functions, bundles });
await pool.start();
const route = (index: number, path: string, fn: string): RouteSpec => ({ index, path, methods: ['GET'], function: fn, public: true, maxBodyBytes: 1024, auth: [] });
const gateway = createInsecureLoopbackHttpGateway(
  { host: '127.0.0.1', port: 0, routes: [route(0, '/big', 'big'), route(1, '/hello', 'hello')], limits: { maxHeaderBytes: 8192, headersTimeoutMs: 5000, requestTimeoutMs: 60_000, sendTimeoutMs } },
  { invoker: pool, authenticator: rejectAllAuthenticator, authorizer: denyAllAuthorizer, audit: { append: async () => undefined }, logger: silentLogger, clock: systemClock },
);
const { port } = await gateway.listen();
process.stdout.write(`${JSON.stringify({ port, pid: process.pid, workers: pool.allPids() })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void gateway.close(100).then(() => pool.close()).then(() => process.exit(0));
});
// Memory breakdown on request, for investigations.
process.on('SIGUSR2', () => process.stderr.write(`${JSON.stringify(process.memoryUsage())}\n`));
