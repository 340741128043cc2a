import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from './package-paths.js';
import { workerExecArgv } from './worker-pool.js';

// The permission model is the second layer under the isolates: even code that escaped V8
// would run in a process that cannot write files, spawn processes or read the project.
const probe = (code: string) => spawnSync(process.execPath, [...workerExecArgv(), '--input-type=module', '-e', code], { encoding: 'utf8', cwd: packageRoot });

test('a worker process may load isolated-vm and its own code', () => {
  const r = probe(`await import(${JSON.stringify(join(packageRoot, 'dist', 'src', 'runtime', 'function-sandbox.js'))}); console.log('loaded');`);
  assert.equal(r.stdout.trim(), 'loaded', r.stderr);
});

for (const [what, code] of [
  ['read the project manifest or keys', `import { readFileSync } from 'node:fs'; readFileSync(${JSON.stringify(join(packageRoot, 'tsconfig.json'))});`],
  ['read /etc/passwd', `import { readFileSync } from 'node:fs'; readFileSync('/etc/passwd');`],
  ['write a file', `import { writeFileSync } from 'node:fs'; writeFileSync(${JSON.stringify(join(packageRoot, 'dist', 'pwned'))}, 'x');`],
  ['spawn a child process', `import { execSync } from 'node:child_process'; execSync('id');`],
  ['start a worker thread', `import { Worker } from 'node:worker_threads'; new Worker('1', { eval: true });`],
] as const) {
  test(`a worker process cannot ${what}`, () => {
    const r = probe(code);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /ERR_ACCESS_DENIED/);
  });
}
