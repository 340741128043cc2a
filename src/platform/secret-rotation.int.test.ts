import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { searchAuditLog } from '../audit/index.js';
import type { Logger } from '../kernel/index.js';
import { loadManifest } from '../manifest/index.js';
import type { OpenedVault } from '../secrets/index.js';
import { startInsecureLoopbackHttpPlatform, type RunningPlatform } from './start-platform.js';

// A real node with the real vault and a real rotation function: scheduled rotation runs the
// create/set/test steps through the worker pool, and promotes only when the test step passes.
const READER = `export default {
  async fetch(request, env) {
    const name = new URL(request.url).searchParams.get('name');
    // Reversed: the gateway redacts a secret value that would leave as is.
    return Response.json({ value: [...(await env.secrets.get(name))].reverse().join('') });
  },
};\n`;

// Answers `test` with 500 for `bad-secret`; every other step and secret passes.
const ROTATOR = `export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (request.method !== 'POST' || url.pathname !== '/_palisade/rotation') return new Response('unexpected', { status: 400 });
    const body = await request.json();
    if (body.step === 'create') return Response.json({ value: 'rotated-' + body.secret + '-' + crypto.randomUUID() });
    if (body.step === 'test' && body.secret === 'bad-secret') return new Response('the new value does not work', { status: 500 });
    if ((body.step === 'set' || body.step === 'test') && typeof body.pending !== 'string') return new Response('no pending value', { status: 400 });
    return new Response(null, { status: 204 });
  },
};\n`;

const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
const logger: Logger = {
  debug() {},
  info() {},
  warn: (message: string, fields?: Record<string, unknown>) => void lines.push({ level: 'warn', message, fields: fields ?? {} }),
  error: (message: string, fields?: Record<string, unknown>) => void lines.push({ level: 'error', message, fields: fields ?? {} }),
} as Logger;

let node: RunningPlatform;
let dir: string;
let now = Date.now();
const clock = { now: () => now };
const vault = (): OpenedVault => node.vault as OpenedVault;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'palisade-rotation-'));
  mkdirSync(join(dir, 'functions'));
  writeFileSync(
    join(dir, 'palisade.yaml'),
    [
      'name: rotating',
      'functions:',
      '  reader:',
      '    source: functions/reader.js',
      '    secrets: [db-url, bad-secret]',
      '    limits: { cpuMs: 5000, timeoutMs: 20000 }',
      '  rotator:',
      '    source: functions/rotator.js',
      '    limits: { cpuMs: 5000, timeoutMs: 20000 }',
      'routes:',
      '  - { path: /read, function: reader, public: true }',
      'secrets:',
      '  db-url: { rotation: { function: rotator, every: 1m } }',
      '  bad-secret: { rotation: { function: rotator, every: 1m } }',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'functions', 'reader.js'), READER);
  writeFileSync(join(dir, 'functions', 'rotator.js'), ROTATOR);
  node = await startInsecureLoopbackHttpPlatform({ manifest: loadManifest(dir), logger, host: '127.0.0.1', port: 0, clock });
  await vault().admin.setSecret('db-url', new TextEncoder().encode('original-db-url'));
  await vault().admin.setSecret('bad-secret', new TextEncoder().encode('original-bad'));
});
after(() => node?.close());

const read = async (name: string): Promise<string> => {
  const res = await fetch(`${node.url}/read?name=${name}`);
  const body = await res.text();
  assert.equal(res.status, 200, body);
  return [...(JSON.parse(body) as { value: string }).value].reverse().join('');
};
const rotations = () => searchAuditLog(join(dir, '.palisade'), { action: 'secret-rotate' }).map((r) => r.event);

describe('scheduled secret rotation on a running node', () => {
  test('nothing is rotated before it is due', async () => {
    assert.deepEqual(await node.rotation.tick(), []);
  });

  test('once due: a passing rotation promotes, a failing test step keeps the current version; both audited, the failure logged', async () => {
    assert.equal(await read('db-url'), 'original-db-url', 'the reader is warm and has the value cached');
    assert.equal(await read('bad-secret'), 'original-bad');
    now += 2 * 60_000;
    const outcomes = await node.rotation.tick();
    const by = Object.fromEntries(outcomes.map((o) => [o.secret, o]));
    assert.deepEqual([by['db-url']?.ok, by['db-url']?.reason, by['db-url']?.step], [true, 'rotated', 'finish']);
    assert.deepEqual([by['bad-secret']?.ok, by['bad-secret']?.reason, by['bad-secret']?.step], [false, 'step-failed', 'test']);

    const good = await vault().admin.listVersions('db-url');
    assert.equal(good.currentVersion, 2);
    assert.equal(good.pendingVersion, null);
    const bad = await vault().admin.listVersions('bad-secret');
    assert.equal(bad.currentVersion, 1, 'the current version is in place');
    assert.equal(bad.pendingVersion, null, 'the pending value was discarded');
    assert.equal(new TextDecoder().decode((await vault().readCurrent('bad-secret'))?.value), 'original-bad');

    // The warm function sees the new value without a restart (change notices, polled ≤ 1 s).
    let seen = '';
    for (let i = 0; i < 60 && !(seen = await read('db-url')).startsWith('rotated-db-url-'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(seen, /^rotated-db-url-/);
    assert.equal(await read('bad-secret'), 'original-bad');

    // One audit event per outcome, and never a value in it.
    let events = rotations();
    for (let i = 0; i < 40 && events.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      events = rotations();
    }
    const ok = events.find((e) => e.secret?.name === 'db-url');
    const failed = events.find((e) => e.secret?.name === 'bad-secret');
    assert.deepEqual(ok && [ok.outcome, ok.rotation?.result, ok.rotation?.trigger, ok.secret?.version], ['allow', 'rotated', 'schedule', 2]);
    assert.deepEqual(failed && [failed.outcome, failed.code, failed.rotation?.result, failed.rotation?.step], ['error', 'PAL_SECRETS_ROTATION_FAILED', 'step-failed', 'test']);
    assert.doesNotMatch(JSON.stringify(events), /rotated-db-url-|rotated-bad-secret-|original-/);
    const logged = lines.filter((l) => l.fields.code === 'PAL_SECRETS_ROTATION_FAILED');
    assert.equal(logged.length, 1);
    assert.equal(logged[0]?.level, 'error');
    assert.equal(logged[0]?.fields.secretName, 'bad-secret');
    assert.doesNotMatch(JSON.stringify(lines), /rotated-|original-/);
  });

  test('a failed scheduled rotation keeps its lease: the next tick does not hammer the function', async () => {
    now += 1000;
    assert.deepEqual(await node.rotation.tick(), [], 'db-url was just rotated; bad-secret holds its lease');
    now += 6 * 60_000;
    const again = await node.rotation.tick();
    assert.deepEqual(again.map((o) => o.secret).sort(), ['bad-secret', 'db-url'], 'after the lease (and the interval) both are due again');
  });

  test('rotation on demand claims like the scheduler; a secret without a rotation function is refused', async () => {
    const report = await node.rotation.rotateNow('db-url', 'req-manual');
    assert.equal(report.ok, true);
    await assert.rejects(node.rotation.rotateNow('unknown-secret', 'req-x'), (e: unknown) => (e as { code?: string }).code === 'PAL_SECRETS_ROTATION_UNAVAILABLE');
  });
});
