import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { cliPath, repoRoot, runCliSync, writeProject } from '../helpers/cli.js';

const VALUE = 'postgres://app:Sup3r-S3cret-Pa55@db.internal/shop';
const ROTATED = 'postgres://app:R0tated-S3cret-Pa55@db.internal/shop';
const FILE_VALUE = 'sk_live_file_value_0123456789';

function withStdin(args: string[], input: string) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { cwd: repoRoot, input, encoding: 'utf8', env: { ...process.env, PALISADE_MASTER_KEY: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const values = [VALUE, ROTATED, FILE_VALUE];
const leaks = (text: string) => values.filter((v) => text.includes(v) || text.includes(Buffer.from(v).toString('base64')) || text.includes(Buffer.from(v).toString('hex')));

describe('palisade secrets, end to end', () => {
  let dir: string;

  before(() => {
    dir = writeProject('name: vaulted\nfunctions:\n  hello: { source: functions/hello.ts }\nroutes:\n  - { path: /hello, function: hello, public: true }\n', { 'functions/hello.ts': 'export default { async fetch(): Promise<Response> { return new Response("hi"); } };\n' });
  });

  test('set from standard input and from --file; the first use creates a private key ring and says so', () => {
    const set = withStdin(['secrets', 'set', 'db-url', dir], VALUE);
    assert.equal(set.status, 0, set.stderr);
    assert.match(set.stderr, /back it up/);
    assert.match(set.stdout, /db-url: version 1 is current/);
    assert.equal(statSync(join(dir, '.palisade', 'master.key')).mode & 0o777, 0o600);
    const file = join(dir, 'value.txt');
    writeFileSync(file, FILE_VALUE, { mode: 0o600 });
    const fromFile = runCliSync(['secrets', 'set', 'stripe-key', dir, '--file', file]);
    assert.equal(fromFile.status, 0, fromFile.stderr);
    const rotate = withStdin(['secrets', 'rotate', 'db-url', dir], ROTATED);
    assert.equal(rotate.status, 0, rotate.stderr);
    assert.match(rotate.stdout, /version 2 is current/);
    for (const r of [set, fromFile, rotate]) assert.deepEqual(leaks(r.stdout + r.stderr), []);
  });

  test('a value on the command line is refused, not echoed, and not stored', () => {
    const attempts = [
      ['secrets', 'set', 'argv-secret', dir, 'hunter2-in-argv'],
      ['secrets', 'set', 'argv-secret', 'hunter2-in-argv'],
      ['secrets', 'set', 'argv-secret', dir, '--value=hunter2-in-argv'],
      ['secrets', 'rotate', 'db-url', dir, 'hunter2-in-argv'],
    ];
    for (const args of attempts) {
      const r = withStdin(args, 'from-stdin');
      assert.equal(r.status, 3, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(!(r.stdout + r.stderr).includes('hunter2'), `the argv value is not echoed: ${r.stderr}`);
    }
    const list = runCliSync(['secrets', 'list', dir, '--json']);
    assert.ok(!list.stdout.includes('argv-secret'), 'nothing was stored');
    assert.equal((JSON.parse(runCliSync(['secrets', 'versions', 'db-url', dir, '--json']).stdout) as { currentVersion: number }).currentVersion, 2);
  });

  test('--file reads at most the value limit, whatever the file claims to be', () => {
    // `/dev/zero` reports size 0 and never ends: the CLI must stop reading, not trust the size.
    const started = Date.now();
    const endless = runCliSync(['secrets', 'set', 'endless', dir, '--file', '/dev/zero']);
    assert.equal(endless.status, 3, endless.stderr);
    assert.match(endless.stderr, /PAL_SECRETS_VALUE_INVALID/);
    assert.ok(Date.now() - started < 30_000);
    const big = join(dir, 'big.txt');
    writeFileSync(big, 'x'.repeat(64 * 1024 + 1), { mode: 0o600 });
    assert.equal(runCliSync(['secrets', 'set', 'big', dir, '--file', big]).status, 3);
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '', { mode: 0o600 });
    assert.match(runCliSync(['secrets', 'set', 'empty', dir, '--file', empty]).stderr, /is empty/);
    assert.match(runCliSync(['secrets', 'set', 'dir', dir, '--file', dir]).stderr, /cannot read --file/);
    assert.ok(!runCliSync(['secrets', 'list', dir, '--json']).stdout.match(/"(endless|big|empty|dir)"/), 'nothing was stored');
  });

  test('list and versions print metadata only, never a value', () => {
    const outputs = [runCliSync(['secrets', 'list', dir]), runCliSync(['secrets', 'list', dir, '--json']), runCliSync(['secrets', 'versions', 'db-url', dir]), runCliSync(['secrets', 'versions', 'db-url', dir, '--json']), runCliSync(['secrets', 'keys', dir, '--json'])];
    for (const o of outputs) {
      assert.equal(o.status, 0, o.stderr);
      assert.deepEqual(leaks(o.stdout + o.stderr), []);
    }
    const listed = JSON.parse(outputs[1]?.stdout ?? '[]') as Array<{ name: string; versions: Array<{ stage: string | null }>; readers: string[] }>;
    assert.deepEqual(listed.map((s) => s.name), ['db-url', 'stripe-key']);
    assert.deepEqual(listed[0]?.versions.map((v) => v.stage), ['previous', 'current']);
    assert.deepEqual(listed[0]?.readers, []);
  });

  test('delete, restore, purge with --force; rotate-kek and retire-kek', () => {
    assert.equal(runCliSync(['secrets', 'purge', 'stripe-key', dir]).status, 3, 'purge needs a delete first');
    assert.equal(runCliSync(['secrets', 'delete', 'stripe-key', dir, '--recovery-days', '3']).status, 0);
    assert.equal(runCliSync(['secrets', 'purge', 'stripe-key', dir]).status, 3, 'inside the window');
    assert.equal(runCliSync(['secrets', 'restore', 'stripe-key', dir]).status, 0);
    assert.equal(runCliSync(['secrets', 'delete', 'stripe-key', dir]).status, 0);
    assert.equal(runCliSync(['secrets', 'purge', 'stripe-key', dir, '--force']).status, 0);
    const before = JSON.parse(runCliSync(['secrets', 'keys', dir, '--json']).stdout) as Array<{ id: string; active: boolean }>;
    const old = before.find((k) => k.active)?.id as string;
    const rotated = runCliSync(['secrets', 'rotate-kek', dir, '--json']);
    assert.equal(rotated.status, 0, rotated.stderr);
    assert.equal((JSON.parse(rotated.stdout) as { remaining: number }).remaining, 0);
    const retired = runCliSync(['secrets', 'retire-kek', old, dir]);
    assert.equal(retired.status, 0, retired.stderr);
    assert.ok(!readFileSync(join(dir, '.palisade', 'master.key'), 'utf8').includes(old));
    const versions = runCliSync(['secrets', 'versions', 'db-url', dir, '--json']);
    assert.equal(versions.status, 0, 'still readable after the rotation');
  });

  test('every change is one audit event with the name and version, never the value; the chain verifies', () => {
    const db = new Database(join(dir, '.palisade', 'audit.db'), { readonly: true });
    const events = (db.prepare("SELECT event FROM audit_events WHERE action LIKE 'secret-%' OR action LIKE 'kek-%' ORDER BY seq").all() as Array<{ event: string }>).map((r) => JSON.parse(r.event) as { action: string; outcome: string; secret?: { name: string; version?: number } });
    db.close();
    assert.ok(events.some((e) => e.action === 'secret-set' && e.secret?.name === 'db-url' && e.secret.version === 1));
    assert.ok(events.some((e) => e.action === 'secret-rotate' && e.secret?.version === 2));
    assert.ok(events.some((e) => e.action === 'secret-purge' && e.outcome === 'allow'));
    assert.ok(events.some((e) => e.action === 'kek-rotate') && events.some((e) => e.action === 'kek-retire'));
    assert.ok(events.some((e) => e.action === 'secret-purge' && e.outcome === 'error'), 'refusals are recorded too');
    assert.deepEqual(leaks(readFileSync(join(dir, '.palisade', 'audit.db')).toString('latin1')), []);
    const verify = runCliSync(['audit', 'verify', dir]);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });
});
