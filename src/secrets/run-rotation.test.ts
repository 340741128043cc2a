import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PalisadeError } from '../kernel/index.js';
import { parseCreateResponse, runRotation, type RotationPorts, type RotationRequestBody } from './run-rotation.js';

const encode = (s: string) => new TextEncoder().encode(s);

/** A vault with stages in memory and a scripted rotation function: the smallest honest double of the port. */
function harness(script: (body: RotationRequestBody) => { status: number; body?: string } | Error) {
  const state = { current: 'v1', pending: undefined as string | undefined, versions: 1, calls: [] as RotationRequestBody[] };
  const ports: RotationPorts = {
    async invokeRotationFunction(_fn, body) {
      state.calls.push(body);
      const answer = script(body);
      if (answer instanceof Error) throw answer;
      return { status: answer.status, body: encode(answer.body ?? '') };
    },
    async stagePending(_name, value) {
      state.pending = new TextDecoder().decode(value);
      state.versions += 1;
      return { version: state.versions };
    },
    async promotePending() {
      if (state.pending === undefined) throw new Error('nothing pending');
      state.current = state.pending;
      state.pending = undefined;
      return { version: state.versions };
    },
    async discardPending() {
      state.pending = undefined;
    },
  };
  return { state, ports };
}

test('a passing test step promotes the new value', async () => {
  const { state, ports } = harness((b) => (b.step === 'create' ? { status: 200, body: '{"value":"v2"}' } : { status: 204 }));
  const outcome = await runRotation('db-url', 'rotate-db', ports);
  assert.deepEqual(outcome, { secret: 'db-url', function: 'rotate-db', ok: true, reason: 'rotated', step: 'finish', version: 2 });
  assert.equal(state.current, 'v2');
  assert.deepEqual(
    state.calls.map((c) => [c.step, c.pending]),
    [
      ['create', undefined],
      ['set', 'v2'],
      ['test', 'v2'],
    ],
  );
});

test('a failing test step leaves the current version in place and drops the pending one', async () => {
  const { state, ports } = harness((b) => (b.step === 'create' ? { status: 200, body: '{"value":"v2"}' } : b.step === 'test' ? { status: 500 } : { status: 200 }));
  const outcome = await runRotation('db-url', 'rotate-db', ports);
  assert.equal(outcome.ok, false);
  assert.equal(outcome.reason, 'step-failed');
  assert.equal(outcome.step, 'test');
  assert.equal(state.current, 'v1');
  assert.equal(state.pending, undefined);
});

test('a set step that throws is a failure, not a crash, and never reaches test', async () => {
  const { state, ports } = harness((b) => (b.step === 'create' ? { status: 200, body: '{"value":"v2"}' } : b.step === 'set' ? new PalisadeError('PAL_RUNTIME_TIMEOUT', 'timed out') : { status: 200 }));
  const outcome = await runRotation('db-url', 'rotate-db', ports);
  assert.equal(outcome.reason, 'function-error');
  assert.equal(outcome.detail, 'PAL_RUNTIME_TIMEOUT');
  assert.deepEqual(
    state.calls.map((c) => c.step),
    ['create', 'set'],
  );
  assert.equal(state.current, 'v1');
});

test('a malformed create answer never becomes a secret', async () => {
  for (const body of ['', 'v2', '{"value":""}', '{"value":2}', '{"value":"v2","extra":1}', '["v2"]', '{"Value":"v2"}', 'null', `{"value":"${'x'.repeat(70_000)}"}`]) {
    const { state, ports } = harness((b) => (b.step === 'create' ? { status: 200, body } : { status: 200 }));
    const outcome = await runRotation('db-url', 'rotate-db', ports);
    assert.equal(outcome.reason, 'bad-create-response', body.slice(0, 40));
    assert.equal(state.versions, 1);
    assert.equal(state.current, 'v1');
  }
});

test('outcomes never carry the value', async () => {
  const secretValue = 'S3cr3t-rotated-value';
  const { ports } = harness((b) => (b.step === 'create' ? { status: 200, body: JSON.stringify({ value: secretValue }) } : b.step === 'test' ? new Error(secretValue) : { status: 200 }));
  const outcome = await runRotation('db-url', 'rotate-db', ports);
  assert.equal(JSON.stringify(outcome).includes(secretValue), false);
});

test('two overlapping rotations of one secret run once', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const { state, ports } = harness((b) => (b.step === 'create' ? { status: 200, body: '{"value":"v2"}' } : { status: 200 }));
  const slow: RotationPorts = { ...ports, invokeRotationFunction: async (fn, body) => (await gate, ports.invokeRotationFunction(fn, body)) };
  const first = runRotation('db-url', 'rotate-db', slow);
  const second = await runRotation('db-url', 'rotate-db', slow);
  assert.equal(second.reason, 'already-running');
  release();
  assert.equal((await first).ok, true);
  assert.equal(state.versions, 2);
});

test('parseCreateResponse accepts exactly one non-empty string value', () => {
  assert.equal(parseCreateResponse(encode('{"value":"abc"}')), 'abc');
  assert.equal(parseCreateResponse(new Uint8Array([0xff, 0xfe])), undefined);
});
