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
