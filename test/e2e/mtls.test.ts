import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { decisionFor, startUp, type RunningCli, writeProject } from '../helpers/cli.js';
import { createClientPki, type ClientPki } from '../helpers/client-pki.js';

function call(node: RunningCli, path: string, client?: { cert: string; key: string }): Promise<{ status: number; body: string; requestId: string }> {
  const u = new URL(node.url);
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: u.hostname, port: u.port, path, ca: node.ca, servername: 'localhost', agent: false, ...(client ?? {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), requestId: String(res.headers['x-request-id']) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('mTLS client certificates', () => {
  let pki: ClientPki;
  let foreign: ClientPki;
  let node: RunningCli;

  before(async () => {
    pki = await createClientPki();
    foreign = await createClientPki('Attacker CA');
    const dir = writeProject(`name: mtls
identity:
  mtls: { ca: clients-ca.pem }
  apiKeys: { enabled: true }
functions:
  hello: { source: functions/hello.ts }
routes:
  - { path: /internal, function: hello, auth: [mtls] }
  - { path: /keys, function: hello }
  - { path: /public, function: hello, public: true }
`, { 'functions/hello.ts': 'export default { async fetch(r: Request): Promise<Response> { return new Response("hello " + new URL(r.url).pathname); } };\n', 'clients-ca.pem': pki.caPem });
    node = await startUp(dir);
  });
  after(() => node.stop());

  const authFailure = async (requestId: string) => (await decisionFor(node, requestId)).authFailure;

  test('a certificate from the client CA authenticates; the principal comes from its SAN URI', async () => {
    const r = await call(node, '/internal', await pki.issue({ uri: 'spiffe://palisade.test/ns/prod/sa/billing' }));
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'hello /internal');
  });

  test('no certificate, a foreign CA, an expired certificate or one without a SAN URI are refused', async () => {
    const none = await call(node, '/internal');
    assert.equal(none.status, 401);
    assert.equal(await authFailure(none.requestId), 'no-credentials');
    const forged = await call(node, '/internal', await foreign.issue({ uri: 'spiffe://palisade.test/ns/prod/sa/billing' }));
    assert.equal(forged.status, 401);
    assert.equal(await authFailure(forged.requestId), 'client-cert-invalid');
    const expired = await call(node, '/internal', await pki.issue({ uri: 'spiffe://palisade.test/ns/prod/sa/billing', expired: true }));
    assert.equal(expired.status, 401);
    assert.equal(await authFailure(expired.requestId), 'client-cert-invalid');
    const noUri = await call(node, '/internal', await pki.issue({ cn: 'billing' }));
    assert.equal(noUri.status, 401);
  });

  test('a route that does not list mtls ignores client certificates; public routes still work without one', async () => {
    assert.equal((await call(node, '/keys', await pki.issue({ uri: 'spiffe://palisade.test/x' }))).status, 401);
    assert.equal((await call(node, '/public')).status, 200);
  });
});
