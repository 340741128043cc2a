import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PalisadeError } from '../kernel/index.js';
import { Denial, toDenial } from './denial.js';
import type { RequestContext } from './request-context.js';
import { requestPipeline, runPipeline, type PipelineEntry } from './request-pipeline.js';

test('the request path ends with respond, record and release, which run for every request', () => {
  const names = requestPipeline.map((e) => `${e.phase}:${e.step.name}`);
  assert.deepEqual(names.slice(-3), ['finish:buildReply', 'finish:recordAudit', 'finish:sendReply']);
  assert.equal(names[0], 'decide:assignRequestId');
  assert.ok(names.indexOf('decide:authenticate') < names.indexOf('decide:authorize'));
  assert.ok(names.indexOf('decide:authorize') < names.indexOf('decide:invokeFunction'));
  assert.ok(requestPipeline.slice(0, -3).every((e) => e.phase === 'decide'));
});

test('a denial ends the deciding steps; finishing steps still run and see the denial', async () => {
  const ran: string[] = [];
  const ctx = { body: null } as unknown as RequestContext;
  const table: PipelineEntry[] = [
    { phase: 'decide', step: () => void ran.push('a') },
    { phase: 'decide', step: () => { ran.push('b'); throw new Denial('PAL_GATEWAY_FORBIDDEN', 'policy-denied', 'not allowed'); } },
    { phase: 'decide', step: () => void ran.push('c') },
    { phase: 'finish', step: (c) => void ran.push(`finish:${c.denial?.reason ?? 'none'}`) },
  ];
  await runPipeline(ctx, table);
  assert.deepEqual(ran, ['a', 'b', 'finish:policy-denied']);
});

test('a thrown capability error becomes a denial whose reason its code implies; anything else is internal', () => {
  assert.equal(toDenial(new PalisadeError('PAL_GATEWAY_BAD_PATH', 'x')).reason, 'bad-path');
  assert.equal(toDenial(new PalisadeError('PAL_RUNTIME_TIMEOUT', 'x')).reason, 'runtime-limit');
  assert.equal(toDenial(new PalisadeError('PAL_RUNTIME_TIMEOUT', 'x')).status, new PalisadeError('PAL_RUNTIME_TIMEOUT', 'x').status);
  const internal = toDenial(new TypeError('boom'));
  assert.equal(internal.reason, 'internal-error');
  assert.equal(internal.status, 500);
  assert.equal(internal.expose, false);
  const own = new Denial('PAL_GATEWAY_METHOD_NOT_ALLOWED', 'method-not-allowed', 'use GET', { headers: [['allow', 'GET']] });
  assert.equal(toDenial(own), own);
});
