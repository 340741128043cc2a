import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { systemClock } from '../kernel/index.js';
import { ensureLocalTls } from './ensure-local-tls.js';

// Issue 8 item 5: the local CA is name-constrained to the names it serves.

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** What an attacker holding `ca-key.pem` would do: sign a leaf for any name. */
async function mintLeaf(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const caPem = readFileSync(join(dir, 'tls', 'ca.pem'), 'utf8');
  const caKeyDer = Buffer.from(readFileSync(join(dir, 'tls', 'ca-key.pem'), 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const caKey = await webcrypto.subtle.importKey('pkcs8', caKeyDer, ALGORITHM, true, ['sign']);
  const ca = new x509.X509Certificate(caPem);
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '01ab',
    subject: `CN=${name}`,
    issuer: ca.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ALGORITHM,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]), new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }])],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return { cert: leaf.toString('pem'), key: `-----BEGIN PRIVATE KEY-----\n${pkcs8}\n-----END PRIVATE KEY-----\n` };
}

function opensslVerify(dir: string, leafPem: string): { ok: boolean; output: string } {
  const file = join(dir, `leaf-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(file, leafPem);
  const r = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'tls', 'ca.pem'), file], { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** A TLS handshake with Node's own verifier against a server presenting `leaf`. */
async function nodeTlsVerifies(dir: string, leaf: { cert: string; key: string }, servername: string): Promise<{ ok: boolean; error?: string }> {
  const server = createServer({ cert: leaf.cert, key: leaf.key }, (s) => s.end());
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    return await new Promise((resolve) => {
      const socket: TLSSocket = connect({ host: '127.0.0.1', port, servername, ca: readFileSync(join(dir, 'tls', 'ca.pem'), 'utf8') }, () => {
        socket.end();
        resolve({ ok: true });
      });
      socket.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, error: `${e.code ?? ''} ${e.message}` }));
    });
  } finally {
    await new Promise((r) => server.close(r));
  }
}

describe('local CA name constraints', () => {
  test('a leaf for another name signed by the CA key is rejected by openssl and by node tls; one for a served name is accepted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-ca-'));
    await ensureLocalTls(dir, systemClock);
    const serverLeaf = readFileSync(join(dir, 'tls', 'server.pem'), 'utf8').split(/(?<=-----END CERTIFICATE-----)/)[0] ?? '';
    assert.equal(opensslVerify(dir, serverLeaf).ok, true, 'the served certificate verifies');

    const evil = await mintLeaf(dir, 'bank.example');
    const verdict = opensslVerify(dir, evil.cert);
    assert.equal(verdict.ok, false);
    assert.match(verdict.output, /permitted subtree violation/i);
    const tls = await nodeTlsVerifies(dir, evil, 'bank.example');
    assert.equal(tls.ok, false);
    assert.match(tls.error ?? '', /PERMITTED|subtree/i);

    // Control: the same minting for a served name passes, so the refusal above is the constraint.
    const local = await mintLeaf(dir, 'localhost');
    assert.equal(opensslVerify(dir, local.cert).ok, true);
    assert.equal((await nodeTlsVerifies(dir, local, 'localhost')).ok, true);
  });

  test('serving more names re-issues a CA constrained to them, and the server certificate with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-ca-'));
    await ensureLocalTls(dir, systemClock);
    const first = readFileSync(join(dir, 'tls', 'ca.pem'), 'utf8');
    await ensureLocalTls(dir, systemClock);
    assert.equal(readFileSync(join(dir, 'tls', 'ca.pem'), 'utf8'), first, 'same names: the CA is kept');
    await ensureLocalTls(dir, systemClock, ['api.internal']);
    assert.notEqual(readFileSync(join(dir, 'tls', 'ca.pem'), 'utf8'), first);
    const serverLeaf = readFileSync(join(dir, 'tls', 'server.pem'), 'utf8').split(/(?<=-----END CERTIFICATE-----)/)[0] ?? '';
    assert.equal(opensslVerify(dir, serverLeaf).ok, true);
    assert.equal(opensslVerify(dir, (await mintLeaf(dir, 'api.internal')).cert).ok, true);
    assert.equal(opensslVerify(dir, (await mintLeaf(dir, 'evil.internal')).cert).ok, false);
  });
});
