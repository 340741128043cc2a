import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { isolatedVmLocation, packageRoot, permissionFlag } from './package-paths.js';
import { workerExecArgv } from './worker-pool.js';

const nodeMajor = Number(process.versions.node.split('.')[0]);

test('the isolated-vm build is the one for this Node, found where Node resolves it', () => {
  const location = isolatedVmLocation();
  assert.equal(location.name, nodeMajor >= 24 ? 'isolated-vm-7' : 'isolated-vm-5');
  assert.equal(location.version, nodeMajor >= 24 ? '7.0.1' : '5.0.4');
  const resolved = realpathSync(dirname(createRequire(join(packageRoot, 'package.json')).resolve(`${location.name}/package.json`)));
  assert.equal(location.dir, resolved);
  assert.ok(location.readPaths.includes(join(resolved, '*')));
  for (const p of location.readPaths) assert.ok(p.endsWith('/*') || p === '/etc/alpine-release', `only package folders and the one probed file: ${p}`);
  if (nodeMajor >= 24) assert.ok(location.readPaths.some((p) => /node-gyp-build\/\*$/.test(p)), 'isolated-vm 7 loads through node-gyp-build');
});

test('workers run with --no-node-snapshot and the permission flag this Node knows', () => {
  const argv = workerExecArgv();
  assert.ok(argv.includes('--no-node-snapshot'));
  assert.ok(argv.includes(permissionFlag()));
  assert.equal(permissionFlag(), nodeMajor >= 24 ? '--permission' : '--experimental-permission');
  // Node accepts every flag: a worker started with them runs.
  const r = spawnSync(process.execPath, [...argv, '-e', 'process.exit(process.execArgv.includes("--no-node-snapshot") ? 0 : 9)'], { encoding: 'utf8', cwd: packageRoot });
  assert.equal(r.status, 0, r.stderr);
});

test('every path in the worker read list exists, but the probed alpine marker may not', () => {
  for (const flag of workerExecArgv().filter((a) => a.startsWith('--allow-fs-read='))) {
    const path = flag.slice('--allow-fs-read='.length).replace(/\/\*$/, '');
    if (path === '/etc/alpine-release') continue;
    assert.ok(existsSync(path), path);
  }
});
