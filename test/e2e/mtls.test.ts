import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { decisionFor, runCliSync, startUp, type RunningCli, writeProject } from '../helpers/cli.js';
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
  let dir: string;
  let inCrl: { cert: string; key: string };

  before(async () => {
    pki = await createClientPki();
    foreign = await createClientPki('Attacker CA');
    inCrl = await pki.issue({ uri: 'spiffe://palisade.test/ns/prod/sa/stolen' });
    dir = writeProject(`name: mtls
identity:
  mtls: { ca: clients-ca.pem, crls: [clients.crl] }
  apiKeys: { enabled: true }
functions:
  hello: { source: functions/hello.ts }
routes:
  - { path: /internal, function: hello, auth: [mtls], allow: { issuers: [mtls] } }
  - { path: /keys, function: hello, allow: { issuers: [api-key] } }
  - { path: /public, function: hello, public: true }
`, { 'functions/hello.ts': 'export default { async fetch(r: Request): Promise<Response> { return new Response("hello " + new URL(r.url).pathname); } };\n', 'clients-ca.pem': pki.caPem, 'clients.crl': await pki.crl([new X509Certificate(inCrl.cert).serialNumber]) });
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

  test('a certificate listed in a CRL from the manifest is refused', async () => {
    const r = await call(node, '/internal', inCrl);
    assert.equal(r.status, 401);
    assert.equal(await authFailure(r.requestId), 'client-cert-revoked');
  });

  test('palisade certs revoke refuses a certificate on the running node, by fingerprint or by issuer and serial', async () => {
    const a = await pki.issue({ uri: 'spiffe://palisade.test/ns/prod/sa/a' });
    const b = await pki.issue({ uri: 'spiffe://palisade.test/ns/prod/sa/b' });
    assert.equal((await call(node, '/internal', a)).status, 200);
    assert.equal((await call(node, '/internal', b)).status, 200);
    const byFingerprint = runCliSync(['certs', 'revoke', dir, '--fingerprint', new X509Certificate(a.cert).fingerprint256, '--json']);
    assert.equal(byFingerprint.status, 0, byFingerprint.stderr);
    const bySerial = runCliSync(['certs', 'revoke', dir, '--issuer', 'CN=Test Client CA', '--serial', new X509Certificate(b.cert).serialNumber.toLowerCase()]);
    assert.equal(bySerial.status, 0, bySerial.stderr);
    await new Promise((r) => setTimeout(r, 400));
    for (const client of [a, b]) {
      const r = await call(node, '/internal', client);
      assert.equal(r.status, 401);
      assert.equal(await authFailure(r.requestId), 'client-cert-revoked');
    }
    const listed = runCliSync(['certs', 'revoked', dir, '--json']);
    assert.equal((JSON.parse(listed.stdout) as unknown[]).length, 2);
    assert.equal(runCliSync(['certs', 'revoke', dir]).status, 3, 'no certificate named is invalid input');
    assert.equal(runCliSync(['certs', 'revoke', dir, '--fingerprint', 'zz']).status, 3);
  });

  test('a CRL not signed by the client CA stops the node from starting', async () => {
    const bad = writeProject('name: mtls2\nidentity:\n  mtls: { ca: clients-ca.pem, crls: [forged.crl] }\nfunctions:\n  hello: { source: functions/hello.ts }\nroutes:\n  - { path: /internal, function: hello, auth: [mtls] }\n', { 'functions/hello.ts': 'export default { async fetch(): Promise<Response> { return new Response("x"); } };\n', 'clients-ca.pem': pki.caPem, 'forged.crl': await foreign.crl([]) });
    const r = runCliSync(['up', bad, '--port', '0']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr + r.stdout, /PAL_IDENTITY_CRL_INVALID/);
  });
});
