import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { compileBodySchema } from './body-schema.js';

/**
 * Runs one validation in a worker thread and gives it `deadlineMs`: a backtracking pattern engine
 * would run for hours on the evil input, so the test fails (instead of hanging) when it does.
 */
function validateInWorker(schema: unknown, value: unknown, deadlineMs: number): Promise<{ errors: number } | 'timed out'> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.module).then(({ compileBodySchema }) => {
      const compiled = compileBodySchema(workerData.schema);
      parentPort.postMessage({ errors: compiled.ok ? compiled.validate(workerData.value).length : -1 });
    });`;
  const worker = new Worker(source, { eval: true, workerData: { module: new URL('./body-schema.js', import.meta.url).href, schema, value } });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve('timed out');
    }, deadlineMs);
    worker.once('message', (m: { errors: number }) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

describe('route body schemas', () => {
  test('a `pattern` with nested quantifiers cannot stall validation on an evil input (ReDoS)', async () => {
    // `^(a+)+$` against 40 `a`s and a `!` takes 2^40 steps in a backtracking engine; a linear
    // engine answers at once. The deadline is generous: it only separates "at once" from "hours".
    const out = await validateInWorker({ type: 'object', properties: { s: { type: 'string', pattern: '^(a+)+$' } } }, { s: `${'a'.repeat(40)}!` }, 20_000);
    assert.deepEqual(out, { errors: 1 });
  });

  test('patterns and patternProperties still match as JSON Schema says', () => {
    const compiled = compileBodySchema({ type: 'object', properties: { sku: { type: 'string', pattern: '^[A-Z]{2}-\\d{3}$' }, name: { type: 'string', pattern: '^\\u00e9' } }, patternProperties: { '^x-': { type: 'number' } } });
    assert.ok(compiled.ok);
    assert.deepEqual(compiled.validate({ sku: 'AB-123', name: 'été', 'x-a': 1 }), []);
    assert.deepEqual(compiled.validate({ sku: 'ab-123' }).map((e) => e.pointer), ['/sku']);
    assert.deepEqual(compiled.validate({ 'x-a': 'one' }).map((e) => e.pointer), ['/x-a']);
    assert.deepEqual(compiled.validate({ name: 'e' }).map((e) => e.pointer), ['/name']);
  });

  test('a pattern the linear-time engine cannot run (lookaround, backreference) is refused at load', () => {
    for (const pattern of ['^(?=a)a$', '^(a)\\1$']) {
      const compiled = compileBodySchema({ type: 'string', pattern });
      assert.equal(compiled.ok, false, pattern);
    }
  });
});
