#!/usr/bin/env node
// Runs every compiled test under dist/ with node's test runner. The spec reporter goes to the
// console; a TAP copy is parsed for the closing "N passed, N failed" line.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filter = process.argv.slice(2);

function collect(dir, out) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) collect(full, out);
    else if (entry.endsWith('.test.js')) out.push(full);
  }
  return out;
}

const files = [...collect(join(root, 'dist', 'src'), []), ...collect(join(root, 'dist', 'test'), [])]
  .filter((f) => filter.length === 0 || filter.some((p) => relative(root, f).includes(p)))
  .sort();
if (files.length === 0) {
  console.error('no test files found under dist/: run `npm run build` first');
  process.exit(1);
}

const tap = join(mkdtempSync(join(tmpdir(), 'palisade-tests-')), 'results.tap');
const child = spawn(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
  { stdio: 'inherit', cwd: root },
);
child.on('exit', (code, signal) => {
  let pass = 0;
  let fail = 0;
  let skipped = 0;
  try {
    const text = readFileSync(tap, 'utf8');
    pass = Number(/^# pass (\d+)/m.exec(text)?.[1] ?? 0);
    fail = Number(/^# fail (\d+)/m.exec(text)?.[1] ?? 0) + Number(/^# cancelled (\d+)/m.exec(text)?.[1] ?? 0);
    skipped = Number(/^# skipped (\d+)/m.exec(text)?.[1] ?? 0) + Number(/^# todo (\d+)/m.exec(text)?.[1] ?? 0);
  } catch {
    fail = Math.max(fail, 1);
  }
  console.log(`\ntests: ${pass} passed, ${fail} failed, ${skipped} skipped`);
  process.exit(code === 0 && fail === 0 && pass > 0 ? 0 : code ?? (signal ? 1 : 1));
});
