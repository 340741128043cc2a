import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { isPalisadeError } from '../kernel/index.js';
import type { FunctionSpec } from '../manifest/index.js';
import { buildPrelude } from './build-prelude.js';
import { bundleFunction } from './bundle-function.js';
import type { FunctionLogLine } from './worker-pool.js';
import { createWorkerPool, readWholeBody, type WorkerPool } from './worker-pool.js';
import { MemoryKvResolver, MemorySecretResolver } from './secret-resolvers.test-support.js';
import type { SecretReadEvent } from './secret-reads.js';

// `/` and `=` in its base64, `?`, `&` and `~` in its URL encoding: every redacted form differs.
const DB_URL = 'pg://app:s3cr3t>>?&@db/shop~?';
const b64 = Buffer.from(DB_URL).toString('base64');
const b64url = Buffer.from(DB_URL).toString('base64url');
const rev = (s: string) => [...s].reverse().join('');

const READER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const name = url.searchParams.get('name') ?? 'db-url';
    // Values go out reversed: a response carrying the value itself would be redacted.
    const read = async (n) => { try { return { value: [...await env.secrets.get(n)].reverse().join('') }; } catch (e) { return { error: e.message }; } };
    switch (url.pathname) {
      case '/read': return Response.json(await read(name));
      case '/read-many': { const out = []; for (let i = 0; i < Number(url.searchParams.get('n')); i++) out.push(await read(name)); return Response.json(out); }
      case '/log': { const v = await env.secrets.get('db-url'); console.log('connecting to', v); console.warn(btoa(v)); console.error(encodeURIComponent(v)); return new Response('logged'); }
      case '/throw': { const v = await env.secrets.get('db-url'); throw new Error('cannot connect to ' + v); }
      case '/respond': {
        const v = await env.secrets.get('db-url');
        return new Response(JSON.stringify({ plain: v, b64: btoa(v), b64url: btoa(v).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, ''), uri: encodeURIComponent(v) }), { headers: { 'x-leak': v, 'content-type': 'application/json' } });
      }
      case '/stream': {
        // The value straddles the first 64 KiB chunk boundary.
        const v = await env.secrets.get('db-url');
        const at = 65536 - 7;
        return new Response('a'.repeat(at) + v + 'b'.repeat(70000));
      }
      case '/kv': {
        const op = url.searchParams.get('op');
        try {
          if (op === 'roundtrip') {
            await env.kv.put('user:1', 'alice');
            await env.kv.put('user:2', new Uint8Array([1, 2, 3]));
            await env.kv.put('order:1', 'x');
            const text = await env.kv.get('user:1');
            const bytes = Array.from(new Uint8Array(await env.kv.get('user:2', 'arrayBuffer')));
            const listed = await env.kv.list({ prefix: 'user:' });
            const page = await env.kv.list({ prefix: 'user:', limit: 1 });
            const next = await env.kv.list({ prefix: 'user:', limit: 1, cursor: page.cursor });
            await env.kv.delete('user:1');
            return Response.json({ text, bytes, keys: listed.keys, page: page.keys, next: next.keys, gone: await env.kv.get('user:1') });
          }
          if (op === 'long-key') await env.kv.put('k'.repeat(513), 'v');
          if (op === 'big-value') await env.kv.put('k', new Uint8Array(1024 * 1024 + 1));
          if (op === 'big-text') await env.kv.put('k', 'v'.repeat(1024 * 1024 + 1));
          if (op === 'limit') await env.kv.list({ limit: 1001 });
          return new Response('no error');
        } catch (e) { return new Response(e.name + ': ' + e.message, { status: 400 }); }
      }
    }
    return new Response('?', { status: 404 });
  },
};`;

const FUNCTIONS: Record<string, { code: string; secrets?: string[]; kv?: boolean; bindings?: FunctionSpec['bindings'] }> = {
  // In the same worker as \`reader\`: the answer of a target with secrets still goes through the gateway's redaction.
  caller: {
    bindings: { READER: { type: 'service', function: 'reader' } },
    code: `export default { async fetch(request, env) { const r = await env.READER.fetch('https://reader.internal/respond'); return Response.json({ header: r.headers.get('x-leak'), body: await r.json() }); } };`,
  },
  reader: { code: READER, secrets: ['db-url', 'ghost'], kv: true },
  // Granted another secret only: db-url is not its to read.
  other: { code: READER, secrets: ['api-key'] },
  // Lies to the isolate's own size check (a patched TextEncoder): the worker's check must still hold.
  liar: {
    kv: true,
    code: `export default { async fetch(request, env) {
      const real = TextEncoder.prototype.encode;
      let out;
      TextEncoder.prototype.encode = function () { return new Uint8Array(1); };
      try { await env.kv.put('k'.repeat(600), 'v'); out = 'no error'; } catch (e) { out = e.name + ': ' + e.message; } finally { TextEncoder.prototype.encode = real; }
      return new Response(out);
    } };`,
  },
  // No grant at all: no `env.secrets`, no `env.kv`.
  plain: { code: `export default { async fetch(request, env) { return Response.json({ keys: Object.keys(env) }); } };` },
};

// Generous: the machine may be saturated; the limits are not what is tested here.
const LIMITS = { memoryMb: 64, cpuMs: 5000, timeoutMs: 20_000, maxResponseBytes: 1 << 20, concurrency: 2, queue: 16 };

describe('secrets and kv inside functions (real workers)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-secrets-'));
  mkdirSync(join(dir, 'functions'));
  let pool: WorkerPool;
  const resolver = new MemorySecretResolver({ 'db-url': DB_URL, 'api-key': 'key-of-the-api' });
  const events: SecretReadEvent[] = [];
  const logs: FunctionLogLine[] = [];
  const forbidden = new Set<string>();
  let readsContext = false;

  before(async () => {
    const functions: FunctionSpec[] = [];
    const bundles = new Map<string, string>();
    for (const [name, f] of Object.entries(FUNCTIONS)) {
      const source = join(dir, 'functions', `${name}.js`);
      writeFileSync(source, f.code);
      const spec: FunctionSpec = { name, source, segment: 'app', limits: LIMITS, bindings: f.bindings ?? {}, secrets: f.secrets ?? [], kv: f.kv ?? false };
      functions.push(spec);
      bundles.set(name, (await bundleFunction(spec, dir)).code);
    }
    pool = createWorkerPool({
      prelude: await buildPrelude(),
      segments: [{ name: 'app', workers: 1 }],
      functions,
      bundles,
      secrets: resolver,
      kv: new MemoryKvResolver(),
      // A stand-in for the Cedar decision (the platform test runs the real one).
      authorizeSecret: (r) => (forbidden.has(`${r.fn}/${r.secret}`) ? { effect: 'deny', policyIds: ['custom#forbid'], readsContext } : { effect: 'allow', policyIds: [`function:${r.fn}#secret.${r.secret}`], readsContext }),
      events: { onSecretRead: (e) => void events.push(e), onFunctionLog: (l) => void logs.push(l) },
    });
    await pool.start();
  });
  after(async () => pool.close());
  beforeEach(() => {
    events.length = 0;
    logs.length = 0;
  });

  let n = 0;
  const invoke = (fn: string, path: string) => pool.invoke(fn, { method: 'GET', url: `https://localhost${path}`, headers: [], body: null, requestId: `req-${++n}` });
  const text = async (fn: string, path: string) => Buffer.from(await readWholeBody((await invoke(fn, path)).body, 4 << 20)).toString('utf8');
  const json = async (fn: string, path: string) => JSON.parse(await text(fn, path)) as Record<string, unknown>;
  /** Cached reads are reported right before their result; give the channel a moment. */
  const settle = () => new Promise((r) => setTimeout(r, 50));

  test('a granted secret is read; the read is recorded with its version and policy, never its value', async () => {
    assert.deepEqual(await json('reader', '/read?name=db-url'), { value: rev(DB_URL) });
    await settle();
    const e = events.find((x) => x.secret === 'db-url');
    assert.deepEqual(e && { fn: e.fn, allowed: e.allowed, reason: e.reason, version: e.version, policyIds: e.policyIds, requestId: e.requestId }, { fn: 'reader', allowed: true, reason: 'allowed', version: 1, policyIds: ['function:reader#secret.db-url'], requestId: `req-${n}` });
    assert.ok(!JSON.stringify(events).includes(DB_URL) && !JSON.stringify(events).includes(b64));
  });

  test('a function without the grant cannot read the secret: the same refusal as for a missing one, and the denial is recorded', async () => {
    const denied = await json('other', '/read?name=db-url');
    const missing = await json('reader', '/read?name=ghost');
    const unknown = await json('reader', '/read?name=never-declared');
    assert.equal(denied.error, 'secrets: secret `db-url` is not available to this function');
    assert.equal(missing.error, 'secrets: secret `ghost` is not available to this function');
    assert.equal(unknown.error, 'secrets: secret `never-declared` is not available to this function');
    assert.deepEqual(
      events.map((e) => [e.fn, e.secret, e.allowed, e.reason]),
      [
        ['other', 'db-url', false, 'not-granted'],
        ['reader', 'ghost', false, 'not-found'],
        ['reader', 'never-declared', false, 'not-granted'],
      ],
    );
    assert.deepEqual(await json('plain', '/'), { keys: [] }, 'no grant: neither env.secrets nor env.kv exists');
  });

  test('a policy that forbids the read refuses it (recorded with the forbidding policy)', async () => {
    forbidden.add('other/api-key');
    try {
      assert.equal((await json('other', '/read?name=api-key')).error, 'secrets: secret `api-key` is not available to this function');
      assert.deepEqual(events.map((e) => [e.secret, e.allowed, e.reason, e.policyIds]), [['api-key', false, 'policy-denied', ['custom#forbid']]]);
    } finally {
      forbidden.delete('other/api-key');
      pool.secretsPolicyChanged();
    }
  });

  test('a warm function reads from the worker cache: no gateway read, every read still recorded', async () => {
    await json('reader', '/read?name=db-url');
    await settle();
    const before = resolver.reads;
    events.length = 0;
    const many = (await json('reader', '/read-many?name=db-url&n=5')) as unknown as Array<{ value: string }>;
    assert.deepEqual(many.map((m) => m.value), Array(5).fill(rev(DB_URL)));
    await settle();
    assert.equal(resolver.reads, before, 'no read reached the resolver');
    const cached = events.filter((e) => e.cached);
    assert.equal(cached.reduce((s, e) => s + e.count, 0), 5, JSON.stringify(events));
    assert.ok(cached.every((e) => e.fn === 'reader' && e.version === 1 && e.requestId === `req-${n}` && e.policyIds[0] === 'function:reader#secret.db-url'));
  });

  test('rotation reaches a warm function without a restart', async () => {
    const pid = pool.pids().app?.[0];
    assert.equal((await json('reader', '/read?name=db-url')).value, rev(DB_URL));
    const version = resolver.set('db-url', `${DB_URL}-rotated`);
    await settle();
    const after = await json('reader', '/read?name=db-url');
    assert.equal(after.value, rev(`${DB_URL}-rotated`));
    await settle();
    assert.ok(events.some((e) => e.version === version && e.allowed));
    assert.equal(pool.pids().app?.[0], pid, 'the same worker answered');
    resolver.set('db-url', DB_URL);
    await settle();
  });

  test('a policy reload empties the caches: a forbid added after a cached read takes effect at the next read', async () => {
    assert.equal((await json('reader', '/read?name=db-url')).value, rev(DB_URL));
    assert.equal((await json('reader', '/read?name=db-url')).value, rev(DB_URL));
    forbidden.add('reader/db-url');
    pool.secretsPolicyChanged();
    await settle();
    try {
      assert.match(String((await json('reader', '/read?name=db-url')).error), /not available/);
      assert.ok(events.some((e) => e.reason === 'policy-denied' && e.fn === 'reader'));
    } finally {
      forbidden.delete('reader/db-url');
      pool.secretsPolicyChanged();
      await settle();
    }
  });

  test('a decision that reads the request context is never cached', async () => {
    readsContext = true;
    pool.secretsPolicyChanged();
    await settle();
    try {
      const before = resolver.reads;
      await json('reader', '/read-many?name=db-url&n=3');
      assert.equal(resolver.reads - before, 3);
      assert.ok(events.every((e) => !e.cached));
    } finally {
      readsContext = false;
      pool.secretsPolicyChanged();
    }
  });

  test('a granted value is redacted from console lines, in plain, base64 and URL-encoded forms', async () => {
    assert.equal(await text('reader', '/log'), 'logged');
    await settle();
    assert.deepEqual(
      logs.map((l) => l.message),
      ['connecting to [REDACTED:db-url]', '[REDACTED:db-url]', '[REDACTED:db-url]'],
    );
  });

  test('a granted value is redacted from a thrown error', async () => {
    const outcome = await invoke('reader', '/throw').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isPalisadeError(outcome));
    const detail = (outcome.cause as Error).message;
    assert.match(detail, /cannot connect to \[REDACTED:db-url\]/);
    assert.ok(!detail.includes(DB_URL));
  });

  test('a granted value is redacted from response headers and body, in every form', async () => {
    const res = await invoke('reader', '/respond');
    assert.deepEqual(res.headers.find(([k]) => k === 'x-leak'), ['x-leak', '[REDACTED:db-url]']);
    const body = JSON.parse(Buffer.from(await readWholeBody(res.body, 1 << 20)).toString('utf8')) as Record<string, string>;
    assert.deepEqual(body, { plain: '[REDACTED:db-url]', b64: '[REDACTED:db-url]', b64url: '[REDACTED:db-url]', uri: '[REDACTED:db-url]' });
    assert.ok(b64url.length > 0);
  });

  test('a service binding to a function with secrets in the same worker gets the redacted answer, never the value', async () => {
    const out = await json('caller', '/');
    assert.deepEqual(out, { header: '[REDACTED:db-url]', body: { plain: '[REDACTED:db-url]', b64: '[REDACTED:db-url]', b64url: '[REDACTED:db-url]', uri: '[REDACTED:db-url]' } });
  });

  test('a value spanning two streamed chunks is redacted; the length is no longer promised', async () => {
    const res = await invoke('reader', '/stream');
    assert.ok(!(res.body instanceof Uint8Array));
    assert.equal(res.body.byteLength, undefined);
    const out = Buffer.from(await readWholeBody(res.body, 1 << 20)).toString('utf8');
    assert.equal(out, `${'a'.repeat(65536 - 7)}[REDACTED:db-url]${'b'.repeat(70000)}`);
  });

  test('kv: round trip of text and bytes, list by prefix with a cursor, delete', async () => {
    assert.deepEqual(await json('reader', '/kv?op=roundtrip'), { text: 'alice', bytes: [1, 2, 3], keys: ['user:1', 'user:2'], page: ['user:1'], next: ['user:2'], gone: null });
  });

  test('kv: a function that defeats the isolate\'s own key check is refused by the worker (the gateway schema is the third check)', async () => {
    const pid = pool.pids().app?.[0];
    assert.equal(await text('liar', '/'), 'Error: kv: a key must be 1 to 512 bytes');
    assert.equal(pool.pids().app?.[0], pid, 'refused in the worker, not a fault of the worker');
  });

  test('kv: an oversized key or value and an out-of-range limit are refused inside the isolate', async () => {
    assert.equal(await text('reader', '/kv?op=long-key'), 'RangeError: kv: a key must be 1 to 512 bytes');
    assert.equal(await text('reader', '/kv?op=big-value'), 'RangeError: kv: a value must be at most 1048576 bytes');
    assert.equal(await text('reader', '/kv?op=big-text'), 'RangeError: kv: a value must be at most 1048576 bytes');
    assert.equal(await text('reader', '/kv?op=limit'), 'RangeError: kv: limit must be 1 to 1000');
  });
});
