import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { searchAuditLog } from '../audit/index.js';
import type { Logger } from '../kernel/index.js';
import { loadManifest } from '../manifest/index.js';
import { MemoryKvResolver, MemorySecretResolver } from '../runtime/secret-resolvers.test-support.js';
import { startInsecureLoopbackHttpPlatform, type RunningPlatform } from './start-platform.js';

// A real node: Cedar decides `readSecret` (generated permits, a custom forbid, a reload), the
// audit chain records every read, the gateway redacts what goes out. The secrets come from the
// in-memory resolvers (the vault is wired in through `resolversFromVault`).
const DB_URL = 'postgres://shop:correct-horse-battery@db.internal:5432/shop';
const API_KEY = 'sk_live_0123456789abcdef';
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

const READER = `export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/leak') return new Response('value=' + (await env.secrets.get('db-url')));
    if (url.pathname === '/leak-big') return new Response('a'.repeat(65536 - 9) + (await env.secrets.get('db-url')) + 'b'.repeat(70000));
    if (url.pathname === '/call') return env.OTHER.fetch('https://other.internal/read?name=db-url');
    try {
      const v = await env.secrets.get(url.searchParams.get('name'));
      return Response.json({ reversed: [...v].reverse().join('') });
    } catch (e) {
      return Response.json({ error: e.message }, { status: 403 });
    }
  },
};\n`;

let node: RunningPlatform;
let dir: string;
const resolver = new MemorySecretResolver({ 'db-url': DB_URL, 'api-key': API_KEY });
const rev = (s: string) => [...s].reverse().join('');

function writeProject(custom: string): void {
  writeFileSync(join(dir, 'policies', 'custom.cedar'), custom);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'palisade-secrets-node-'));
  mkdirSync(join(dir, 'functions'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(
    join(dir, 'palisade.yaml'),
    [
      'name: vaulted',
      'functions:',
      '  reader:',
      '    source: functions/reader.js',
      '    secrets: [db-url, api-key]',
      // Generous: this machine may be saturated; the limits are not what is tested here.
      '    limits: { cpuMs: 5000, timeoutMs: 20000 }',
      '    bindings: { OTHER: { type: service, function: other } }',
      '  other:',
      '    source: functions/reader.js',
      '    secrets: [api-key]',
      '    limits: { cpuMs: 5000, timeoutMs: 20000 }',
      'routes:',
      '  - { path: /read, function: reader, public: true }',
      '  - { path: /leak, function: reader, public: true }',
      '  - { path: /call, function: reader, public: true }',
      '  - { path: /leak-big, function: reader, public: true }',
      '  - { path: /other, function: other, public: true }',
      'policies: [policies/custom.cedar]',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'functions', 'reader.js'), READER);
  writeProject('@id("no-api-key-for-reader")\nforbid (principal == Function::"reader", action == Action::"readSecret", resource == Secret::"api-key");\n');
  node = await startInsecureLoopbackHttpPlatform({ manifest: loadManifest(dir), logger: quiet, host: '127.0.0.1', port: 0, resolvers: { secrets: resolver, kv: new MemoryKvResolver() } });
});
after(() => node?.close());

const get = async (path: string) => {
  const res = await fetch(`${node.url}${path}`);
  return { status: res.status, id: res.headers.get('x-request-id') ?? '', length: res.headers.get('content-length'), body: await res.text() };
};
const reads = () => searchAuditLog(join(dir, '.palisade'), { action: 'readSecret' }).map((r) => r.event);

describe('secrets on a running node', () => {
  test('a granted read is allowed by its generated permit and recorded in the audit chain with its version', async () => {
    const r = await get('/read?name=db-url');
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { reversed: rev(DB_URL) });
    const e = reads().find((x) => x.requestId === r.id);
    assert.deepEqual(e && { outcome: e.outcome, fn: e.function, actor: e.principal?.id, secret: e.secret, policyIds: e.policyIds }, {
      outcome: 'allow',
      fn: 'reader',
      actor: 'reader',
      secret: { name: 'db-url', version: 1, count: 1, cached: false },
      policyIds: ['function:reader#secret.db-url'],
    });
  });

  test('a custom forbid removes a granted secret; a function without the grant is refused; both denials are recorded', async () => {
    const forbidden = await get('/read?name=api-key');
    const ungranted = await get('/other?name=db-url');
    assert.deepEqual(JSON.parse(forbidden.body), { error: 'secrets: secret `api-key` is not available to this function' });
    assert.deepEqual(JSON.parse(ungranted.body), { error: 'secrets: secret `db-url` is not available to this function' });
    const f = reads().find((x) => x.requestId === forbidden.id);
    const u = reads().find((x) => x.requestId === ungranted.id);
    assert.deepEqual(f && [f.outcome, f.reason, f.policyIds], ['deny', 'policy-denied', ['no-api-key-for-reader']]);
    assert.deepEqual(u && [u.outcome, u.reason, u.function], ['deny', 'not-granted', 'other']);
  });

  test('a forbid added by a policy reload applies to a warm, cached function at its next read', async () => {
    assert.equal((await get('/read?name=db-url')).status, 200);
    assert.equal((await get('/read?name=db-url')).status, 200);
    writeProject('@id("no-db-for-reader")\nforbid (principal == Function::"reader", action == Action::"readSecret", resource == Secret::"db-url");\n');
    node.reloadPolicies(loadManifest(dir));
    try {
      const r = await get('/read?name=db-url');
      assert.equal(r.status, 403, r.body);
      const e = reads().find((x) => x.requestId === r.id);
      assert.deepEqual(e && [e.reason, e.policyIds], ['policy-denied', ['no-db-for-reader']]);
    } finally {
      writeProject('@id("no-api-key-for-reader")\nforbid (principal == Function::"reader", action == Action::"readSecret", resource == Secret::"api-key");\n');
      node.reloadPolicies(loadManifest(dir));
    }
    assert.equal((await get('/read?name=db-url')).status, 200);
  });

  test('the value is redacted from a response and a service-binding call is an audit event too', async () => {
    const leak = await get('/leak');
    assert.equal(leak.body, 'value=[REDACTED:db-url]');
    const big = await get('/leak-big');
    assert.equal(big.length, null, 'a redacted stream is sent without content-length');
    assert.equal(big.body, `${'a'.repeat(65536 - 9)}[REDACTED:db-url]${'b'.repeat(70000)}`);
    const call = await get('/call');
    assert.equal(call.status, 403, call.body);
    const calls = searchAuditLog(join(dir, '.palisade'), { action: 'callFunction' }).map((r) => r.event);
    const c = calls.find((x) => x.requestId === call.id);
    assert.deepEqual(c && [c.outcome, c.function, c.target, c.policyIds], ['allow', 'reader', 'other', ['function:reader#binding.OTHER']]);
  });

  test('no secret value, in any form, is anywhere in the audit database', async () => {
    await new Promise((r) => setTimeout(r, 100));
    // Every file of the state directory: the audit database, its WAL, the store.
    const files = readdirSync(join(dir, '.palisade'), { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, '.palisade', f)).isFile());
    assert.ok(files.includes('audit.db'));
    const bytes = Buffer.concat(files.map((f) => readFileSync(join(dir, '.palisade', f))));
    for (const v of [DB_URL, API_KEY]) {
      for (const form of [v, Buffer.from(v).toString('base64'), Buffer.from(v).toString('base64url'), encodeURIComponent(v), 'correct-horse-battery']) {
        assert.equal(bytes.indexOf(Buffer.from(form)), -1, `found ${form.slice(0, 6)}… in the audit files`);
      }
    }
    assert.ok(reads().length >= 6);
  });
});
