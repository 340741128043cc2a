import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
type Keys = webcrypto.CryptoKeyPair;

async function pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').trim()}\n-----END PRIVATE KEY-----\n`;
}

/** A client-certificate CA for tests. */
export interface ClientPki {
  readonly caPem: string;
  issue(options: { uri?: string; cn?: string; expired?: boolean }): Promise<{ cert: string; key: string }>;
  /** A CRL (PEM) signed by this CA, listing the given serial numbers (hex). */
  crl(serials: readonly string[]): Promise<string>;
}

/** Creates a CA that issues TLS client certificates (clientAuth). */
export async function createClientPki(name = 'Test Client CA'): Promise<ClientPki> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as Keys;
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 86_400_000 * 30),
    keys: caKeys as never,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  return {
    caPem: ca.toString('pem'),
    async issue(options) {
      const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as Keys;
      const cert = await x509.X509CertificateGenerator.create({
        subject: `CN=${options.cn ?? 'client'}`,
        issuer: ca.subject,
        notBefore: new Date(now - 86_400_000 * (options.expired === true ? 10 : 1)),
        notAfter: new Date(options.expired === true ? now - 86_400_000 : now + 86_400_000),
        publicKey: keys.publicKey as never,
        signingKey: caKeys.privateKey as never,
        signingAlgorithm: ALG,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
          ...(options.uri === undefined ? [] : [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: options.uri }])]),
        ],
      });
      return { cert: cert.toString('pem'), key: await pem(keys.privateKey) };
    },
    async crl(serials) {
      const crl = await x509.X509CrlGenerator.create({
        issuer: ca.subject,
        thisUpdate: new Date(now - 3_600_000),
        nextUpdate: new Date(now + 86_400_000),
        entries: serials.map((serialNumber) => ({ serialNumber, revocationDate: new Date(now - 60_000) })),
        signingKey: caKeys.privateKey as never,
        signingAlgorithm: ALG,
      });
      return crl.toString('pem');
    },
  };
}
