import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PalisadeError } from '../kernel/index.js';
import { createProblemReply } from './problem-response.js';

const parse = (body: Uint8Array) => JSON.parse(Buffer.from(body).toString('utf8')) as Record<string, unknown>;

test('a client error is RFC 9457 problem+json with its code and request id', () => {
  const reply = createProblemReply(new PalisadeError('PAL_GATEWAY_BODY_TOO_LARGE', 'request body exceeds 10 bytes'), 'rid1');
  assert.equal(reply.status, 413);
  assert.deepEqual(reply.headers[0], ['content-type', 'application/problem+json']);
  assert.deepEqual(parse(reply.body), {
    type: 'https://palisade.dev/errors/PAL_GATEWAY_BODY_TOO_LARGE',
    title: 'Payload Too Large',
    status: 413,
    detail: 'request body exceeds 10 bytes',
    code: 'PAL_GATEWAY_BODY_TOO_LARGE',
    instance: 'urn:palisade:request:rid1',
    requestId: 'rid1',
  });
});

test('a server error never shows its message, cause or stack', () => {
  const secret = 'postgres://admin:hunter2@db/prod';
  const internal = new PalisadeError('PAL_INTERNAL', `connect failed to ${secret}`, { cause: new Error(secret) });
  const text = Buffer.from(createProblemReply(internal, 'rid2').body).toString('utf8');
  assert.ok(!text.includes('hunter2') && !text.includes('postgres') && !text.includes(' at '), text);
  assert.equal(parse(createProblemReply(internal, 'rid2').body).detail, 'internal server error');
});

test('an unknown thrown value becomes PAL_INTERNAL without details', () => {
  const reply = createProblemReply(new TypeError('cannot read x of /srv/app/secret.js'), 'rid3');
  assert.equal(reply.status, 500);
  assert.ok(!Buffer.from(reply.body).toString('utf8').includes('/srv/app'));
});
