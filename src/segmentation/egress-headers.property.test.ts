import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { EgressError } from './egress-types.js';
import { checkMethod, prepareHeaders, toOutgoing } from './egress-headers.js';
import { parseEgressTarget } from './egress-target.js';

const target = parseEgressTarget('https://api.example.com:8443/x');
const names = fc.constantFrom('Host', 'host', 'Connection', 'Keep-Alive', 'TE', 'Transfer-Encoding', 'Upgrade', 'Proxy-Authorization', 'Content-Length', 'Expect', 'X-Custom', 'x-named', 'Authorization', 'Accept', 'Bad Name', 'x\r\ny');
const values = fc.oneof(fc.constantFrom('api.example.com:8443', 'API.example.com.:8443', 'evil.example', 'x-named, keep-alive', 'close', 'ok', 'a\r\nb: c', '\u0000'), fc.string({ maxLength: 12 }));

// Whatever a function sends: either a bad-request refusal, or headers with no hop-by-hop name,
// no name that `Connection` listed, no framing header, and exactly the guard's own `Host`.
test('prepared headers never carry hop-by-hop, framing or a foreign Host', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(names, values), { maxLength: 8 }), (headers) => {
      let out;
      try {
        out = prepareHeaders(headers, target);
      } catch (error) {
        assert.ok(error instanceof EgressError && error.reason === 'bad-request', String(error));
        return;
      }
      const connectionNamed = headers.filter(([n]) => n.toLowerCase() === 'connection').flatMap(([, v]) => v.split(',').map((t) => t.trim().toLowerCase()));
      for (const [name, value] of out) {
        assert.equal(name, name.toLowerCase());
        assert.ok(!['connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'host', 'content-length', 'expect'].includes(name), name);
        assert.ok(!connectionNamed.includes(name), name);
        assert.ok(!/[\r\n\0]/.test(value));
      }
      const outgoing = toOutgoing(out, target, null);
      assert.equal(outgoing.host, 'api.example.com:8443');
      assert.equal(outgoing['content-length'], undefined);
    }),
    { numRuns: 3000 },
  );
});

test('a Host header is accepted only when it names the url host and port', () => {
  assert.deepEqual(prepareHeaders([['Host', 'API.example.com.:8443']], target), []);
  for (const host of ['evil.example', 'api.example.com', 'api.example.com:443', 'api.example.com:8443/x', 'u@api.example.com:8443']) {
    assert.throws(() => prepareHeaders([['host', host]], target), (e: unknown) => e instanceof EgressError && e.reason === 'bad-request', host);
  }
});

test('methods: tokens only, no tunnel or trace', () => {
  assert.equal(checkMethod('get'), 'GET');
  assert.equal(checkMethod('PROPFIND'), 'PROPFIND');
  for (const m of ['CONNECT', 'connect', 'TRACE', 'TRACK', 'GET /', '', 'G\r\nET']) assert.throws(() => checkMethod(m), (e: unknown) => e instanceof EgressError && e.reason === 'bad-request', m);
});
