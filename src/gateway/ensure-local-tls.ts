import { X509Certificate as NodeX509 } from 'node:crypto';
import { webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName, GeneralSubtree, GeneralSubtrees, id_ce_nameConstraints, NameConstraints } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { PalisadeError, type Clock } from '../kernel/index.js';

/** PEM material the HTTPS server needs, plus where the CA to trust lives (for `tls: auto`). */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** Path of the CA certificate clients must trust; only for generated material. */
  readonly caFile?: string;
  /** PEM bundle of CAs whose client certificates are requested and verified (mTLS). */
  readonly clientCa?: string;
}

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** Regenerate the server certificate when it expires within this many days. */
const RENEW_BEFORE_DAYS = 30;

/**
 * Loads or creates a local CA and a server certificate for `localhost`, `127.0.0.1` and `::1`
 * under `<stateDir>/tls/`. Private keys are written with mode 0600 in a 0700 directory.
 *
 * The CA lives 5 years, the server certificate 90 days, renewed when under 30 days remain.
 * The CA is name-constrained (RFC 5280 section 4.2.1.10, critical) to exactly the names it
 * serves: trusted system-wide, a leaked `ca-key.pem` still cannot mint a certificate that a
 * verifier honouring name constraints accepts for any other domain. A CA created without these
 * constraints, or for other names, is replaced (clients must trust the new `ca.pem`).
 *
 * @example
 * ```ts
 * const tls = await ensureLocalTls('/srv/shop/.palisade', systemClock);
 * https.createServer({ cert: tls.cert, key: tls.key });
 * ```
 */
export async function ensureLocalTls(stateDir: string, clock: Clock, extraHosts: readonly string[] = []): Promise<TlsMaterial> {
  const dir = join(stateDir, 'tls');
  const files = { caCert: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem') };
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    const hosts = ['localhost', '127.0.0.1', '::1', ...extraHosts];
    const constraints = nameConstraintsFor(hosts);
    let ca: { cert: x509.X509Certificate; keys: CryptoKeyPair } | undefined;
    if (existsSync(files.caCert) && existsSync(files.caKey)) {
      const cert = new x509.X509Certificate(readFileSync(files.caCert, 'utf8'));
      if (hasNameConstraints(cert, constraints)) ca = { cert, keys: await importKeyPair(readFileSync(files.caKey, 'utf8'), readFileSync(files.caCert, 'utf8')) };
    }
    if (ca === undefined) {
      ca = await createCa(clock, constraints);
      writePem(files.caKey, await exportPkcs8(ca.keys.privateKey), 0o600);
      writePem(files.caCert, ca.cert.toString('pem'), 0o644);
    }
    if (!serverCertUsable(files.cert, files.key, hosts, clock, ca.cert.toString('pem'))) {
      const server = await createServerCert(ca, hosts, clock);
      writePem(files.key, await exportPkcs8(server.keys.privateKey), 0o600);
      writePem(files.cert, `${server.cert.toString('pem')}\n${ca.cert.toString('pem')}\n`, 0o644);
    }
    return loadTlsFiles(files.cert, files.key, files.caCert);
  } catch (error) {
    if (error instanceof PalisadeError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new PalisadeError('PAL_GATEWAY_TLS_FAILED', code === 'EACCES' || code === 'EPERM' ? `cannot write the local ca under \`${dir}\` (permission denied)` : 'cannot create the local tls certificates', { cause: error });
  }
}

/**
 * Loads operator-supplied PEM files and checks that they form a usable server identity.
 *
 * @example
 * ```ts
 * const tls = loadTlsFiles('/etc/palisade/cert.pem', '/etc/palisade/key.pem');
 * ```
 */
export function loadTlsFiles(certFile: string, keyFile: string, caFile?: string): TlsMaterial {
  let cert: string;
  let key: string;
  try {
    cert = readFileSync(certFile, 'utf8');
    key = readFileSync(keyFile, 'utf8');
  } catch (error) {
    throw new PalisadeError('PAL_GATEWAY_TLS_FAILED', `cannot read the tls certificate or key (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  }
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new PalisadeError('PAL_GATEWAY_TLS_FAILED', 'the tls certificate and key do not form a usable pair', { cause: error });
  }
  return caFile === undefined ? { cert, key } : { cert, key, caFile };
}

/** DER of a NameConstraints extension permitting exactly these DNS names and single IPs. */
function nameConstraintsFor(hosts: readonly string[]): ArrayBuffer {
  const subtrees = hosts.map((h) => new GeneralSubtree({ base: new GeneralName(isIp(h) ? { iPAddress: `${h}/${h.includes(':') ? 128 : 32}` } : { dNSName: h }) }));
  return AsnConvert.serialize(new NameConstraints({ permittedSubtrees: new GeneralSubtrees(subtrees) }));
}

function hasNameConstraints(cert: x509.X509Certificate, expected: ArrayBuffer): boolean {
  const ext = cert.getExtension(id_ce_nameConstraints);
  return ext !== null && ext.critical && Buffer.from(ext.value).equals(Buffer.from(expected));
}

function isIp(host: string): boolean {
  return host.includes(':') || /^[0-9.]+$/.test(host);
}

async function createCa(clock: Clock, nameConstraints: ArrayBuffer): Promise<{ cert: x509.X509Certificate; keys: CryptoKeyPair }> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = clock.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: 'CN=Palisade Local CA, O=Palisade',
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 5 * 365 * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      // RFC 5280 section 4.2.1.10: name constraints MUST be critical.
      new x509.Extension(id_ce_nameConstraints, true, nameConstraints),
    ],
  });
  return { cert, keys };
}

async function createServerCert(ca: { cert: x509.X509Certificate; keys: CryptoKeyPair }, hosts: readonly string[], clock: Clock): Promise<{ cert: x509.X509Certificate; keys: CryptoKeyPair }> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = clock.now();
  const names = hosts.map((h) => ({ type: /^[0-9.]+$|:/.test(h) ? ('ip' as const) : ('dns' as const), value: h }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: 'CN=localhost',
    issuer: ca.cert.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 90 * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

function serverCertUsable(certFile: string, keyFile: string, hosts: readonly string[], clock: Clock, caPem: string): boolean {
  if (!existsSync(certFile) || !existsSync(keyFile)) return false;
  try {
    const cert = new NodeX509(readFileSync(certFile));
    if (!cert.verify(new NodeX509(caPem).publicKey)) return false;
    const renewAt = Date.parse(cert.validTo) - RENEW_BEFORE_DAYS * DAY_MS;
    if (clock.now() >= renewAt) return false;
    return hosts.every((h) => (h.includes(':') || /^[0-9.]+$/.test(h) ? cert.checkIP(h) !== undefined : cert.checkHost(h) !== undefined));
  } catch {
    return false;
  }
}

async function importKeyPair(keyPem: string, certPem: string): Promise<CryptoKeyPair> {
  const der = Buffer.from(keyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, true, ['sign']);
  const publicKey = await new x509.X509Certificate(certPem).publicKey.export(ALGORITHM, ['verify']);
  return { privateKey, publicKey } as CryptoKeyPair;
}

async function exportPkcs8(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n').trim();
  return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
}

function writePem(path: string, pem: string, mode: number): void {
  writeFileSync(path, pem, { mode });
  chmodSync(path, mode);
}

function randomSerial(): string {
  // Positive 16-byte serial from the CSPRNG (RFC 5280 section 4.1.2.2).
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}
