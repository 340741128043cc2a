import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isPalisadeError } from '../kernel/index.js';
import type { FunctionSpec } from '../manifest/index.js';
import { bundleFunction } from './bundle-function.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-bundle-'));
const spec = (file: string, text: string): FunctionSpec => {
  writeFileSync(join(dir, file), text);
  return { name: 'f', source: join(dir, file), segment: 'default', limits: { memoryMb: 64, cpuMs: 50, timeoutMs: 1000, maxResponseBytes: 1024, concurrency: 1, queue: 0 }, bindings: {} };
};

test('bundles TypeScript with an npm dependency into one script', async () => {
  mkdirSync(join(dir, 'node_modules', 'tiny-dep'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', 'tiny-dep', 'package.json'), JSON.stringify({ name: 'tiny-dep', version: '1.0.0', main: 'index.js' }));
  writeFileSync(join(dir, 'node_modules', 'tiny-dep', 'index.js'), 'exports.shout = (s) => s.toUpperCase();');
  const bundle = await bundleFunction(spec('ok.ts', "import { shout } from 'tiny-dep';\nexport default { async fetch(): Promise<Response> { return new Response(shout('hi')); } };\n"), dir);
  assert.match(bundle.code, /toUpperCase/);
  assert.doesNotMatch(bundle.code, /require\("tiny-dep"\)/);
});

test('a syntax error names file, line and column', async () => {
  await assert.rejects(bundleFunction(spec('bad.ts', 'export default {\n  async fetch(): Promise<Response> {\n    return new Response(;\n  },\n};\n'), dir), (e: unknown) => {
    assert.ok(isPalisadeError(e, 'PAL_RUNTIME_BUILD_FAILED'));
    assert.match(e.message, /bad\.ts:3:\d+: /);
    return true;
  });
});

test('Node built-ins cannot be bundled into a function', async () => {
  await assert.rejects(bundleFunction(spec('fs.ts', "import { readFileSync } from 'node:fs';\nexport default { fetch() { return new Response(readFileSync('/etc/passwd')); } };\n"), dir), (e: unknown) => isPalisadeError(e, 'PAL_RUNTIME_BUILD_FAILED') && /node:fs/.test(e.message));
});

test('a missing npm dependency is a build error', async () => {
  await assert.rejects(bundleFunction(spec('missing.ts', "import x from 'no-such-package';\nexport default { fetch() { return new Response(String(x)); } };\n"), dir), (e: unknown) => isPalisadeError(e, 'PAL_RUNTIME_BUILD_FAILED') && /no-such-package/.test(e.message));
});
