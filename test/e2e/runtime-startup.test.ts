import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { after, describe, test } from 'node:test';
import { fetchTls, startUp, writeProject } from '../helpers/cli.js';

// Start-up must not fail because the machine is busy (issue 7, finding 15): 40 functions while
// every core is saturated by another process.
describe('palisade up on a saturated machine', () => {
  const burners: ChildProcess[] = [];
  after(() => {
    for (const b of burners) b.kill('SIGKILL');
  });

  test('40 functions start and all answer while every core spins in another process', async () => {
    const functions: string[] = [];
    const routes: string[] = [];
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) {
      functions.push(`  f${i}:\n    source: functions/f${i}.js`);
      routes.push(`  - { path: /f${i}, methods: [GET], function: f${i}, public: true }`);
      files[`functions/f${i}.js`] = `export default { async fetch(request, env, ctx) { return Response.json({ n: ${i}, principal: ctx.principal }); } };`;
    }
    const dir = writeProject(`name: busy\nfunctions:\n${functions.join('\n')}\nroutes:\n${routes.join('\n')}\n`, files);
    for (let i = 0; i < availableParallelism(); i++) {
      const burner = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
      burner.on('error', () => undefined);
      burners.push(burner);
    }
    const up = await startUp(dir);
    try {
      for (let i = 0; i < 40; i++) {
        const r = await fetchTls(up.url, up.ca, `/f${i}`);
        assert.equal(r.status, 200, `f${i}: ${r.body}`);
        assert.deepEqual(JSON.parse(r.body), { n: i, principal: null });
      }
      assert.ok(!/PAL_RUNTIME_(BUILD_FAILED|UNAVAILABLE|CPU_LIMIT)/.test(up.stderr()), up.stderr().slice(-2000));
    } finally {
      for (const b of burners) b.kill('SIGKILL');
      await up.stop();
    }
  });
});
