import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './main.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

test('every command is listed by --help, loads under its own name and explains itself', async () => {
  const main = capture();
  assert.equal(await runCli(['--help'], main.io), 0);
  const listed = [...main.out.join('\n').matchAll(/^ {2}([a-z][a-z-]*) {2,}/gm)].map((m) => m[1] ?? '');
  assert.ok(listed.length >= 15, listed.join(','));
  for (const name of listed) {
    const c = capture();
    assert.equal(await runCli([name, '--help'], c.io), 0, name);
    assert.match(c.out.join('\n'), new RegExp(`^usage: palisade ${name}\\b`), name);
  }
});

test('an unknown command names the known ones and is invalid input', async () => {
  const c = capture();
  assert.equal(await runCli(['deploy'], c.io), 3);
  assert.match(c.err.join('\n'), /unknown command `deploy`; commands: init, validate, up/);
});

test('validate and init refuse an extra argument, and init refuses a --name that is not a project name, before touching anything', async () => {
  const { mkdtempSync, readdirSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'palisade-args-'));
  for (const [args, message] of [
    [['validate', dir, 'extra'], /^error PAL_CLI_USAGE: unexpected argument `extra`; usage: palisade validate/],
    [['init', dir, 'extra'], /^error PAL_CLI_USAGE: unexpected argument `extra`; usage: palisade init/],
    [['init', dir, '--name', 'Bad Name'], /^error PAL_CLI_USAGE: --name `Bad Name` is not a project name/],
    [['init', dir, '--name', ''], /^error PAL_CLI_USAGE: --name `` is not a project name/],
  ] as const) {
    const c = capture();
    assert.equal(await runCli(args, c.io), 3, args.join(' '));
    assert.match(c.err.join('\n'), message);
  }
  assert.deepEqual(readdirSync(dir), []);
});
