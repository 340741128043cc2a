import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isPalisadeError, type ErrorCode } from '../kernel/index.js';
import type { FunctionSpec, SegmentSpec } from '../manifest/index.js';
import { buildPrelude } from './build-prelude.js';
import { bundleFunction } from './bundle-function.js';
import { createWorkerPool, readWholeBody, type FunctionLogLine, type WorkerPool } from './worker-pool.js';

// Each attack is a real function run in a real worker process under the permission model.
const ATTACKS: Record<string, string> = {
  escape: `
    export default { async fetch(request) {
      const results = {};
      const attempt = (name, fn) => {
        try {
          const v = fn();
          results[name] = v === undefined ? 'undefined' : (typeof v === 'object' || typeof v === 'function') ? 'REACHED ' + Object.keys(v).slice(0, 5).join(',') : String(v);
        } catch (e) { results[name] = 'blocked: ' + e.name; }
      };
      attempt('thisCtor', () => this.constructor.constructor('return process')());
      attempt('requestCtor', () => request.constructor.constructor('return process')());
      attempt('headersCtor', () => request.headers.constructor.constructor('return process')());
      attempt('functionThis', () => Function('return this')().process);
      attempt('globalProcess', () => globalThis.process);
      // Spelled so that the bundler cannot see (and refuse) them: this is what reaches the isolate.
      attempt('require', () => { const r = globalThis['req' + 'uire']; return typeof r === 'function' ? r('node' + ':fs') : undefined; });
      attempt('moduleRequire', () => { const m = globalThis['mod' + 'ule']; return m && m.require ? m.require('node' + ':fs') : undefined; });
      attempt('asyncCtor', () => { const p = (async function () {}).constructor('return process')(); p.catch(() => {}); return typeof process; });
      attempt('hostBridge', () => globalThis.__palisade_install ?? globalThis.__palisade_boot);
      try { await new Function("return import('node:fs')")(); results.dynamicImport = 'REACHED'; } catch (e) { results.dynamicImport = 'blocked: ' + e.name; }
      return Response.json(results);
    } };`,
  stack: `
    export default { async fetch() {
      const seen = [];
      Error.prepareStackTrace = (error, frames) => {
        for (const f of frames) {
          const self = f.getThis?.();
          seen.push({ file: String(f.getFileName?.()), hasProcess: !!(self && self.process), fn: String(f.getFunction?.()).slice(0, 40) });
        }
        return 'prepared';
      };
      const texts = [];
      try { crypto.getRandomValues(new Float64Array(2)); } catch (e) { texts.push(String(e.stack), e.message); }
      try { await crypto.subtle.digest('MD5', new Uint8Array(1)); } catch (e) { texts.push(String(e.stack), e.message); }
      try { crypto.getRandomValues(new Uint8Array(70000)); } catch (e) { texts.push(String(e.stack), e.message); }
      return Response.json({ seen, texts });
    } };`,
  pollute: `
    export default { async fetch(request, env) {
      Object.prototype.polluted = 'yes';
      Array.prototype.includes = () => true;
      try { request.headers.__proto__.injected = 'yes'; } catch {}
      try { Object.getPrototypeOf(env).envPolluted = 'yes'; } catch {}
      return new Response('polluted');
    } };`,
  shared: `
    export default { async fetch() {
      return Response.json({ sab: typeof SharedArrayBuffer, atomics: typeof Atomics, wasm: typeof WebAssembly });
    } };`,
  spin: `export default { async fetch() { while (true) {} } };`,
  spinAfterAwait: `export default { async fetch() { await null; await new Promise((r) => setTimeout(r, 1)); while (true) {} } };`,
  recurse: `export default { async fetch() { const f = (n) => f(n + 1) + 1; return new Response(String(f(0))); } };`,
  huge: `export default { async fetch() { return new Response('x'.repeat(2 * 1024 * 1024)); } };`,
  hang: `export default { async fetch() { await new Promise(() => {}); } };`,
  notResponse: `export default { async fetch() { return { status: 200, body: 'forged' }; } };`,
  badStatus: `export default { async fetch() { return new Response('x', { status: 99 }); } };`,
  timers: `
    export default { async fetch(request) {
      if (new URL(request.url).searchParams.has('check')) return Response.json({ leaked: globalThis.leaked === true });
      setTimeout(() => { globalThis.leaked = true; }, 50);
      return new Response('scheduled');
    } };`,
  logs: `export default { async fetch(request, env, ctx) { for (let i = 0; i < 1000; i++) console.log('line', i); return new Response(ctx.requestId); } };`,
  bomb: `export default { async fetch() { const a = new Array(1e9).fill(0); return new Response(String(a.length)); } };`,
  webApis: `
    export default { async fetch(request, env, ctx) {
      const out = {};
      const u = new URL('https://example.com/a/b?x=1&y=%C3%A9');
      out.url = [u.hostname, u.pathname, u.searchParams.get('y')];
      const q = new URLSearchParams({ a: '1', b: 'two words' });
      out.search = q.toString();
      out.base64 = [btoa('hello'), atob('aGVsbG8=')];
      const bytes = new TextEncoder().encode('héllo');
      out.text = [bytes.length, new TextDecoder().decode(bytes)];
      const clone = structuredClone({ d: new Date(0), m: new Map([[1, 2]]), s: new Set([3]) });
      out.clone = [clone.d instanceof Date, clone.m.get(1), clone.s.has(3)];
      out.uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID());
      out.random = crypto.getRandomValues(new Uint32Array(4)).some((n) => n !== 0);
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode('abc')));
      out.digest = Array.from(digest.slice(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
      const h = new Headers({ 'X-A': '1' });
      h.append('x-a', '2');
      out.headers = h.get('x-a');
      const posted = new Request('https://x/y', { method: 'POST', body: JSON.stringify({ k: 'v' }) });
      out.body = (await posted.json()).k;
      out.cleared = await new Promise((resolve) => { const id = setTimeout(() => resolve('fired'), 5); clearTimeout(id); setTimeout(() => resolve('cleared'), 10); });
      out.reqHeader = request.headers.get('accept');
      out.ctx = typeof ctx.requestId;
      out.env = Object.isFrozen(env);
      out.absent = ['process', 'require', 'fetch', 'XMLHttpRequest', 'Deno', 'Bun', 'setInterval'].filter((n) => typeof globalThis[n] !== 'undefined');
      return Response.json(out, { status: 201, headers: { 'x-fn': 'yes' } });
    } };`,
  echo: `export default { async fetch(request) { const bytes = new Uint8Array(await request.arrayBuffer()); return Response.json({ length: bytes.length, text: new TextDecoder().decode(bytes) }); } };`,
  bystander: `export default { async fetch() { return Response.json({ ok: true, polluted: typeof ({}).polluted, includes: [1].includes(2) }); } };`,
};

const LIMITS = { memoryMb: 64, cpuMs: 100, timeoutMs: 600, maxResponseBytes: 1024 * 1024, concurrency: 2, queue: 16 };

describe('sandbox containment (real worker processes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-sandbox-'));
  mkdirSync(join(dir, 'functions'));
  let pool: WorkerPool;
  const logs: FunctionLogLine[] = [];
  const exits: Array<{ segment: string; signal: string | null }> = [];

  before(async () => {
    const functions: FunctionSpec[] = [];
    const bundles = new Map<string, string>();
    for (const [name, code] of Object.entries(ATTACKS)) {
      const source = join(dir, 'functions', `${name}.js`);
      writeFileSync(source, code);
      const spec: FunctionSpec = { name, source, segment: name === 'bystander' ? 'default' : name === 'bomb' ? 'blast' : 'attacker', limits: LIMITS, bindings: {} };
      functions.push(spec);
      bundles.set(name, (await bundleFunction(spec, dir)).code);
    }
    const segments: SegmentSpec[] = [{ name: 'default', workers: 1 }, { name: 'attacker', workers: 1 }, { name: 'blast', workers: 1 }];
    pool = createWorkerPool({ prelude: await buildPrelude(), segments, functions, bundles, events: { onFunctionLog: (l) => logs.push(l), onWorkerExit: (e) => exits.push(e) } });
    await pool.start();
  });
  after(() => pool.close());

  const call = async (fn: string, query = '') => {
    const res = await pool.invoke(fn, { method: 'GET', url: `https://localhost/${fn}${query}`, headers: [['accept', '*/*']], body: null, requestId: `req-${fn}-${Math.random()}` });
    return { status: res.status, text: Buffer.from(await readWholeBody(res.body, 1 << 24)).toString('utf8') };
  };

  /** Runs an attack while the bystander in another segment keeps answering. */
  async function underAttack(fn: string): Promise<unknown> {
    const attack = call(fn).then((r) => r, (e: unknown) => e);
    const bystander: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await call('bystander');
      bystander.push(r.status);
      await new Promise((r2) => setTimeout(r2, 20));
    }
    assert.deepEqual(bystander, [200, 200, 200, 200, 200], 'the other segment kept serving');
    return attack;
  }

  const failsWith = (outcome: unknown, code: ErrorCode) => {
    assert.ok(isPalisadeError(outcome), `expected a PalisadeError, got ${String(outcome)}`);
    assert.equal(outcome.code, code);
  };

  test('a function receives exactly its body bytes, never the memory around them (regression)', async () => {
    // The body as a view into a larger buffer that holds other data, as pooled buffers do.
    const memory = Buffer.from(`SECRET-BEFORE|{"order":1}|SECRET-AFTER`);
    const body = memory.subarray(14, 25);
    const res = await pool.invoke('echo', { method: 'POST', url: 'https://localhost/echo', headers: [], body, requestId: 'r-echo' });
    const out = JSON.parse(Buffer.from(await readWholeBody(res.body, 1 << 20)).toString('utf8')) as { length: number; text: string };
    assert.deepEqual(out, { length: 11, text: '{"order":1}' });
    for (let i = 0; i < 20; i++) {
      const r = await pool.invoke('echo', { method: 'POST', url: 'https://localhost/echo', headers: [['x-secret', 'header-value-that-must-not-leak']], body: Buffer.from(`n${i}`), requestId: `r${i}` });
      const text = Buffer.from(await readWholeBody(r.body, 1 << 20)).toString('utf8');
      assert.ok(!text.includes('header-value-that-must-not-leak') && !text.includes('invoke') && !text.includes('requestId'), text);
      assert.equal((JSON.parse(text) as { length: number }).length, `n${i}`.length);
    }
  });

  test('the promised Web APIs work inside the isolate, and nothing else is there', async () => {
    const r = await call('webApis');
    assert.equal(r.status, 201);
    assert.deepEqual(JSON.parse(r.text), {
      url: ['example.com', '/a/b', 'é'],
      search: 'a=1&b=two+words',
      base64: ['aGVsbG8=', 'hello'],
      text: [6, 'héllo'],
      clone: [true, 2, true],
      uuid: true,
      random: true,
      digest: 'ba7816bf',
      headers: '1, 2',
      body: 'v',
      cleared: 'cleared',
      reqHeader: '*/*',
      ctx: 'string',
      env: true,
      absent: [],
    });
  });

  test('constructor chains, Function(this), require, module and dynamic import do not reach the host', async () => {
    const outcome = (await underAttack('escape')) as { status: number; text: string };
    assert.equal(outcome.status, 200);
    const results = JSON.parse(outcome.text) as Record<string, string>;
    assert.equal(Object.keys(results).length, 10);
    for (const [name, value] of Object.entries(results)) assert.ok(!value.startsWith('REACHED'), `${name}: ${value}`);
    assert.equal(results.globalProcess, 'undefined');
    assert.equal(results.hostBridge, 'undefined', 'the host bridges are removed before user code runs');
    assert.equal(results.asyncCtor, 'undefined');
  });

  test('Error.prepareStackTrace sees no host frames, objects or paths', async () => {
    const outcome = (await underAttack('stack')) as { status: number; text: string };
    assert.equal(outcome.status, 200);
    const { seen, texts } = JSON.parse(outcome.text) as { seen: Array<{ file: string; hasProcess: boolean }>; texts: string[] };
    assert.ok(texts.length >= 4);
    for (const frame of seen) {
      assert.equal(frame.hasProcess, false);
      assert.ok(!frame.file.startsWith('/') && !frame.file.startsWith('node:') && !frame.file.includes('dist/src'), frame.file);
    }
    const all = JSON.stringify({ seen, texts });
    for (const leak of ['/work', 'node:internal', 'dist/src', 'node_modules', process.cwd()]) assert.ok(!all.includes(leak), `leaked ${leak}`);
  });

  test('prototype pollution stays inside the polluting isolate', async () => {
    const outcome = (await underAttack('pollute')) as { status: number };
    assert.equal(outcome.status, 200);
    const other = JSON.parse((await call('bystander')).text) as { polluted: string; includes: boolean };
    assert.deepEqual([other.polluted, other.includes], ['undefined', false]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'the gateway process is untouched');
    const again = await call('shared');
    assert.equal(again.status, 200, 'another function in the same worker is unaffected');
  });

  test('SharedArrayBuffer, Atomics and WebAssembly are absent', async () => {
    const outcome = (await underAttack('shared')) as { text: string };
    assert.deepEqual(JSON.parse(outcome.text), { sab: 'undefined', atomics: 'undefined', wasm: 'undefined' });
  });

  test('an infinite loop hits the cpu limit and its isolate is recycled', async () => {
    failsWith(await underAttack('spin'), 'PAL_RUNTIME_CPU_LIMIT');
    assert.equal((await call('shared')).status, 200, 'the worker survives');
  });

  test('an infinite loop after an await is stopped too', async () => {
    const outcome = await underAttack('spinAfterAwait');
    assert.ok(isPalisadeError(outcome) && (outcome.code === 'PAL_RUNTIME_CPU_LIMIT' || outcome.code === 'PAL_RUNTIME_TIMEOUT'), String(outcome));
  });

  test('deep recursion is a function error, not a crash', async () => {
    failsWith(await underAttack('recurse'), 'PAL_RUNTIME_FUNCTION_THREW');
    assert.equal((await call('shared')).status, 200);
  });

  test('a response over the size limit is refused before it is copied out', async () => {
    failsWith(await underAttack('huge'), 'PAL_RUNTIME_RESPONSE_TOO_LARGE');
  });

  test('a never-settling promise times out at the wall-clock limit', async () => {
    const started = Date.now();
    failsWith(await underAttack('hang'), 'PAL_RUNTIME_TIMEOUT');
    assert.ok(Date.now() - started < 3000);
  });

  test('a forged response object or an invalid status is refused', async () => {
    failsWith(await underAttack('notResponse'), 'PAL_RUNTIME_FUNCTION_THREW');
    failsWith(await underAttack('badStatus'), 'PAL_RUNTIME_FUNCTION_THREW');
  });

  test('timers die with their request', async () => {
    assert.equal((await call('timers')).text, 'scheduled');
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(JSON.parse((await call('timers', '?check')).text), { leaked: false });
  });

  test('console output is captured, tagged with function and request id, and capped per request', async () => {
    const before = logs.length;
    const r = await call('logs');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const mine = logs.slice(before).filter((l) => l.requestId === r.text);
    assert.equal(mine.length, 200);
    assert.equal(mine[0]?.fn, 'logs');
    assert.equal(mine[0]?.message, 'line 0');
  });

  test('a memory bomb that aborts its worker gets 503; the worker restarts; other segments keep serving', async () => {
    const outcome = await underAttack('bomb');
    assert.ok(isPalisadeError(outcome) && (outcome.code === 'PAL_RUNTIME_WORKER_CRASHED' || outcome.code === 'PAL_RUNTIME_MEMORY_LIMIT'), String(outcome));
    assert.equal(outcome.status, 503);
    if (outcome.code === 'PAL_RUNTIME_WORKER_CRASHED') {
      // The channel closes (and pending requests fail) before the exit is reported.
      for (let i = 0; i < 40 && !exits.some((e) => e.segment === 'blast'); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(exits.some((e) => e.segment === 'blast'));
    }
    // The attacker segment, a different process, never noticed.
    assert.equal((await call('shared')).status, 200);
    // The blast segment comes back.
    let pids: readonly number[] = [];
    for (let i = 0; i < 50 && pids.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      pids = pool.pids().blast ?? [];
    }
    for (let i = 0; i < 50 && pids.length < 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      pids = pool.pids().blast ?? [];
    }
    assert.equal(pids.length, 1, 'the crashed worker was restarted');
  });
});
